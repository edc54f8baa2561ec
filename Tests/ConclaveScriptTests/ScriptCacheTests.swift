import ConclaveCore
import ConclaveScript
import Testing

struct ScriptCacheTests {
    @Test("SCRIPT LOAD keeps a script by SHA until FLUSH; lookups ignore case")
    func loadExistsFlush() {
        var cache = ScriptCache()
        let script = Script("return 1")
        #expect(cache.load(script) == nil)
        #expect(cache.contains(sha: script.sha.uppercased()))
        #expect(cache.script(sha: "e0e1f9fabfc9d4800c877a703b823ac0578ff8db") == script)
        #expect(!cache.contains(sha: "ffffffffffffffffffffffffffffffffffffffff"))
        cache.flush()
        #expect(!cache.contains(sha: script.sha))
        #expect(cache.stateHash == ScriptCache().stateHash)
    }

    @Test("scripts brought by EVAL are kept only among the most recently used; loaded ones stay")
    func evalEviction() {
        var cache = ScriptCache(limits: .init(evalScriptsMax: 3))
        let loaded = Script("return 'loaded'")
        #expect(cache.load(loaded) == nil)
        let evaluated = (1...5).map { Script("return \($0)") }
        for script in evaluated.prefix(3) { cache.noteRun(script) }
        cache.noteRun(evaluated[0]) // most recent now
        cache.noteRun(evaluated[3]) // evicts evaluated[1], the least recently used
        cache.noteRun(evaluated[4]) // evicts evaluated[2]
        #expect(cache.contains(sha: loaded.sha))
        #expect(evaluated.map { cache.contains(sha: $0.sha) } == [true, false, false, true, true])
        // SCRIPT LOAD of an EVAL'd script keeps it for good.
        #expect(cache.load(evaluated[3]) == nil)
        for index in 10..<20 { cache.noteRun(Script("return \(index)")) }
        #expect(cache.contains(sha: evaluated[3].sha) && cache.contains(sha: loaded.sha))
    }

    @Test("limits: body size, script count and bytes")
    func limits() {
        var cache = ScriptCache(limits: .init(scriptBytesMax: 16, scriptsMax: 2, bytesMax: 24, evalScriptsMax: 2))
        #expect(cache.load(Script(String(repeating: "x", count: 17)))?.hasPrefix("ERR script of 17 bytes is over the limit of 16 bytes") == true)
        #expect(cache.load(Script("return 1")) == nil)
        #expect(cache.load(Script("return 2")) == nil)
        #expect(cache.load(Script("return 3"))?.hasPrefix("ERR the script cache is full") == true)
        cache.noteRun(Script("return 4")) // does not fit: simply not kept
        #expect(!cache.contains(sha: Script("return 4").sha))
    }

    @Test("encoded and decoded, a cache is equal to itself, hash included")
    func roundTrip() throws {
        var cache = ScriptCache()
        #expect(cache.load(Script("return 'a'")) == nil)
        cache.noteRun(Script("return 'b'"))
        cache.noteRun(Script("return 'a'"))
        var reader = ByteReader(cache.encoded())
        let decoded = try ScriptCache(decoding: &reader)
        #expect(reader.isAtEnd)
        #expect(decoded == cache)
        #expect(decoded.encoded() == cache.encoded())
    }

    @Test("decoding refuses damaged bytes with a reason")
    func damaged() {
        var cache = ScriptCache()
        #expect(cache.load(Script("return 'a'")) == nil)
        var bytes = cache.encoded()
        bytes[0] = 9
        var reader = ByteReader(bytes)
        #expect(throws: ScriptCache.DecodingError(reason: "unknown version 9 (this build reads 1)")) {
            try ScriptCache(decoding: &reader)
        }
        var truncated = ByteReader(Array(cache.encoded().dropLast()))
        #expect(throws: ScriptCache.DecodingError.self) { try ScriptCache(decoding: &truncated) }
        var tooMany = ByteReader(cache.encoded())
        #expect(throws: ScriptCache.DecodingError(reason: "1 scripts, more than the 0 allowed")) {
            try ScriptCache(decoding: &tooMany, limits: .init(scriptsMax: 0))
        }
    }
}
