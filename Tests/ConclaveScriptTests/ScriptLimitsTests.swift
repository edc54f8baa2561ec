@testable import ConclaveScript
import Testing

/// The instruction budget and the memory cap: deterministic, uncatchable, and leaving no write behind.
struct ScriptLimitsTests {
    @Test("an endless loop stops at the same instruction count in every run and every engine", arguments: [
        "while true do end",
        "local i = 0 while true do i = i + 1 end",
        "redis.call('set', 'k', 'v') local t = {} for i = 1, 1e12 do t[i % 100] = i end",
        "while true do pcall(function() while true do end end) end",
        "while true do redis.call('get', 'k') end",
    ])
    func budget(source: String) throws {
        let limits = ScriptLimits(instructionBudget: 100_000)
        var results: [ScriptResult] = []
        for engine in [ScriptEngine(limits: limits), ScriptEngine(limits: limits)] {
            for _ in 0..<2 {
                var host = TestHost()
                let result = run(engine, source, host: &host)
                #expect(host.values.isEmpty, "the budget failure left a write behind")
                results.append(result)
            }
        }
        let first = try #require(results.first)
        #expect(first.failed)
        #expect(first.instructions == 100_000)
        #expect(try #require(first.reply.errorText).hasPrefix("ERR script exceeded its budget of 100000 instructions script: \(Script(source).sha), on @user_script:1."))
        #expect(results.allSatisfy { $0 == first })
    }

    @Test("a script within its budget runs to the end")
    func withinBudget() {
        let engine = ScriptEngine(limits: ScriptLimits(instructionBudget: 100_000))
        var host = TestHost()
        let result = run(engine, "local n = 0 for i = 1, 10000 do n = n + i end return n", host: &host)
        // 2 instructions per iteration, charged in steps of 1,000.
        #expect(result == ScriptResult(reply: .integer(50_005_000), failed: false, instructions: 20_000))
    }

    @Test("library work that loops inside one instruction is charged", arguments: [
        "return #string.rep('', 1e15)",
        "return string.find(string.rep('a', 5000), string.rep('a*', 20) .. 'b')",
        "local t = {1} table.insert(t, -1e9, 1)",
        "local t = {} for i = 1, 1000 do t[i] = '' end for i = 1, 1e9 do table.concat(t) end",
        "return string.find(string.rep('a', 100000), string.rep('a', 5000) .. 'b', 1, true)",
    ])
    func meteredLibraries(source: String) throws {
        let engine = ScriptEngine(limits: ScriptLimits(instructionBudget: 1_000_000))
        let text = try #require(reply(engine, source).errorText)
        #expect(text.hasPrefix("ERR script exceeded its budget of 1000000 instructions"))
    }

    @Test("past the memory cap a script fails, and pcall cannot keep it alive", arguments: [
        "local t = {} for i = 1, 1e7 do t[i] = i end",
        "return #string.rep('x', 4 * 1024 * 1024)",
        "local ok = pcall(string.rep, 'x', 4 * 1024 * 1024) return 'escaped'",
        "local s = '' for i = 1, 1e6 do s = s .. 'x' end",
    ])
    func memoryCap(source: String) throws {
        let engine = ScriptEngine(limits: ScriptLimits(memoryCapBytes: 1 << 20))
        var host = TestHost()
        let result = run(engine, "redis.call('set', 'before', '1') " + source, host: &host)
        #expect(result.failed)
        #expect(try #require(result.reply.errorText).hasPrefix("ERR script exceeded its memory cap of 1048576 bytes"))
        #expect(host.values.isEmpty, "the memory failure left a write behind")
        // The engine is fine afterwards.
        #expect(reply(engine, "return 'still here'") == .bulk("still here"))
    }

    /// Pushing a command's reply into Lua happens in C after Swift has returned, so the memory error
    /// it raises unwinds C frames only (see CLuaBridge.h).
    @Test("a command reply too big for the memory cap fails the script, and the engine lives on")
    func hugeReply() throws {
        struct Flood: ScriptHost {
            mutating func call(_ arguments: [[UInt8]]) -> ScriptReply { .array([.bulk([UInt8](repeating: 120, count: 2 << 20))]) }
            mutating func discardWrites() {}
        }
        let engine = ScriptEngine(limits: ScriptLimits(memoryCapBytes: 1 << 20))
        var host = Flood()
        for source in ["return redis.call('get', 'k')", "local ok = pcall(redis.call, 'get', 'k') return 'escaped'"] {
            let result = engine.run(Script(source), keys: [], arguments: [], host: &host)
            #expect(result.failed)
            #expect(try #require(result.reply.errorText).hasPrefix("ERR script exceeded its memory cap of 1048576 bytes"))
        }
        #expect(reply(engine, "return 'still here'") == .bulk("still here"))
    }

    @Test("a script too big for the shared state's fast path is rerun on a fresh one, its writes made once")
    func freshRerun() {
        let engine = ScriptEngine(limits: ScriptLimits(memoryCapBytes: 4 << 20))
        var host = TestHost()
        let source = "redis.call('incr', 'n') local s = string.rep('x', 1024 * 1024) redis.call('set', 'k', #s) return #s"
        let result = run(engine, source, host: &host)
        #expect(result == ScriptResult(reply: .integer(1 << 20), failed: false, instructions: result.instructions))
        #expect(host.values == ["n": "1", "k": "1048576"])
        #expect(host.discards == 1, "the fast attempt's writes are discarded once before the fresh run")
    }

