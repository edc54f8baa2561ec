import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// Redis's SET options, GETDEL, MGET/MSET, the EXPIRE family, PERSIST, PTTL, SCAN, KEYS, DBSIZE
/// and FLUSHDB on the replicated store, on cluster time.
@Suite struct KVKeyspaceCommandTests {
    static let ttlMax = CoordinationLimits.kvTTLMillisRange.upperBound

    private func setWith(_ replica: inout Replica, _ key: String, _ value: String, _ options: SetOptions) -> KVResult? {
        replica.kv(7, .setWith(key: key, value: value, options: options))
    }

    @Test("SET GET answers the old value whether or not NX/XX let it write; GETSET clears the TTL")
    func setGet() {
        var replica = Replica()
        #expect(setWith(&replica, "k", "a", SetOptions(returnsOld: true)) == .value(nil))
        #expect(setWith(&replica, "k", "b", SetOptions(condition: .ifAbsent, returnsOld: true)) == .value("a"))
        #expect(replica.get("k") == "a", "NX failed: nothing written")
        #expect(setWith(&replica, "k", "c", SetOptions(condition: .ifPresent, returnsOld: true)) == .value("a"))
        #expect(setWith(&replica, "missing", "x", SetOptions(condition: .ifPresent, returnsOld: true)) == .value(nil))
        #expect(replica.get("missing") == .some(nil))
        _ = replica.set("t", "1", ttl: 500)
        #expect(setWith(&replica, "t", "2", SetOptions(returnsOld: true)) == .value("1"))
        #expect(replica.machine.kv.expiries["t"] == nil, "GETSET is a plain SET: the TTL goes")
    }

