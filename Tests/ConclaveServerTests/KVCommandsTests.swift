import ConclaveCoordination
import ConclaveScript
import ConclaveServer
import ConclaveWire
import Testing

/// RESP commands to replicated KV commands, and results back to Redis's reply shapes.
struct KVCommandsTests {
    private func parse(_ words: String...) -> Result<KVCommands.Parsed, RESPError> {
        KVCommands.parse(words.map { Array($0.utf8) })
    }

    private func error(_ words: String...) -> String? {
        guard case .failure(let error) = KVCommands.parse(words.map { Array($0.utf8) }) else { return nil }
        return error.message
    }

    @Test func commandsMapOntoTheStore() {
        #expect(parse("get", "k") == .success(.kv(.get(key: "k"))))
        #expect(parse("SET", "k", "v") == .success(.kv(.set(key: "k", value: "v", condition: .always, ttlMillis: nil))))
        #expect(parse("set", "k", "v", "nx", "px", "250") == .success(.kv(.set(key: "k", value: "v", condition: .ifAbsent, ttlMillis: 250))))
        #expect(parse("SET", "k", "v", "EX", "3", "XX") == .success(.kv(.set(key: "k", value: "v", condition: .ifPresent, ttlMillis: 3_000))))
        #expect(parse("DEL", "a", "b") == .success(.kv(.deleteKeys(["a", "b"]))))
        #expect(parse("EXISTS", "a", "a") == .success(.kv(.exists(["a", "a"]))))
        #expect(parse("INCR", "n") == .success(.kv(.increment(key: "n", by: 1))))
        #expect(parse("DECR", "n") == .success(.kv(.increment(key: "n", by: -1))))
        #expect(parse("INCRBY", "n", "-7") == .success(.kv(.increment(key: "n", by: -7))))
        #expect(parse("DECRBY", "n", "7") == .success(.kv(.increment(key: "n", by: -7))))
        #expect(parse("INFO") == .success(.info(sections: [])))
        #expect(parse("info", "Replication") == .success(.info(sections: ["replication"])))
        #expect(parse("DBSIZE") == .success(.kv(.keyCount)))
    }

