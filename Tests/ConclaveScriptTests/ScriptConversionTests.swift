import ConclaveScript
import Testing

/// Redis's "Conversion between Lua and Redis data types", both ways, and the redis.* helpers.
struct ScriptConversionTests {
    let engine = ScriptEngine()

    @Test("Lua values become replies as Redis converts them", arguments: [
        ("return 1", ScriptReply.integer(1)),
        ("return 3.99", .integer(3)),
        ("return -3.99", .integer(-3)),
        ("return 'hello world'", .bulk("hello world")),
        ("return true", .integer(1)),
        ("return false", .null),
        ("return nil", .null),
        ("return {ok='fine'}", .status("fine")),
        ("return {err='ERR this is an error'}", .error("ERR this is an error")),
        ("return {1,2,3,'ciao',{1,2}}", .array([.integer(1), .integer(2), .integer(3), .bulk("ciao"), .array([.integer(1), .integer(2)])])),
        ("return {1,2,nil,4}", .array([.integer(1), .integer(2)])),
        ("return {1,'x',false,3}", .array([.integer(1), .bulk("x"), .null, .integer(3)])),
        ("return {}", .array([])),
        ("return {ok='line\\r\\nbreak'}", .status("line  break")),
        ("return 0/0", .integer(.min)),
        ("return 1e300", .integer(.min)),
        ("return 2^53", .integer(9_007_199_254_740_992)),
        ("return function() end", .null),
    ])
    func luaToReply(source: String, expected: ScriptReply) {
        #expect(reply(engine, source) == expected)
    }

