import ConclaveCoordination
import ConclaveWire

/// The key-value commands a node runs for RESP clients, parsed from a command's arguments into
/// what goes through the log (or a ReadIndex round), and answered in Redis's reply shapes, so that
/// redis-cli, redis-benchmark and client libraries work unchanged. Pure: no node, no socket.
///
/// Keys and values are UTF-8 text (the replicated store keeps `String`s): an argument that is not
/// valid UTF-8 is refused with an error naming it, never stored altered. A value is at most
/// `KVCommands.Limits.valueBytesMax` bytes and a key `keyBytesMax`, well inside one WAL record and
/// one Raft message.
public enum KVCommands {
    public struct Limits: Sendable, Equatable {
        public var keyBytesMax = 64 << 10
        public var valueBytesMax = 1 << 20
        /// Keys one DEL or EXISTS may name.
        public var keysPerCommandMax = 1_024

        public init() {}
    }

    /// What a client asked for.
    public enum Parsed: Equatable, Sendable {
        /// A command on the replicated store.
        case kv(KVCommand)
        /// INFO with the sections asked for (empty: the default ones).
        case info(sections: [String])
        /// DBSIZE: the number of keys (a read of this node's state).
        case dbSize
    }

    /// Parses a command (`arguments[0]` is its name). A failure is the error reply to send.
    public static func parse(_ arguments: [[UInt8]], limits: Limits = Limits()) -> Result<Parsed, RESPError> {
        guard let first = arguments.first else { return .failure(RESPError("ERR empty command")) }
        let name = String(decoding: first, as: UTF8.self).uppercased()
        let rest = Array(arguments.dropFirst())
        do throws(RESPError) {
            switch name {
            case "GET":
                try arity(rest, 1, name)
                return .success(.kv(.get(key: try key(rest[0], limits))))
            case "SET":
                return .success(.kv(try set(rest, limits)))
            case "DEL", "UNLINK":
                try atLeast(rest, 1, name, limits)
                return .success(.kv(.deleteKeys(try rest.map { (argument) throws(RESPError) in try key(argument, limits) })))
            case "EXISTS":
                try atLeast(rest, 1, name, limits)
                return .success(.kv(.exists(try rest.map { (argument) throws(RESPError) in try key(argument, limits) })))
            case "INCR", "DECR":
                try arity(rest, 1, name)
                return .success(.kv(.increment(key: try key(rest[0], limits), by: name == "INCR" ? 1 : -1)))
            case "INCRBY", "DECRBY":
                try arity(rest, 2, name)
                let amount = try integer(rest[1])
                if name == "DECRBY" && amount == .min { throw RESPError("ERR decrement would overflow") }
                return .success(.kv(.increment(key: try key(rest[0], limits), by: name == "INCRBY" ? amount : -amount)))
            case "INFO":
                return .success(.info(sections: rest.map { String(decoding: $0, as: UTF8.self).lowercased() }))
            case "DBSIZE":
                try arity(rest, 0, name)
                return .success(.dbSize)
            default:
                throw unknown(name: first, rest: rest)
            }
        } catch {
            return .failure(error)
        }
    }

    /// The reply to a KV command's result, as Redis shapes it.
    public static func reply(to result: KVResult) -> RESPValue {
        switch result {
        case .value(let value): return value.map { .bulk($0) } ?? .null
        case .written: return .simpleString("OK")
        case .notSet: return .null
        case .integer(let value): return .integer(value)
        case .count(let count): return .integer(Int64(count))
        case .swapped(let swapped): return .integer(swapped ? 1 : 0)
        case .rejected(let reason): return .error(reason.hasPrefix("ERR ") ? reason : "ERR \(reason)")
        case .values(let values): return .array(values.map { $0.map(RESPValue.bulk) ?? .null })
        case .keys(let keys): return .array(keys.map(RESPValue.bulk))
        case .scanPage(let cursor, let keys): return .array([.bulk(String(cursor)), .array(keys.map(RESPValue.bulk))])
        }
    }

    // MARK: - Parsing pieces

    /// SET key value [NX | XX] [EX seconds | PX milliseconds]
    private static func set(_ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> KVCommand {
        guard rest.count >= 2 else { throw arityError("set") }
        let key = try key(rest[0], limits)
        let value = try text(rest[1], what: "value", limit: limits.valueBytesMax, limitName: "value-bytes-max")
        var condition = SetCondition.always
        var ttlMillis: UInt64?
        var index = 2
        while index < rest.count {
            let option = String(decoding: rest[index], as: UTF8.self).uppercased()
            switch option {
            case "NX", "XX":
                guard condition == .always else { throw RESPError("ERR syntax error") }
                condition = option == "NX" ? .ifAbsent : .ifPresent
                index += 1
            case "EX", "PX":
                guard ttlMillis == nil, index + 1 < rest.count else { throw RESPError("ERR syntax error") }
                let amount = try integer(rest[index + 1])
                let scale: Int64 = option == "EX" ? 1_000 : 1
                guard amount > 0, amount <= Int64.max / scale else { throw RESPError("ERR invalid expire time in 'set' command") }
                ttlMillis = UInt64(amount * scale)
                index += 2
            default:
                throw RESPError("ERR syntax error (SET accepts NX, XX, EX seconds, PX milliseconds)")
            }
        }
        return .set(key: key, value: value, condition: condition, ttlMillis: ttlMillis)
    }

    private static func key(_ bytes: [UInt8], _ limits: Limits) throws(RESPError) -> String {
        try text(bytes, what: "key", limit: limits.keyBytesMax, limitName: "key-bytes-max")
    }

    private static func text(_ bytes: [UInt8], what: String, limit: Int, limitName: String) throws(RESPError) -> String {
        guard bytes.count <= limit else {
            throw RESPError("ERR \(what) of \(bytes.count) bytes is over this node's limit of \(limit) bytes (\(limitName))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RESPError("ERR \(what) is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")
        }
        return text
    }

    /// A signed 64-bit integer written as Redis accepts it (the store's own rules for INCR's values).
    static func integer(_ bytes: [UInt8]) throws(RESPError) -> Int64 {
        guard let value = KVStateMachine.parseInteger(String(decoding: bytes, as: UTF8.self)) else {
            throw RESPError("ERR value is not an integer or out of range")
        }
        return value
    }

    private static func arity(_ rest: [[UInt8]], _ count: Int, _ name: String) throws(RESPError) {
        guard rest.count == count else { throw arityError(name.lowercased()) }
    }

    private static func atLeast(_ rest: [[UInt8]], _ count: Int, _ name: String, _ limits: Limits) throws(RESPError) {
        guard rest.count >= count else { throw arityError(name.lowercased()) }
        guard rest.count <= limits.keysPerCommandMax else {
            throw RESPError("ERR \(name) names \(rest.count) keys; this node accepts at most \(limits.keysPerCommandMax) per command")
        }
    }

    private static func arityError(_ name: String) -> RESPError {
        RESPError("ERR wrong number of arguments for '\(name)' command")
    }

    /// Redis's wording, so that a client sees a familiar error: the name and the first arguments.
    private static func unknown(name: [UInt8], rest: [[UInt8]]) -> RESPError {
        let shown = rest.prefix(3).map { "'\(String(decoding: $0.prefix(128), as: UTF8.self))'" }.joined(separator: " ")
        return RESPError("ERR unknown command '\(String(decoding: name.prefix(128), as: UTF8.self))', with args beginning with: \(shown)")
    }
}

/// An error reply: the text after `-`, its code first (`ERR …`).
public struct RESPError: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var reply: RESPValue { .error(message) }
}
