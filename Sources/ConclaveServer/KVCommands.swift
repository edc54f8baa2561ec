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
        /// Keys one DEL, EXISTS, MGET or MSET may name.
        public var keysPerCommandMax = CoordinationLimits.kvKeysPerCommandMax
        /// Keys and values one MSET writes, in all: its entry must fit one WAL record (16 MiB)
        /// and one Raft message with room to spare.
        public var writeBytesMax = 4 << 20

        public init() {}
    }

    /// What a client asked for.
    public enum Parsed: Equatable, Sendable {
        /// A command on the replicated store, and how its result becomes the reply.
        case kv(KVCommand, reply: ReplyForm = .plain)
        /// INFO with the sections asked for (empty: the default ones).
        case info(sections: [String])
        /// CONFIG GET with its patterns (globs over parameter names).
        case configGet(patterns: [String])
    }

    /// How a result becomes a reply beyond its shape: `TTL` answers seconds where the store
    /// answers milliseconds (Redis rounds: (ms + 500) / 1000).
    public enum ReplyForm: Equatable, Sendable {
        case plain
        case seconds
    }

    /// Parses a command (`arguments[0]` is its name). A failure is the error reply to send.
    public static func parse(_ arguments: [[UInt8]], limits: Limits = Limits()) -> Result<Parsed, RESPError> {
        guard let first = arguments.first else { return .failure(RESPError("ERR empty command")) }
        let name = String(decoding: first.prefix(32), as: UTF8.self).uppercased()
        let rest = Array(arguments.dropFirst())
        do throws(RESPError) {
            if let parsed = try parseString(name, rest, limits) { return .success(parsed) }
            if let parsed = try parseKey(name, rest, limits) { return .success(parsed) }
            if let parsed = try parseServer(name, rest, limits) { return .success(parsed) }
            throw unknown(name: first, rest: rest)
        } catch {
            return .failure(error)
        }
    }

    /// GET, SET, GETSET, GETDEL, MGET, MSET and the INCR family; nil for another command.
    private static func parseString(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> Parsed? {
        switch name {
        case "GET":
            try arity(rest, 1, name)
            return .kv(.get(key: try key(rest[0], limits)))
        case "SET":
            return .kv(try set(rest, limits))
        case "GETSET":
            try arity(rest, 2, name)
            let options = SetOptions(condition: .always, expiry: .clear, returnsOld: true)
            return .kv(.setWith(key: try key(rest[0], limits), value: try value(rest[1], limits), options: options))
        case "GETDEL":
            try arity(rest, 1, name)
            return .kv(.getDelete(key: try key(rest[0], limits)))
        case "MGET":
            try atLeast(rest, 1, name, limits)
            return .kv(.getMany(try keys(rest, limits)))
        case "MSET":
            guard !rest.isEmpty, rest.count % 2 == 0 else { throw arityError("mset") }
            try within(rest.count / 2, name, limits)
            let bytes = rest.reduce(0) { $0 + $1.count }
            guard bytes <= limits.writeBytesMax else {
                throw RESPError("ERR MSET of \(bytes) bytes is over this node's limit of \(limits.writeBytesMax) bytes per write (write-bytes-max)")
            }
            var pairs: [KVPair] = []
            for index in stride(from: 0, to: rest.count, by: 2) {
                pairs.append(KVPair(key: try key(rest[index], limits), value: try value(rest[index + 1], limits)))
            }
            return .kv(.setMany(pairs))
        case "INCR", "DECR":
            try arity(rest, 1, name)
            return .kv(.increment(key: try key(rest[0], limits), by: name == "INCR" ? 1 : -1))
        case "INCRBY", "DECRBY":
            try arity(rest, 2, name)
            let amount = try integer(rest[1])
            if name == "DECRBY" && amount == .min { throw RESPError("ERR decrement would overflow") }
            return .kv(.increment(key: try key(rest[0], limits), by: name == "INCRBY" ? amount : -amount))
        default:
            return nil
        }
    }

    /// DEL, EXISTS, the EXPIRE family, TTL, PTTL and PERSIST; nil for another command.
    private static func parseKey(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> Parsed? {
        switch name {
        case "DEL", "UNLINK":
            try atLeast(rest, 1, name, limits)
            return .kv(.deleteKeys(try keys(rest, limits)))
        case "EXISTS":
            try atLeast(rest, 1, name, limits)
            return .kv(.exists(try keys(rest, limits)))
        case "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT":
            return .kv(try expire(name, rest, limits))
        case "TTL", "PTTL":
            try arity(rest, 1, name)
            return .kv(.timeToLive(key: try key(rest[0], limits)), reply: name == "TTL" ? .seconds : .plain)
        case "PERSIST":
            try arity(rest, 1, name)
            return .kv(.persist(key: try key(rest[0], limits)))
        default:
            return nil
        }
    }

    /// SCAN, KEYS, DBSIZE, FLUSHDB/FLUSHALL, INFO and CONFIG; nil for another command.
    private static func parseServer(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> Parsed? {
        switch name {
        case "SCAN":
            return .kv(try scan(rest, limits))
        case "KEYS":
            try arity(rest, 1, name)
            return .kv(.keysMatching(pattern: try text(rest[0], what: "pattern", limit: limits.keyBytesMax, limitName: "key-bytes-max")))
        case "DBSIZE":
            try arity(rest, 0, name)
            return .kv(.keyCount)
        case "FLUSHDB", "FLUSHALL":
            guard rest.count <= 1 else { throw RESPError("ERR syntax error") }
            if let mode = rest.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }), mode != "ASYNC", mode != "SYNC" {
                throw RESPError("ERR syntax error")
            }
            return .kv(.flush)
        case "INFO":
            return .info(sections: rest.map { String(decoding: $0, as: UTF8.self).lowercased() })
        case "CONFIG":
            let sub = rest.first.map { String(decoding: $0, as: UTF8.self).uppercased() }
            switch sub {
            case "GET":
                guard rest.count >= 2 else { throw arityError("config|get") }
                return .configGet(patterns: rest.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() })
            case "SET", "RESETSTAT", "REWRITE":
                throw RESPError("ERR CONFIG \(sub ?? "") is not supported: a Conclave node takes its settings from its flags and configuration file at start")
            default:
                throw RESPError("ERR unknown subcommand '\(String(decoding: (rest.first ?? []).prefix(64), as: UTF8.self))'. Try CONFIG HELP.")
            }
        default:
            return nil
        }
    }

    /// The reply to a KV command's result, as Redis shapes it.
    public static func reply(to result: KVResult, form: ReplyForm = .plain) -> RESPValue {
        switch result {
        case .value(let value): return value.map { .bulk($0) } ?? .null
        case .written: return .simpleString("OK")
        case .notSet: return .null
        case .integer(let value):
            guard form == .seconds, value >= 0 else { return .integer(value) }
            return .integer((value + 500) / 1_000)
        case .count(let count): return .integer(Int64(count))
        case .swapped(let swapped): return .integer(swapped ? 1 : 0)
        case .rejected(let reason): return .error(reason.hasPrefix("ERR ") ? reason : "ERR \(reason)")
        case .values(let values): return .array(values.map { $0.map(RESPValue.bulk) ?? .null })
        case .keys(let keys): return .array(keys.map(RESPValue.bulk))
        case .scanPage(let cursor, let keys): return .array([.bulk(String(cursor)), .array(keys.map(RESPValue.bulk))])
        }
    }

    // MARK: - Parsing pieces

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]. A plain TTL (or
    /// none) without GET stays the store's `set`; anything more is `setWith`.
    private static func set(_ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> KVCommand {
        guard rest.count >= 2 else { throw arityError("set") }
        let key = try key(rest[0], limits)
        let value = try value(rest[1], limits)
        var options = SetOptions()
        var expirySet = false
        var index = 2
        while index < rest.count {
            let option = String(decoding: rest[index].prefix(16), as: UTF8.self).uppercased()
            switch option {
            case "NX", "XX":
                guard options.condition == .always else { throw RESPError("ERR syntax error") }
                options.condition = option == "NX" ? .ifAbsent : .ifPresent
                index += 1
            case "GET":
                options.returnsOld = true
                index += 1
            case "KEEPTTL":
                guard !expirySet else { throw RESPError("ERR syntax error") }
                expirySet = true
                options.expiry = .keep
                index += 1
            case "EX", "PX", "EXAT", "PXAT":
                guard !expirySet, index + 1 < rest.count else { throw RESPError("ERR syntax error") }
                expirySet = true
                let amount = try integer(rest[index + 1])
                let scale: Int64 = option.hasPrefix("EX") ? 1_000 : 1
                guard amount > 0, amount <= Int64.max / scale else { throw RESPError("ERR invalid expire time in 'set' command") }
                let millis = UInt64(amount * scale)
                options.expiry = option.hasSuffix("AT") ? .atMillis(millis) : .afterMillis(millis)
                index += 2
            default:
                throw RESPError("ERR syntax error (SET accepts NX, XX, GET, EX seconds, PX milliseconds, EXAT and PXAT "
                    + "cluster time, KEEPTTL)")
            }
        }
        switch (options.expiry, options.returnsOld) {
        case (.clear, false): return .set(key: key, value: value, condition: options.condition, ttlMillis: nil)
        case (.afterMillis(let millis), false): return .set(key: key, value: value, condition: options.condition, ttlMillis: millis)
        default: return .setWith(key: key, value: value, options: options)
        }
    }

    /// EXPIRE key seconds [NX | XX | GT | LT], and PEXPIRE, EXPIREAT, PEXPIREAT (instants are
    /// cluster time). Redis's checks and words.
    private static func expire(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> KVCommand {
        guard rest.count >= 2 else { throw arityError(name.lowercased()) }
        let key = try key(rest[0], limits)
        let amount = try integer(rest[1])
        let (millis, overflow) = name.hasPrefix("P") ? (amount, false) : amount.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { throw RESPError("ERR invalid expire time in '\(name.lowercased())' command") }
        var condition = ExpireCondition.always
        for argument in rest.dropFirst(2) {
            let option = String(decoding: argument.prefix(16), as: UTF8.self).uppercased()
            let chosen: ExpireCondition
            switch option {
            case "NX": chosen = .ifNoTTL
            case "XX": chosen = .ifTTL
            case "GT": chosen = .ifLater
            case "LT": chosen = .ifEarlier
            default: throw RESPError("ERR Unsupported option \(String(decoding: argument.prefix(64), as: UTF8.self))")
            }
            guard condition == .always || condition == chosen else {
                let both = [condition, chosen].allSatisfy { $0 == .ifLater || $0 == .ifEarlier }
                throw RESPError(both ? "ERR GT and LT options at the same time are not compatible"
                                     : "ERR NX and XX, GT or LT options at the same time are not compatible")
            }
            condition = chosen
        }
        return .expire(key: key, at: name.hasSuffix("AT") ? .atMillis(millis) : .afterMillis(millis), condition: condition)
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE string]. COUNT above the store's bound is
    /// clamped there (it is a hint, in Redis too).
    private static func scan(_ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> KVCommand {
        guard let first = rest.first else { throw arityError("scan") }
        guard let cursor = UInt64(String(decoding: first.prefix(24), as: UTF8.self)), first.count <= 20 else {
            throw RESPError("ERR invalid cursor")
        }
        var pattern: String?
        var count = 10
        var index = 1
        while index < rest.count {
            let option = String(decoding: rest[index].prefix(16), as: UTF8.self).uppercased()
            guard index + 1 < rest.count else { throw RESPError("ERR syntax error") }
            let argument = rest[index + 1]
            switch option {
            case "MATCH":
                pattern = try text(argument, what: "pattern", limit: limits.keyBytesMax, limitName: "key-bytes-max")
            case "COUNT":
                let number = try integer(argument)
                guard number >= 1 else { throw RESPError("ERR syntax error") }
                count = Int(clamping: number)
            case "TYPE":
                let type = String(decoding: argument.prefix(64), as: UTF8.self).lowercased()
                guard type == "string" else {
                    throw RESPError("ERR SCAN TYPE '\(type)': a Conclave node holds strings only (TYPE string)")
                }
            default:
                throw RESPError("ERR syntax error")
            }
            index += 2
        }
        return .scan(cursor: cursor, pattern: pattern == "*" ? nil : pattern, count: count)
    }

    private static func keys(_ arguments: [[UInt8]], _ limits: Limits) throws(RESPError) -> [String] {
        try arguments.map { (argument) throws(RESPError) in try key(argument, limits) }
    }

    private static func value(_ bytes: [UInt8], _ limits: Limits) throws(RESPError) -> String {
        try text(bytes, what: "value", limit: limits.valueBytesMax, limitName: "value-bytes-max")
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
        try within(rest.count, name, limits)
    }

    private static func within(_ keys: Int, _ name: String, _ limits: Limits) throws(RESPError) {
        guard keys <= limits.keysPerCommandMax else {
            throw RESPError("ERR \(name) names \(keys) keys; this node accepts at most \(limits.keysPerCommandMax) per command "
                + "(keys-per-command-max)")
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