    @Test("KEYS and ARGV are the arrays EVAL was given, bytes intact")
    func keysAndArguments() {
        #expect(reply(engine, "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2],#KEYS,#ARGV}", keys: ["a", "b"], arguments: ["c", "d"])
            == .array([.bulk("a"), .bulk("b"), .bulk("c"), .bulk("d"), .integer(2), .integer(2)]))
        var host = TestHost()
        let binary: [UInt8] = [0, 255, 13, 10, 0]
        let result = engine.run(Script("return ARGV[1]"), keys: [], arguments: [binary], host: &host)
        #expect(result.reply == .bulk(binary))
    }

    @Test("replies become Lua values: integer, bulk, nil as false, status and error tables, arrays")
    func replyToLua() {
        var host = TestHost(["n": "41", "s": "text"])
        let source = """
            local incr = redis.call('incr', 'n')
            local missing = redis.call('get', 'missing')
            local status = redis.call('set', 'k', 'v')
            local list = redis.call('mget', 's', 'missing')
            local err = redis.pcall('incr', 's')
            return {type(incr), incr, tostring(missing), status.ok, list[1], tostring(list[2]), err.err}
            """
        #expect(run(engine, source, host: &host).reply == .array([
            .bulk("number"), .integer(42), .bulk("false"), .bulk("OK"), .bulk("text"), .bulk("false"),
            .bulk("ERR value is not an integer or out of range"),
        ]))
    }

    @Test("a status or error reply from a command passes through a script unchanged")
    func passThrough() {
        #expect(reply(engine, "return redis.call('ping')") == .status("PONG"))
        #expect(reply(engine, "return redis.pcall('nosuchcommand')") == .error("ERR Unknown Redis command called from script"))
    }

    @Test("numbers passed to redis.call are written as Redis 7 writes them")
    func numberArguments() {
        var host = TestHost()
        let result = run(engine, """
            redis.call('set', 'a', 3.0)
            redis.call('set', 'b', 0.1)
            redis.call('set', 'c', -17)
            redis.call('set', 'd', 1e20)
            redis.call('set', 'e', 2^53)
            return 1
            """, host: &host)
        #expect(result.reply == .integer(1))
        #expect(host.values == ["a": "3", "b": "0.1", "c": "-17", "d": "1e+20", "e": "9007199254740992"])
    }

    @Test("redis.call raises a command's error, redis.pcall returns it")
    func callVersusPcall() throws {
        var host = TestHost(["s": "text"])
        let raised = run(engine, "local x = 1\nreturn redis.call('incr', 's')", host: &host)
        #expect(raised.failed)
        #expect(raised.reply == .error("ERR value is not an integer or out of range script: "
            + Script("local x = 1\nreturn redis.call('incr', 's')").sha + ", on @user_script:2."))
        let returned = run(engine, "return redis.pcall('incr', 's')", host: &host)
        #expect(!returned.failed)
        #expect(returned.reply == .error("ERR value is not an integer or out of range"))
        // pcall around redis.call gives the message as a string, as in Redis 7.
        #expect(reply(engine, "local ok, e = pcall(redis.call, 'incr', 'k'); return {tostring(ok), e}")
            == .array([.bulk("true"), .integer(1)]))
        var textHost = TestHost(["s": "text"])
        #expect(run(engine, "local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), e}", host: &textHost).reply
            == .array([.bulk("false"), .bulk("ERR value is not an integer or out of range")]))
    }

    @Test("bad arguments to redis.call are errors, raised by call and returned by pcall")
    func badArguments() throws {
        let raised = try #require(reply(engine, "return redis.call('set', 'k', {})").errorText)
        #expect(raised.hasPrefix("ERR Lua redis lib command arguments must be strings or integers script: "))
        #expect(reply(engine, "return redis.pcall()") == .error("ERR Please specify at least one argument for this redis lib call"))
        #expect(reply(engine, "return redis.pcall('get', true)") == .error("ERR Lua redis lib command arguments must be strings or integers"))
    }

    @Test("errors carry Redis 7's shape: message, then script and line")
    func errorShapes() {
        let sha = { (source: String) in Script(source).sha }
        #expect(reply(engine, "return nil + 1") == .error("ERR user_script:1: attempt to perform arithmetic on a nil value script: \(sha("return nil + 1")), on @user_script:1."))
        #expect(reply(engine, "\nerror('boom')") == .error("ERR user_script:2: boom script: \(sha("\nerror('boom')")), on @user_script:2."))
        #expect(reply(engine, "error({err='MYCODE boom'})") == .error("MYCODE boom script: \(sha("error({err='MYCODE boom'})")), on @user_script:1."))
        #expect(reply(engine, "return a") == .error("ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: \(sha("return a")), on @user_script:1."))
        #expect(reply(engine, "return (") == .error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"))
    }

    @Test("redis.error_reply and redis.status_reply build replies; they are not failures")
    func replyHelpers() {
        var host = TestHost()
        let custom = run(engine, "return redis.error_reply('MY_ERR_CODE custom msg')", host: &host)
        #expect(custom.reply == .error("MY_ERR_CODE custom msg"))
        #expect(!custom.failed)
        #expect(reply(engine, "return redis.error_reply('oops')") == .error("ERR oops"))
        #expect(reply(engine, "return redis.error_reply('-WRONGTYPE bad')") == .error("WRONGTYPE bad"))
        #expect(reply(engine, "return redis.status_reply('MY_OK_CODE custom msg')") == .status("MY_OK_CODE custom msg"))
        #expect(reply(engine, "return redis.status_reply(1, 2)") == .error("ERR wrong number or type of arguments"))
    }

    @Test("redis.sha1hex, redis.log, the constants and the no-op switches")
    func helpers() throws {
        #expect(reply(engine, "return redis.sha1hex('')") == .bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"))
        #expect(reply(engine, "return redis.sha1hex('return 1')") == .bulk(Script("return 1").sha))
        #expect(try #require(reply(engine, "return redis.sha1hex()").errorText).hasPrefix("ERR wrong number of arguments script: "))
        #expect(reply(engine, "redis.log(redis.LOG_WARNING, 'hello', 1) return 'logged'") == .bulk("logged"))
        #expect(try #require(reply(engine, "redis.log(redis.LOG_WARNING)").errorText).hasPrefix("ERR redis.log() requires two arguments or more."))
        #expect(try #require(reply(engine, "redis.log(9, 'x')").errorText).hasPrefix("ERR Invalid log level."))
        #expect(reply(engine, "redis.setresp(2) redis.set_repl(redis.REPL_ALL) return {redis.replicate_commands() and 1, redis.REDIS_VERSION}")
            == .array([.integer(1), .bulk("7.0.0")]))
        #expect(try #require(reply(engine, "redis.setresp(3)").errorText).hasPrefix("ERR Conclave scripts speak RESP2 only"))
    }

    @Test("pcall returns an error table's text, as Redis's pcall does")
    func pcallOfErrorTables() {
        #expect(reply(engine, "local ok, e = pcall(function() error({err='X y'}) end) return e") == .bulk("X y"))
        #expect(reply(engine, "local ok, e = pcall(function() return foo end) return e")
            == .bulk("user_script:1: Script attempted to access nonexistent global variable 'foo'"))
        #expect(reply(engine, "local ok, r = pcall(function() return 1 end) return 'status: ' .. tostring(ok) .. ' result: ' .. r")
            == .bulk("status: true result: 1"))
    }

    @Test("a reply that nests too deep or contains itself fails cleanly")
    func selfReferentialReply() throws {
        var host = TestHost()
        let result = run(engine, "local t = {} t[1] = t return t", host: &host)
        #expect(result.failed)
        #expect(try #require(result.reply.errorText).hasPrefix("ERR reply nests deeper than 64 levels"))
    }
}
