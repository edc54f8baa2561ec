import ConclaveCore
import ConclaveScript
import Testing
@testable import ConclaveCoordination

extension Replica {
    /// EVAL through the log: `source` with string keys and arguments.
    mutating func eval(_ source: String, keys: [String] = [], arguments: [String] = [], client: UInt64 = 7) -> KVResult? {
        kv(client, .eval(ScriptCall(body: Array(source.utf8), keys: keys.map { Array($0.utf8) },
                                    arguments: arguments.map { Array($0.utf8) })))
    }
}

/// EVAL and SCRIPT in the replicated KV store: atomic in apply, no write left by a failed script,
/// the cache replicated, snapshotted and in the digest.
@Suite struct KVScriptTests {
    @Test("a script reads and writes the store through redis.call, each write a revision")
    func readsAndWrites() {
        var replica = Replica()
        #expect(replica.set("lock", "token") == .written(revision: 1))
        #expect(replica.eval("return redis.call('get', KEYS[1])", keys: ["lock"]) == .script(.bulk("token")))
        #expect(replica.eval("redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', 'n')", keys: ["k"], arguments: ["v"])
            == .script(.integer(1)))
        #expect(replica.get("k") == "v")
        #expect(replica.machine.kv.revision == 3)
        #expect(replica.eval("return {redis.call('exists', 'k', 'missing'), redis.call('del', 'k'), redis.call('get', 'k')}")
            == .script(.array([.integer(1), .integer(1), .null])))
        #expect(replica.eval("return redis.call('set', 'x', 'y', 'NX')") == .script(.status("OK")))
        #expect(replica.eval("return redis.call('set', 'x', 'z', 'NX')") == .script(.null))
    }

    @Test("commands are refused in Redis's words for scripts; keys must be UTF-8 like every key")
    func refusedCommands() {
        var replica = Replica()
        #expect(replica.eval("return redis.pcall('eval', 'return 1', 0)") == .script(.error("ERR Unknown Redis command called from script")))
        #expect(replica.eval("return redis.pcall('get')") == .script(.error("ERR Wrong number of args calling Redis command from script")))
        #expect(replica.eval("return redis.pcall('set', 'k', 'v', 'EX', '0')") == .script(.error("ERR invalid expire time in 'set' command")))
        #expect(replica.eval("return redis.pcall('get', string.char(255))")
            == .script(.error("ERR key is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")))
    }

    @Test("a failed script leaves no write: values, TTLs and the revision are as before")
    func noPartialEffect() throws {
        var replica = Replica()
        replica.elapse(1_000)
        #expect(replica.set("a", "1", ttl: 5_000) == .written(revision: 1))
        let before = replica.machine.kv
        for failing in [
            "redis.call('set', 'a', '2') redis.call('set', 'b', '3') redis.call('incr', 'a') error('boom')",
            "redis.call('del', 'a') redis.call('set', 'c', 'x', 'PX', 100) return redis.call('incr', 'c')",
            "redis.call('pexpire', 'a', 1) redis.call('set', 'd', '1') while true do end",
            "redis.call('set', 'e', '1') local t = {} for i = 1, 1e8 do t[i] = i end",
            "redis.call('mset', 'a', '9', 'f', '1') redis.call('persist', 'a') error('boom')",
            "redis.call('flushdb') redis.call('set', 'g', '1') error('boom')",
            "redis.call('getdel', 'a') redis.call('set', 'a', 'z', 'KEEPTTL') redis.call('expire', 'a', 100, 'GT') error('boom')",
        ] {
            guard case .script(.error(let message)) = replica.eval(failing) else {
                Issue.record("\(failing) did not fail")
                continue
            }
            #expect(!message.isEmpty)
            #expect(replica.machine.kv.values == before.values, "\(failing) left a write")
            #expect(replica.machine.kv.expiries == before.expiries)
            #expect(replica.machine.kv.revision == before.revision)
        }
        #expect(replica.eval("return {redis.call('scan', '0'), redis.call('keys', '*'), redis.call('dbsize')}")
            == .script(.array([.array([.bulk("0"), .array([.bulk("a")])]), .array([.bulk("a")]), .integer(1)])),
            "the scan index and key count are as before too")
        replica.elapse(5_000)
        #expect(replica.get("a") == .some(nil), "the restored TTL still expires the key")
    }

    @Test("PTTL, TTL, PEXPIRE and EXPIRE for lock scripts, on cluster time")
    func timeToLive() {
        var replica = Replica()
        replica.elapse(10_000)
        #expect(replica.set("k", "v", ttl: 1_500) == .written(revision: 1))
        #expect(replica.set("forever", "v") == .written(revision: 2))
        #expect(replica.eval("return {redis.call('pttl', 'k'), redis.call('ttl', 'k'), redis.call('pttl', 'forever'), redis.call('pttl', 'no')}")
            == .script(.array([.integer(1_500), .integer(2), .integer(-1), .integer(-2)])))
        #expect(replica.eval("return {redis.call('pexpire', 'k', 4000), redis.call('expire', 'forever', 3), redis.call('pexpire', 'no', 5)}")
            == .script(.array([.integer(1), .integer(1), .integer(0)])))
        #expect(replica.machine.kv.expiries == ["k": 14_000, "forever": 13_000])
        #expect(replica.eval("return redis.call('pexpire', 'k', 0)") == .script(.integer(1)))
        #expect(replica.get("k") == .some(nil))
        #expect(replica.eval("return redis.pcall('pexpire', 'forever', 'soon')") == .script(.error("ERR value is not an integer or out of range")))
    }

    @Test("SCRIPT LOAD, EXISTS and FLUSH; EVAL keeps its body too")
    func scriptCache() {
        var replica = Replica()
        let script = Script("return 1")
        #expect(replica.kv(1, .scriptLoad(body: script.body)) == .script(.bulk(script.sha)))
        #expect(replica.eval("return 2") == .script(.integer(2)))
        let exists = KVCommand.scriptExists([script.sha.uppercased(), Script("return 2").sha, Script("return 3").sha])
        #expect(replica.kv(1, exists) == .script(.array([.integer(1), .integer(1), .integer(0)])))
        #expect(replica.machine.kv.readResult(of: exists, nowMillis: 0) == .script(.array([.integer(1), .integer(1), .integer(0)])))
        #expect(replica.kv(1, .scriptFlush) == .script(.status("OK")))
        #expect(replica.machine.kv.scripts.entries.isEmpty)
        let tooLarge = [UInt8](repeating: 32, count: CoordinationLimits.scriptCache.scriptBytesMax + 1)
        #expect(KVRequest(decoding: KVRequest(client: 1, sequence: 1, command: .scriptLoad(body: tooLarge)).encoded()) == nil,
                "a body over the limit does not decode: the door refuses it before proposing")
    }

    @Test("replicas that apply the same scripts agree on state, answers and digest; so does a restored one")
    func replicasAgree() throws {
        var first = Replica()
        var second = Replica()
        let scripts = [
            "return {math.random(1000), tostring({}), redis.call('incr', 'n')}",
            "redis.call('set', 'r', tostring(math.random())) return redis.call('get', 'r')",
            "local keys = {} for k in pairs({a = 1, b = 2, c = 3}) do keys[#keys + 1] = k end return keys",
        ]
        for source in scripts {
            #expect(first.eval(source) == second.eval(source))
        }
        #expect(first.kv(1, .scriptLoad(body: Array("return 'loaded'".utf8))) != nil)
        #expect(second.kv(1, .scriptLoad(body: Array("return 'loaded'".utf8))) != nil)
        #expect(first.machine == second.machine)
        #expect(first.machine.combinedDigest == second.machine.combinedDigest)
        #expect(first.machine.stateDigest == first.machine.recomputedStateDigest())
        let restored = try CoordinationStateMachine(restoring: first.machine.snapshotData())
        #expect(restored == first.machine)
        #expect(restored.kv.scripts == first.machine.kv.scripts)
        #expect(restored.stateDigest == first.machine.stateDigest)
    }

    @Test("the scripts cached are part of the state digest")
    func digestCoversScripts() {
        var loaded = Replica()
        var other = Replica()
        _ = loaded.kv(1, .scriptLoad(body: Array("return 1".utf8)))
        _ = other.kv(1, .scriptLoad(body: Array("return 2".utf8)))
        #expect(loaded.machine.combinedDigest != other.machine.combinedDigest)
        #expect(loaded.machine.stateDigest != other.machine.stateDigest)
    }

    @Test("a retried EVAL gets its first answer without running again; a huge reply is kept as an error")
    func retries() {
        var replica = Replica()
        let request = KVRequest(client: 9, sequence: 1, command: .eval(ScriptCall(body: Array("return redis.call('incr', 'n')".utf8),
                                                                                    keys: [], arguments: [])))
        replica.index += 1
        #expect(replica.machine.apply(index: replica.index, data: request.encoded()).kv?.result == .script(.integer(1)))
        replica.index += 1
        #expect(replica.machine.apply(index: replica.index, data: request.encoded()).kv?.result == .script(.integer(1)))
        #expect(replica.get("n") == "1")
        let big = KVRequest(client: 9, sequence: 2, command: .eval(ScriptCall(body: Array("return string.rep('x', 100000)".utf8),
                                                                                keys: [], arguments: [])))
        replica.index += 1
        #expect(replica.machine.apply(index: replica.index, data: big.encoded()).kv?.result == .script(.bulk(String(repeating: "x", count: 100_000))))
        replica.index += 1
        guard case .script(.error(let kept))? = replica.machine.apply(index: replica.index, data: big.encoded()).kv?.result else {
            Issue.record("the retry of a huge reply was not answered with an error")
            return
        }
        #expect(kept.hasPrefix("ERR the reply to this request (100009 bytes) was too large to keep for a retry"))
    }

    /// Apply must stay total whatever a client sends: random scripts from fragments that write, fail,
    /// loop, exhaust memory, misuse the API or are not Lua at all, on two replicas that must agree.
    @Test("random scripts never trap apply, and two replicas agree on every answer and the digest", arguments: [1, 2])
    func randomScripts(seed: UInt64) throws {
        let fragments = [
            "redis.call('set', KEYS[1], ARGV[1])", "redis.pcall('incr', KEYS[1])", "redis.call('incr', 'n')",
            "redis.call('del', KEYS[1])", "redis.call('pexpire', KEYS[1], ARGV[2])", "error('boom')", "error({err = 'X y'})",
            "local t = {} for i = 1, 1000 do t[i] = tostring(i) end", "return redis.call('get', KEYS[1])",
            "return {1, {2, 'x'}, false, redis.call('pttl', KEYS[1])}", "pcall(error)", "return redis.error_reply('E x')",
            "x = 1", "return tostring({}) .. math.random(9)", "redis.call(KEYS[1])", "redis.call('get', {})",
            "return string.rep('x', 100)", "local s = string.rep('x', 40 * 1024 * 1024)", "while true do end",
            "return", "end", "((", "return ARGV[3] + 1", "redis.call('set', KEYS[1], string.rep('v', 2 * 1024 * 1024))",
        ]
        var random = SeededGenerator(seed: seed)
        var first = Replica()
        var second = Replica()
        for _ in 0..<120 {
            let count = Int(random.next() % 4) + 1
            var body = (0..<count).map { _ in fragments[Int(random.next() % UInt64(fragments.count))] }.joined(separator: " ")
            if random.next() % 10 == 0 { body = String(decoding: (0..<20).map { _ in UInt8(truncatingIfNeeded: random.next()) }, as: UTF8.self) }
            let key = ["a", "b", "\u{00e9}"][Int(random.next() % 3)]
            let arguments = [String(random.next() % 100), String(random.next() % 3_000 + 1)]
            let answer = first.eval(body, keys: [key], arguments: arguments)
            #expect(answer != nil)
            #expect(second.eval(body, keys: [key], arguments: arguments) == answer, "replicas answered \(body) differently")
        }
        #expect(first.machine == second.machine)
        #expect(first.machine.combinedDigest == second.machine.combinedDigest)
        let restored = try CoordinationStateMachine(restoring: first.machine.snapshotData())
        #expect(restored == first.machine)
    }

    @Test("EVAL entries decode within their limits and round-trip")
    func encoding() {
        let call = ScriptCall(body: Array("return 1".utf8), keys: [[0, 255]], arguments: [[], Array("a".utf8)])
        let request = KVRequest(client: 3, sequence: 4, command: .eval(call))
        #expect(KVRequest(decoding: request.encoded()) == request)
        let many = ScriptCall(body: [], keys: Array(repeating: [], count: CoordinationLimits.scriptArgumentsMax + 1), arguments: [])
        #expect(KVRequest(decoding: KVRequest(client: 3, sequence: 5, command: .eval(many)).encoded()) == nil)
        let exists = KVRequest(client: 3, sequence: 6, command: .scriptExists(["a", "b"]))
        #expect(KVRequest(decoding: exists.encoded()) == exists)
        #expect(KVRequest(decoding: KVRequest(client: 3, sequence: 7, command: .scriptFlush).encoded())?.command == .scriptFlush)
    }
}
