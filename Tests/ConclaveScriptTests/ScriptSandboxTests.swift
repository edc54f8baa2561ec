import ConclaveScript
import Testing

/// What a script must not reach: the machine, the process, other scripts, or anything that differs
/// between replicas.
struct ScriptSandboxTests {
    let engine = ScriptEngine()

    private func error(_ source: String) throws -> String {
        try #require(reply(engine, source).errorText, "expected an error from \(source)")
    }

    @Test("no os, io, debug, package or loaders; Redis's denied globals are absent too", arguments: [
        "os.execute('touch /tmp/conclave-escaped')", "io.open('/etc/passwd')", "debug.getinfo(1)", "require('os')",
        "package.loadlib('x', 'y')", "dofile('/etc/passwd')", "loadfile('/etc/passwd')", "print('x')",
        "getfenv(0)", "setfenv(1, {})", "collectgarbage('count')", "gcinfo()", "newproxy(true)",
        "coroutine.create(function() end)", "load(function() end)", "module('x')",
    ])
    func absent(source: String) throws {
        let name = String(source.prefix { $0.isLetter })
        #expect(try error(source).contains("Script attempted to access nonexistent global variable '\(name)'"))
    }

    @Test("bytecode is refused: string.dump is gone and loadstring takes source text only")
    func bytecode() throws {
        #expect(try error("return loadstring(string.dump(function() return 1 end))()").contains("attempt to call field 'dump'"))
        #expect(reply(engine, "local f, e = loadstring('\\27LuaQ\\0') return {tostring(f), e}")
            == .array([.bulk("nil"), .bulk("precompiled (binary) chunks are not accepted in scripts")]))
        #expect(reply(engine, "return loadstring('return 1 + 1')()") == .integer(2))
    }

    @Test("a script cannot create globals, directly, through loadstring or _G", arguments: [
        "a = 10", "loadstring('b = 1')()", "_G.c = 1", "redis = function() return 1 end",
    ])
    func noNewGlobals(source: String) throws {
        #expect(try error(source).contains("Attempt to modify a readonly table"))
    }

    @Test("libraries are read-only, and their metatables cannot be taken or replaced", arguments: [
        ("redis.call = function() return 1 end", "Attempt to modify a readonly table"),
        ("string.upper = nil", "Attempt to modify a readonly table"),
        ("math.random = function() return 4 end", "Attempt to modify a readonly table"),
        ("setmetatable(_G, {})", "cannot change a protected metatable"),
        ("setmetatable(string, {})", "cannot change a protected metatable"),
        ("getmetatable(_G).__index = {}", "attempt to index a string value"),
        ("getmetatable('').__index.upper = nil", "attempt to index field '__index' (a nil value)"),
    ])
    func readOnly(source: String, message: String) throws {
        #expect(try error(source).contains(message))
    }

    @Test("what a script changes with rawset dies with the run")
    func noLeaksBetweenRuns() {
        #expect(reply(engine, "rawset(_G, 'leak', 1) rawset(string, 'leak', 2) rawset(KEYS, 5, 'x') return leak + string.leak")
            == .integer(3))
        #expect(reply(engine, "return {tostring(rawget(_G, 'leak')), tostring(string.leak), tostring(KEYS[5])}")
            == .array([.bulk("nil"), .bulk("nil"), .bulk("nil")]))
        #expect(reply(engine, "return ('abc'):upper()") == .bulk("ABC"))
    }

    @Test("math.random gives the same numbers in every run and every engine; randomseed lasts one run")
    func deterministicRandom() {
        let draw = "return {math.random(1000000), math.random(1000000), math.random(10, 20)}"
        let first = reply(engine, draw)
        #expect(reply(engine, "math.randomseed(42) return math.random(1000000)") != .integer(0))
        #expect(reply(engine, draw) == first)
        #expect(reply(ScriptEngine(), draw) == first)
        #expect(reply(engine, "math.randomseed(7) local a = math.random() math.randomseed(7) return a == math.random()") == .integer(1))
    }

    @Test("tostring of a table names it by a per-run number, not its address")
    func deterministicToString() {
        #expect(reply(engine, "local a, b = {}, {} return {tostring(a), tostring(b), tostring(a), tostring(rawequal(a, b))}")
            == .array([.bulk("table: 0x00000001"), .bulk("table: 0x00000002"), .bulk("table: 0x00000001"), .bulk("false")]))
        #expect(reply(engine, "return tostring(tostring)") == .bulk("function: 0x00000001"))
    }

    @Test("deep recursion, in Lua and through C, ends in an error, not a crash")
    func recursion() throws {
        #expect(try error("local function f() return f() + 1 end return f()").contains("stack overflow"))
        // Through C: each pcall nests a C call; Lua stops the nesting at its C-call limit (200).
        let depth = reply(engine, "local function f(n) local ok, e = pcall(f, n + 1) if ok then return e end return n end return f(0)")
        guard case .integer(let reached) = depth else {
            Issue.record("expected the depth reached, got \(depth)")
            return
        }
        #expect((50...200).contains(reached))
    }

    @Test("a pattern of many optional items is refused rather than overflowing the C stack")
    func patternDepth() throws {
        #expect(try error("return string.find(string.rep('a', 100000), string.rep('a?', 100000))").contains("pattern too complex"))
        #expect(reply(engine, "return {string.find('hello world', 'o w')}") == .array([.integer(5), .integer(7)]))
        #expect(reply(engine, "return (string.gsub('hello world', '(o)', '[%1]'))") == .bulk("hell[o] w[o]rld"))
        #expect(reply(engine, "local n = 0 for w in string.gmatch('a b c', '%a') do n = n + 1 end return n") == .integer(3))
        #expect(reply(engine, "return string.match('key:42', '^key:(%d+)$')") == .bulk("42"))
    }
}
