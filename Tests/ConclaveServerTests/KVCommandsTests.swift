import ConclaveCoordination
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
        #expect(parse("DBSIZE") == .success(.dbSize))
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
        #expect(error("SET", "k", "v", "KEEPTTL")?.hasPrefix("ERR syntax error") == true)
        #expect(error("INCRBY", "n", "1.5") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", "+1") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", " 1") == "ERR value is not an integer or out of range")
        #expect(error("INCRBY", "n", "9223372036854775808") == "ERR value is not an integer or out of range")
        #expect(error("DECRBY", "n", "-9223372036854775808") == "ERR decrement would overflow")
        #expect(error("DBSIZE", "x") == "ERR wrong number of arguments for 'dbsize' command")
        #expect(error("FLUSHALL", "ASYNC") == "ERR unknown command 'FLUSHALL', with args beginning with: 'ASYNC'")
    }

    @Test func limitsAreStatedInTheError() {
        var limits = KVCommands.Limits()
        limits.valueBytesMax = 8
        limits.keysPerCommandMax = 2
        let tooLong = KVCommands.parse([Array("SET".utf8), Array("k".utf8), Array("123456789".utf8)], limits: limits)
        #expect(tooLong == .failure(RESPError("ERR value of 9 bytes is over this node's limit of 8 bytes (value-bytes-max)")))
        let tooMany = KVCommands.parse(["DEL", "a", "b", "c"].map { Array($0.utf8) }, limits: limits)
        #expect(tooMany == .failure(RESPError("ERR DEL names 3 keys; this node accepts at most 2 per command")))
        let binary = KVCommands.parse([Array("SET".utf8), [0xFF, 0xFE], Array("v".utf8)])
        #expect(binary == .failure(RESPError("ERR key is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")))
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
    }
}