    @Test("KEEPTTL keeps a live key's TTL; PXAT sets an instant of cluster time; a reached instant removes the key")
    func setExpiries() {
        var replica = Replica()
        replica.elapse(1_000)
        _ = replica.set("k", "1", ttl: 300)
        #expect(setWith(&replica, "k", "2", SetOptions(expiry: .keep)) == .written(revision: 2))
        #expect(replica.machine.kv.expiries["k"] == 1_300)
        #expect(setWith(&replica, "fresh", "v", SetOptions(expiry: .keep)) == .written(revision: 3))
        #expect(replica.machine.kv.expiries["fresh"] == nil, "KEEPTTL on a new key: none to keep")
        #expect(setWith(&replica, "at", "v", SetOptions(expiry: .atMillis(5_000))) == .written(revision: 4))
        #expect(replica.machine.kv.expiries["at"] == 5_000)
        #expect(setWith(&replica, "at", "w", SetOptions(expiry: .atMillis(1_000))) == .written(revision: 5))
        #expect(replica.get("at") == .some(nil), "an instant already reached removes the key, as Redis")
        #expect(setWith(&replica, "far", "v", SetOptions(expiry: .atMillis(1_000 + Self.ttlMax + 1)))
                == .rejected("invalid expire time in 'set' command: \(1_000 + Self.ttlMax + 1) ms of cluster time is more than "
                    + "\(Self.ttlMax) ms after now (1000 ms)"))
        #expect(setWith(&replica, "far", "v", SetOptions(expiry: .afterMillis(0)))
                == .rejected("invalid expire time in 'set' command: 0 ms; a TTL is 1…\(Self.ttlMax) ms"))
        replica.elapse(300)
        #expect(replica.get("k") == .some(nil), "the kept TTL ran out")
    }

    @Test("GETDEL answers the value and removes the key; MGET answers one value per key; MSET writes all at one revision")
    func getDeleteAndMany() {
        var replica = Replica()
        _ = replica.set("a", "1", ttl: 100)
        #expect(replica.kv(1, .getDelete(key: "a")) == .value("1"))
        #expect(replica.machine.kv.values["a"] == nil && replica.machine.kv.expiries.isEmpty)
        #expect(replica.kv(1, .getDelete(key: "a")) == .value(nil))
        let revision = replica.machine.kv.revision
        #expect(replica.kv(1, .setMany([KVPair(key: "x", value: "1"), KVPair(key: "y", value: "2"), KVPair(key: "x", value: "3")]))
                == .written(revision: revision + 1))
        #expect(replica.kv(1, .getMany(["x", "nope", "y", "x"])) == .values(["3", nil, "2", "3"]))
        #expect(replica.kv(1, .setMany([])) == .rejected("wrong number of arguments for 'mset' command: no key and value"))
    }

    @Test("MGET past the reply limit is refused, naming it")
    func getManyBound() {
        var machine = KVStateMachine()
        let big = String(repeating: "v", count: CoordinationLimits.kvReplyBytesMax / 2 + 1)
        machine.store("a", big, expiresAt: nil)
        machine.store("b", big, expiresAt: nil)
        #expect(machine.readResult(of: .getMany(["a"]), nowMillis: 0) == .values([big]))
        guard case .rejected(let reason) = machine.readResult(of: .getMany(["a", "b"]), nowMillis: 0) else {
            Issue.record("MGET past the limit answered")
            return
        }
        #expect(reason.contains("\(CoordinationLimits.kvReplyBytesMax) bytes (kv-reply-bytes-max)"))
    }

    @Test("EXPIRE family: 1 when set, 0 when absent or the condition fails, a reached instant removes; PTTL and PERSIST")
    func expireFamily() {
        var replica = Replica()
        replica.elapse(1_000)
        _ = replica.set("k", "v")
        #expect(replica.kv(1, .timeToLive(key: "k")) == .integer(-1))
        #expect(replica.kv(1, .timeToLive(key: "none")) == .integer(-2))
        #expect(replica.kv(1, .expire(key: "none", at: .afterMillis(100), condition: .always)) == .count(0))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(100), condition: .ifTTL)) == .count(0), "XX: no TTL yet")
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(100), condition: .ifLater)) == .count(0), "GT: none is forever")
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(100), condition: .ifNoTTL)) == .count(1))
        #expect(replica.kv(1, .timeToLive(key: "k")) == .integer(100))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(50), condition: .ifNoTTL)) == .count(0))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(50), condition: .ifLater)) == .count(0))
        #expect(replica.kv(1, .expire(key: "k", at: .atMillis(1_200), condition: .ifLater)) == .count(1))
        #expect(replica.kv(1, .expire(key: "k", at: .atMillis(1_300), condition: .ifEarlier)) == .count(0))
        #expect(replica.kv(1, .expire(key: "k", at: .atMillis(1_150), condition: .ifEarlier)) == .count(1))
        #expect(replica.machine.kv.expiries["k"] == 1_150)
        #expect(replica.kv(1, .persist(key: "k")) == .count(1))
        #expect(replica.kv(1, .persist(key: "k")) == .count(0))
        #expect(replica.kv(1, .timeToLive(key: "k")) == .integer(-1))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(Int64(Self.ttlMax) + 1), condition: .always))
                == .rejected("invalid expire time in 'expire' command: \(1_000 + Self.ttlMax + 1) ms of cluster time is more than "
                    + "\(Self.ttlMax) ms after now (1000 ms)"))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(.max), condition: .always))
                == .rejected("invalid expire time in 'expire' command: now + \(Int64.max) ms overflows"))
        #expect(replica.kv(1, .expire(key: "k", at: .afterMillis(-1), condition: .always)) == .count(1))
        #expect(replica.get("k") == .some(nil), "a negative TTL removes the key, as Redis")
        _ = replica.set("old", "v")
        #expect(replica.kv(1, .expire(key: "old", at: .atMillis(.min), condition: .always)) == .count(1))
        #expect(replica.machine.kv.values["old"] == nil)
    }

    @Test("the keys with a TTL stay bounded through EXPIRE too")
    func expireBounded() {
        var machine = KVStateMachine(expiringKeysMax: 1)
        machine.store("a", "1", expiresAt: nil)
        machine.store("b", "1", expiresAt: nil)
        var index: LogIndex = 0
        func expire(_ key: String) -> KVResult? {
            index += 1
            let request = KVRequest(client: 1, sequence: index, command: .expire(key: key, at: .afterMillis(100), condition: .always))
            return machine.apply(index: index, data: request.encoded(), nowMillis: 0)?.result
        }
        #expect(expire("a") == .count(1))
        #expect(expire("a") == .count(1), "changing an existing TTL is fine")
        #expect(expire("b") == .rejected(machine.tooManyTTLs))
    }

    @Test("DBSIZE counts live keys only, also before the clock entry purges an expired one")
    func keyCount() {
        var machine = KVStateMachine()
        machine.store("a", "1", expiresAt: 10)
        machine.store("b", "1", expiresAt: nil)
        #expect(machine.liveKeyCount(nowMillis: 9) == 2)
        #expect(machine.liveKeyCount(nowMillis: 10) == 1)
        #expect(machine.readResult(of: .keyCount, nowMillis: 10) == .count(1))
    }

    @Test("FLUSHDB removes every key and TTL; the scan index empties too")
    func flush() {
        var replica = Replica()
        _ = replica.set("a", "1", ttl: 100)
        _ = replica.set("b", "2")
        #expect(replica.kv(1, .flush) == .written(revision: 3))
        #expect(replica.machine.kv.values.isEmpty && replica.machine.kv.expiries.isEmpty)
        #expect(replica.machine.kv.scanIndex.count == 0)
        #expect(replica.machine.kv.expiryIndex.count == 0)
        #expect(replica.kv(1, .scan(cursor: 0, pattern: nil, count: 10)) == .scanPage(cursor: 0, keys: []))
    }

    /// Runs a whole SCAN from cursor 0 with `count`, writing `between` after each step.
    private func fullScan(_ machine: inout KVStateMachine, count: Int, pattern: String? = nil,
                          between: (inout KVStateMachine, Int) -> Void = { _, _ in }) -> [String] {
        var cursor: UInt64 = 0
        var found: [String] = []
        var steps = 0
        repeat {
            guard case .scanPage(let next, let keys) = machine.readResult(of: .scan(cursor: cursor, pattern: pattern, count: count),
                                                                          nowMillis: 0) else { return [] }
            found += keys
            cursor = next
            steps += 1
            between(&machine, steps)
        } while cursor != 0 && steps < 100_000
        return found
    }

    @Test("a full SCAN returns every key there throughout exactly once, while other keys come and go")
    func scanCompleteness() {
        var machine = KVStateMachine()
        let stable = (0..<2_000).map { "stable:\($0)" }
        for key in stable { machine.store(key, "v", expiresAt: nil) }
        #expect(machine.scanIndex.count == 2_000)
        let found = fullScan(&machine, count: 7) { machine, step in
            machine.store("churn:\(step)", "v", expiresAt: nil)
            if step > 3 { machine.remove("churn:\(step - 3)") }
        }
        let stableFound = found.filter { $0.hasPrefix("stable:") }
        #expect(stableFound.count == 2_000, "each stable key once")
        #expect(Set(stableFound) == Set(stable))
        #expect(fullScan(&machine, count: 10_000_000).count == machine.values.count, "COUNT is clamped, not refused")
        #expect(Set(fullScan(&machine, count: 50, pattern: "stable:1?")) == Set((10...19).map { "stable:\($0)" }))
    }

    @Test("SCAN's order is the keys' own: the same pages on a replica built in another order or restored from a snapshot")
    func scanOrderIsStable() throws {
        var forward = KVStateMachine()
        var backward = KVStateMachine()
        let keys = (0..<700).map { "key-\($0)" }
        for key in keys { forward.store(key, "v", expiresAt: nil) }
        for key in keys.reversed() { backward.store(key, "v", expiresAt: nil) }
        let restored = try KVStateMachine(restoring: forward.snapshotData())
        for cursor in [UInt64(0), 1 << 40, 1 << 61, UInt64.max] {
            let page = forward.readResult(of: .scan(cursor: cursor, pattern: nil, count: 25), nowMillis: 0)
            #expect(backward.readResult(of: .scan(cursor: cursor, pattern: nil, count: 25), nowMillis: 0) == page)
            #expect(restored.readResult(of: .scan(cursor: cursor, pattern: nil, count: 25), nowMillis: 0) == page)
        }
        #expect(forward.readResult(of: .keysMatching(pattern: "*"), nowMillis: 0)
                == backward.readResult(of: .keysMatching(pattern: "*"), nowMillis: 0))
    }

    @Test("SCAN and KEYS skip expired keys not yet purged")
    func scanSkipsExpired() {
        var machine = KVStateMachine()
        machine.store("gone", "v", expiresAt: 5)
        machine.store("here", "v", expiresAt: nil)
        #expect(machine.readResult(of: .keysMatching(pattern: "*"), nowMillis: 5) == .keys(["here"]))
        #expect(machine.readResult(of: .scan(cursor: 0, pattern: nil, count: 10), nowMillis: 5) == .scanPage(cursor: 0, keys: ["here"]))
    }

    @Test("KEYS past its key limit is refused, naming it and SCAN")
    func keysBound() {
        var machine = KVStateMachine()
        for number in 0...CoordinationLimits.kvKeysReplyMax { machine.store("k\(number)", "", expiresAt: nil) }
        guard case .rejected(let reason) = machine.readResult(of: .keysMatching(pattern: "k*"), nowMillis: 0) else {
            Issue.record("KEYS past the limit answered")
            return
        }
        #expect(reason.contains("more than \(CoordinationLimits.kvKeysReplyMax) keys (kv-keys-reply-max)"))
        #expect(reason.hasSuffix("use SCAN"))
        #expect(machine.readResult(of: .keysMatching(pattern: "k1000?"), nowMillis: 0).map { if case .keys(let keys) = $0 { keys.count } else { -1 } } == 10)
    }

    @Test("a key equal to another in Unicode but not in bytes leaves the scan index in step")
    func canonicalEquivalence() {
        var machine = KVStateMachine()
        machine.store("caf\u{E9}", "1", expiresAt: nil)
        machine.store("cafe\u{301}", "2", expiresAt: nil)
        #expect(machine.values.count == 1 && machine.scanIndex.count == 1)
        machine.remove("cafe\u{301}")
        #expect(machine.values.isEmpty)
        #expect(machine.scanIndex.count == 0)
        #expect(machine.readResult(of: .scan(cursor: 0, pattern: nil, count: 10), nowMillis: 0) == .scanPage(cursor: 0, keys: []))
    }

    @Test("glob patterns match as Redis's", arguments: [
        ("*", "", true), ("*", "anything", true), ("a*", "abc", true), ("a*", "bac", false), ("*c", "abc", true),
        ("a?c", "abc", true), ("a?c", "ac", false), ("[ab]x", "bx", true), ("[ab]x", "cx", false), ("[^ab]x", "cx", true),
        ("[^ab]x", "ax", false), ("[a-c]", "b", true), ("[c-a]", "b", true), ("[a-c]", "d", false), ("\\*", "*", true),
        ("\\*", "a", false), ("[\\]]", "]", true), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYbZ", false), ("", "", true),
        ("", "a", false), ("[a", "a", true), ("user:*:name", "user:42:name", true), ("h?llo", "héllo", false),
        ("*a*a*a*a*a*a*a*a*b", String(repeating: "a", count: 60), false),
    ])
    func glob(pattern: String, text: String, matches: Bool) {
        #expect(KVGlob(pattern).matches(text) == matches)
    }

    @Test("list answers round-trip through the session encoding, whatever their texts")
    func answersRoundTrip() {
        let texts = ["", "a:b", "12:x", "-", "\u{301}combining first", "caf\u{E9}", "🔒", "p1;2", "m"]
        for result in [KVResult.values(texts + [nil]), .values([]), .keys(texts), .scanPage(cursor: .max, keys: texts),
                       .scanPage(cursor: 0, keys: []), .value("\u{301}x"), .value("")] {
            #expect(KVResult(snapshotEncoding: result.encodedForSnapshot()) == result, "\(result)")
        }
        #expect(KVResult(snapshotEncoding: "k3:ab") == nil, "a length past the end")
        #expect(KVResult(snapshotEncoding: "k-") == nil, "keys are never nil")
        #expect(KVResult(snapshotEncoding: "px;") == nil)
    }

    @Test("the new commands round-trip through the log encoding; one naming too many keys does not decode")
    func encoding() {
        let commands: [KVCommand] = [
            .setWith(key: "k", value: "v", options: SetOptions(condition: .ifAbsent, expiry: .atMillis(9), returnsOld: true)),
            .setWith(key: "k", value: "v", options: SetOptions(expiry: .keep)), .getDelete(key: "k"), .getMany(["a", "b"]),
            .setMany([KVPair(key: "a", value: "1")]), .expire(key: "k", at: .atMillis(-4), condition: .ifEarlier),
            .expire(key: "k", at: .afterMillis(.min), condition: .ifTTL), .persist(key: "k"), .timeToLive(key: "k"),
            .scan(cursor: .max, pattern: "a*", count: -3), .scan(cursor: 0, pattern: nil, count: 10), .keysMatching(pattern: ""),
            .keyCount, .flush,
        ]
        for command in commands {
            let request = KVRequest(client: 3, sequence: 9, command: command)
            #expect(KVRequest(decoding: request.encoded()) == request, "\(command)")
        }
        let most = CoordinationLimits.kvKeysPerCommandMax
        let tooMany = KVRequest(client: 1, sequence: 1, command: .setMany((0...most).map { KVPair(key: "\($0)", value: "") }))
        #expect(KVRequest(decoding: tooMany.encoded()) == nil)
    }
}