    @Test("the rest of Redis's string and key commands map onto the store, TTL with its reply in seconds")
    func keyspaceCommands() {
        #expect(parse("SET", "k", "v", "GET") == .success(.kv(.setWith(key: "k", value: "v", options: SetOptions(returnsOld: true)))))
        #expect(parse("SET", "k", "v", "KEEPTTL", "XX") == .success(.kv(.setWith(key: "k", value: "v",
            options: SetOptions(condition: .ifPresent, expiry: .keep)))))
        #expect(parse("SET", "k", "v", "EXAT", "5") == .success(.kv(.setWith(key: "k", value: "v",
            options: SetOptions(expiry: .atMillis(5_000))))))
        #expect(parse("set", "k", "v", "pxat", "5", "nx", "get") == .success(.kv(.setWith(key: "k", value: "v",
            options: SetOptions(condition: .ifAbsent, expiry: .atMillis(5), returnsOld: true)))))
        #expect(parse("GETSET", "k", "v") == .success(.kv(.setWith(key: "k", value: "v", options: SetOptions(returnsOld: true)))))
        #expect(parse("GETDEL", "k") == .success(.kv(.getDelete(key: "k"))))
        #expect(parse("MGET", "a", "b") == .success(.kv(.getMany(["a", "b"]))))
        #expect(parse("MSET", "a", "1", "b", "2") == .success(.kv(.setMany([KVPair(key: "a", value: "1"), KVPair(key: "b", value: "2")]))))
        #expect(parse("EXPIRE", "k", "10") == .success(.kv(.expire(key: "k", at: .afterMillis(10_000), condition: .always))))
        #expect(parse("PEXPIRE", "k", "-5", "gt") == .success(.kv(.expire(key: "k", at: .afterMillis(-5), condition: .ifLater))))
        #expect(parse("EXPIREAT", "k", "7", "NX") == .success(.kv(.expire(key: "k", at: .atMillis(7_000), condition: .ifNoTTL))))
        #expect(parse("PEXPIREAT", "k", "7", "LT", "LT") == .success(.kv(.expire(key: "k", at: .atMillis(7), condition: .ifEarlier))))
        #expect(parse("TTL", "k") == .success(.kv(.timeToLive(key: "k"), reply: .seconds)))
        #expect(parse("PTTL", "k") == .success(.kv(.timeToLive(key: "k"))))
        #expect(parse("PERSIST", "k") == .success(.kv(.persist(key: "k"))))
        #expect(parse("SCAN", "0") == .success(.kv(.scan(cursor: 0, pattern: nil, count: 10))))
        #expect(parse("scan", "42", "match", "a*", "count", "100", "type", "string")
                == .success(.kv(.scan(cursor: 42, pattern: "a*", count: 100))))
        #expect(parse("SCAN", "18446744073709551615", "MATCH", "*") == .success(.kv(.scan(cursor: .max, pattern: nil, count: 10))))
        #expect(parse("KEYS", "user:*") == .success(.kv(.keysMatching(pattern: "user:*"))))
        #expect(parse("FLUSHDB") == .success(.kv(.flush)))
        #expect(parse("flushall", "async") == .success(.kv(.flush)))
        #expect(parse("CONFIG", "GET", "save", "Append*") == .success(.configGet(patterns: ["save", "append*"])))
    }

    @Test("the new commands' bad arguments are answered with Redis's words", arguments: [
        (["SET", "k", "v", "KEEPTTL", "EX", "5"], "ERR syntax error"),
        (["SET", "k", "v", "PXAT", "0"], "ERR invalid expire time in 'set' command"),
        (["SET", "k", "v", "EXAT", "9223372036854775807"], "ERR invalid expire time in 'set' command"),
        (["GETSET", "k"], "ERR wrong number of arguments for 'getset' command"),
        (["MSET", "a", "1", "b"], "ERR wrong number of arguments for 'mset' command"),
        (["MGET"], "ERR wrong number of arguments for 'mget' command"),
        (["EXPIRE", "k"], "ERR wrong number of arguments for 'expire' command"),
        (["EXPIRE", "k", "ten"], "ERR value is not an integer or out of range"),
        (["EXPIRE", "k", "9223372036854775807"], "ERR invalid expire time in 'expire' command"),
        (["EXPIRE", "k", "5", "NX", "XX"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (["EXPIRE", "k", "5", "GT", "LT"], "ERR GT and LT options at the same time are not compatible"),
        (["EXPIRE", "k", "5", "SOON"], "ERR Unsupported option SOON"),
        (["TTL"], "ERR wrong number of arguments for 'ttl' command"),
        (["SCAN", "abc"], "ERR invalid cursor"),
        (["SCAN", "-1"], "ERR invalid cursor"),
        (["SCAN", "0", "COUNT", "0"], "ERR syntax error"),
        (["SCAN", "0", "COUNT"], "ERR syntax error"),
        (["SCAN", "0", "SIZE", "3"], "ERR syntax error"),
        (["SCAN", "0", "TYPE", "list"], "ERR SCAN TYPE 'list': a Conclave node holds strings only (TYPE string)"),
        (["KEYS"], "ERR wrong number of arguments for 'keys' command"),
        (["FLUSHDB", "NOW"], "ERR syntax error"),
        (["CONFIG", "GET"], "ERR wrong number of arguments for 'config|get' command"),
        (["CONFIG", "SET", "save", ""], "ERR CONFIG SET is not supported: a Conclave node takes its settings from its flags and configuration file at start"),
    ])
    func newCommandErrors(words: [String], message: String) {
        guard case .failure(let error) = KVCommands.parse(words.map { Array($0.utf8) }) else {
            Issue.record("\(words) parsed")
            return
        }
        #expect(error.message == message)
    }

    @Test func badCommandsAreAnsweredAsRedisDoes() {
        #expect(error("GET") == "ERR wrong number of arguments for 'get' command")
        #expect(error("SET", "k") == "ERR wrong number of arguments for 'set' command")
        #expect(error("SET", "k", "v", "NX", "XX") == "ERR syntax error")
        #expect(error("SET", "k", "v", "EX") == "ERR syntax error")
        #expect(error("SET", "k", "v", "EX", "0") == "ERR invalid expire time in 'set' command")
        #expect(error("SET", "k", "v", "PX", "-5") == "ERR invalid expire time in 'set' command")
        #expect(error("SET", "k", "v", "EX", "9223372036854775807") == "ERR invalid expire time in 'set' command")
        #expect(error("SET", "k", "v", "EX", "ten") == "ERR value is not an integer or out of range")
        #expect(error("SET", "k", "v", "SOON")?.hasPrefix("ERR syntax error") == true)
        #expect(error("INCRBY", "n", "1.5") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", "+1") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", " 1") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", "9223372036854775808") == "ERR value is not an integer or out of range")
        #expect(error("DECRBY", "n", "-9223372036854775808") == "ERR decrement would overflow")
        #expect(error("DBSIZE", "x") == "ERR wrong number of arguments for 'dbsize' command")
        #expect(error("FLUSHEVERYTHING", "ASYNC") == "ERR unknown command 'FLUSHEVERYTHING', with args beginning with: 'ASYNC'")
    }

    @Test func limitsAreStatedInTheError() {
        var limits = KVCommands.Limits()
        limits.valueBytesMax = 8
        limits.keysPerCommandMax = 2
        let tooLong = KVCommands.parse([Array("SET".utf8), Array("k".utf8), Array("123456789".utf8)], limits: limits)
        #expect(tooLong == .failure(RESPError("ERR value of 9 bytes is over this node's limit of 8 bytes (value-bytes-max)")))
        let tooMany = KVCommands.parse(["DEL", "a", "b", "c"].map { Array($0.utf8) }, limits: limits)
        #expect(tooMany == .failure(RESPError("ERR DEL names 3 keys; this node accepts at most 2 per command (keys-per-command-max)")))
        let tooManyPairs = KVCommands.parse(["MSET", "a", "1", "b", "2", "c", "3"].map { Array($0.utf8) }, limits: limits)
        #expect(tooManyPairs == .failure(RESPError("ERR MSET names 3 keys; this node accepts at most 2 per command (keys-per-command-max)")))
        limits.writeBytesMax = 10
        let tooBig = KVCommands.parse(["MSET", "a", "12345", "b", "1234"].map { Array($0.utf8) }, limits: limits)
        #expect(tooBig == .failure(RESPError("ERR MSET of 11 bytes is over this node's limit of 10 bytes per write (write-bytes-max)")))
        let binary = KVCommands.parse([Array("SET".utf8), [0xFF, 0xFE], Array("v".utf8)])
        #expect(binary == .failure(RESPError("ERR key is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")))
    }

    @Test("EVAL, EVALSHA and SCRIPT parse as Redis reads them")
    func scripts() {
        let call = { (body: String, keys: [String], arguments: [String]) in
            ScriptCall(body: Array(body.utf8), keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) })
        }
        #expect(parse("EVAL", "return 1", "0") == .success(.kv(.eval(call("return 1", [], [])))))
        #expect(parse("eval", "s", "2", "k1", "k2", "a1") == .success(.kv(.eval(call("s", ["k1", "k2"], ["a1"])))))
        let sha = String(repeating: "AB", count: 20)
        #expect(parse("EVALSHA", sha, "1", "k", "a") == .success(.evalSHA(sha: sha.lowercased(), keys: [Array("k".utf8)], arguments: [Array("a".utf8)])))
        #expect(parse("SCRIPT", "load", "return 1") == .success(.kv(.scriptLoad(body: Array("return 1".utf8)))))
        #expect(parse("SCRIPT", "EXISTS", "AA", "bb") == .success(.kv(.scriptExists(["aa", "bb"]))))
        #expect(parse("SCRIPT", "FLUSH") == .success(.kv(.scriptFlush)))
        #expect(parse("SCRIPT", "flush", "async") == .success(.kv(.scriptFlush)))
    }

    @Test("bad EVAL and SCRIPT commands get Redis's errors")
    func badScripts() {
        #expect(error("EVAL", "return 1") == "ERR wrong number of arguments for 'eval' command")
        #expect(error("EVAL", "return 1", "x") == "ERR value is not an integer or out of range")
        #expect(error("EVAL", "return 1", "-1") == "ERR Number of keys can't be negative")
        #expect(error("EVAL", "return 1", "2", "k") == "ERR Number of keys can't be greater than number of args")
        #expect(error("EVALSHA", "abc", "0") == "NOSCRIPT No matching script. Please use EVAL.")
        #expect(error("EVAL", String(repeating: " ", count: 65_537), "0") == "ERR script of 65537 bytes is over the limit of 65536 bytes")
        #expect(error("SCRIPT") == "ERR wrong number of arguments for 'script' command")
        #expect(error("SCRIPT", "LOAD") == "ERR wrong number of arguments for 'script|load' command")
        #expect(error("SCRIPT", "FLUSH", "NOW") == "ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        #expect(error("SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now.")
        #expect(error("SCRIPT", "DEBUG", "YES") == "ERR unknown subcommand or wrong number of arguments for 'DEBUG'. Try SCRIPT HELP.")
    }

    @Test func resultsTakeRedisReplyShapes() {
        #expect(KVCommands.reply(to: .written(revision: 3)) == .simpleString("OK"))
        #expect(KVCommands.reply(to: .notSet) == .null)
        #expect(KVCommands.reply(to: .value("v")) == .bulk("v"))
        #expect(KVCommands.reply(to: .value(nil)) == .null)
        #expect(KVCommands.reply(to: .integer(-4)) == .integer(-4))
        #expect(KVCommands.reply(to: .count(2)) == .integer(2))
        #expect(KVCommands.reply(to: .rejected("value is not an integer or out of range"))
                == .error("ERR value is not an integer or out of range"))
        #expect(KVCommands.reply(to: .values(["a", nil])) == .array([.bulk("a"), .null]))
        #expect(KVCommands.reply(to: .keys(["a", "b"])) == .array([.bulk("a"), .bulk("b")]))
        #expect(KVCommands.reply(to: .scanPage(cursor: 17, keys: ["k"])) == .array([.bulk("17"), .array([.bulk("k")])]))
        #expect(KVCommands.reply(to: .integer(1_499), form: .seconds) == .integer(1), "TTL rounds as Redis: (ms + 500) / 1000")
        #expect(KVCommands.reply(to: .integer(1_500), form: .seconds) == .integer(2))
        #expect(KVCommands.reply(to: .integer(-2), form: .seconds) == .integer(-2))
        #expect(KVCommands.reply(to: .integer(-1), form: .seconds) == .integer(-1))
        #expect(KVCommands.reply(to: .script(.array([.status("OK"), .error("WRONGTYPE x"), .bulk([0, 255]), .null, .integer(3)])))
                == .array([.simpleString("OK"), .error("WRONGTYPE x"), .bulkString([0, 255]), .null, .integer(3)]))
    }
}