    /// Strings that a dirty shared state already interned (constants of other scripts, leftovers) cost
    /// a fresh state more: the verdict near the cap must still be the fresh state's, in any engine.
    @Test("near the cap, a used engine and a new one agree on every verdict")
    func verdictsAgree() {
        let limits = ScriptLimits(memoryCapBytes: 1 << 20)
        let used = ScriptEngine(limits: limits)
        let constants = (1...2_000).map { "'key:\($0)'" }.joined(separator: ",")
        for index in 0..<20 {
            _ = reply(used, "local t = {\(constants)} return #t + \(index)")
            _ = reply(used, "local t = {} for i = 1, 3000 do t[i] = 'left:' .. i end return \(index)")
        }
        for count in stride(from: 6_000, through: 14_000, by: 400) {
            let source = "local t = {} for i = 1, \(count) do t[i] = 'key:' .. i end return #t"
            let fresh = reply(ScriptEngine(limits: limits), source)
            #expect(reply(used, source) == fresh, "verdicts differ at \(count) strings")
        }
    }

    /// The inequality the fast path rests on (see ScriptEngine): a fresh state allocates at most
    /// 4·A + 4·E + 2·(H₀ + P) for a run that allocated A on a state whose heap held E bytes beyond a
    /// fresh one's. Checked on runs that hit the shared state's interned strings hardest.
    @Test("what a fresh state allocates stays within the bound the fast path assumes", arguments: [
        "local t = {} for i = 1, 20000 do t[i] = 'key:' .. i end return #t",
        "local t = {} for i = 1, 2000 do t[#t + 1] = string.rep('k', i % 300) end return #t",
        "local s = '' for i = 1, 3000 do s = s .. 'key:' .. i end return #s",
        "local t = {} for i = 1, 5000 do t[tostring(i)] = {i} end return 1",
    ])
    func allocationBound(source: String) throws {
        let limits = ScriptLimits(memoryCapBytes: 64 << 20)
        let shared = try #require(LuaSandbox(limits: limits))
        let freshHeap = shared.heapBytes
        let constants = (1...20_000).map { "'key:\($0)'" }.joined(separator: ",")
        var names = 0
        for body in ["return {\(constants)}", "local t = {} for i = 1, 300 do t[i] = string.rep('k', i) end return t"] {
            names += 1
            #expect(shared.compile(name: "dirt\(names)", body: Array(body.utf8)) == .compiled)
            _ = shared.run(name: "dirt\(names)", keys: [], arguments: [], allocationLimit: 64 << 20, caller: HostCaller { _ in .null })
        }
        let before = shared.heapBytes
        #expect(shared.compile(name: "probe", body: Array(source.utf8)) == .compiled)
        let compiledBytes = shared.heapBytes - before
        let extra = shared.heapBytes - freshHeap
        let onShared = shared.run(name: "probe", keys: [], arguments: [], allocationLimit: 64 << 20, caller: HostCaller { _ in .null })
        let fresh = try #require(LuaSandbox(limits: limits))
        #expect(fresh.compile(name: "probe", body: Array(source.utf8)) == .compiled)
        fresh.collect()
        let onFresh = fresh.run(name: "probe", keys: [], arguments: [], allocationLimit: 64 << 20, caller: HostCaller { _ in .null })
        #expect(onShared.output == onFresh.output)
        let bound = 4 * onShared.allocatedBytes + 4 * extra + 2 * (freshHeap + compiledBytes)
        #expect(onFresh.allocatedBytes <= bound, "fresh \(onFresh.allocatedBytes) > bound \(bound) (shared \(onShared.allocatedBytes))")
    }

    @Test("a small script runs in microseconds, far cheaper than opening a Lua state")
    func speed() throws {
        let engine = ScriptEngine()
        var host = TestHost(["lock": "token"])
        let release = Script(LockScripts.redisPyRelease)
        let key = [Array("lock".utf8)]
        let wrong = [Array("other".utf8)]
        _ = engine.run(release, keys: key, arguments: wrong, host: &host)
        let runs = 20_000
        let clock = ContinuousClock()
        let running = clock.measure {
            for _ in 0..<runs { _ = engine.run(release, keys: key, arguments: wrong, host: &host) }
        }
        let opening = try clock.measure {
            for _ in 0..<1_000 { _ = try #require(LuaSandbox(limits: engine.limits)) }
        }
        let runMicroseconds = running.microseconds / Double(runs)
        let openMicroseconds = opening.microseconds / 1_000
        print("redis-py release script (GET, compare): \(runMicroseconds) µs per run; opening a Lua state: \(openMicroseconds) µs")
        // Per-run states would cost at least one opening per run; the shared state must stay well under.
        #expect(runMicroseconds < openMicroseconds)
        #expect(runMicroseconds < 200)
    }
}

extension Duration {
    fileprivate var microseconds: Double {
        Double(components.seconds) * 1e6 + Double(components.attoseconds) / 1e12
    }
}
