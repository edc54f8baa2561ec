import ConclaveCore

/// Redis's argument syntax for the KV commands the store runs, shared by the client port (RESP) and
/// by scripts (`redis.call`), so that a command means the same, and is refused in the same words,
/// from both. Pure.
///
/// Keys and values are UTF-8 text (the store keeps `String`s): an argument that is not valid UTF-8
/// is refused with an error naming it, never stored altered. A value is at most
/// `Limits.valueBytesMax` bytes and a key `keyBytesMax`, well inside one WAL record and one Raft
/// message.
public enum KVCommandParser {
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

    /// How a result becomes a reply beyond its shape: `TTL` answers seconds where the store
    /// answers milliseconds (Redis rounds: (ms + 500) / 1000).
    public enum ReplyForm: Equatable, Sendable {
        case plain
        case seconds
    }

    /// A command and how its result is replied.
    public struct Parsed: Equatable, Sendable {
        public var command: KVCommand
        public var form: ReplyForm

        public init(_ command: KVCommand, form: ReplyForm = .plain) {
            self.command = command
            self.form = form
        }
    }

    /// Why arguments are not a command: the caller words the first two (a client and a script are
    /// told differently, as in Redis); `invalid` carries the whole error reply ("ERR …").
    public enum Refusal: Error, Equatable, Sendable {
        case unknownCommand
        case wrongArity
        case invalid(String)
    }

    /// The command `arguments` spell (`arguments[0]` is its name, any case).
    public static func parse(_ arguments: [[UInt8]], limits: Limits = Limits()) -> Result<Parsed, Refusal> {
        guard let first = arguments.first else { return .failure(.unknownCommand) }
        return parse(name: CommandName.uppercased(first), rest: Array(arguments.dropFirst()), limits: limits)
    }

    /// The same, for a caller that has the name (`CommandName.uppercased`) and the arguments
    /// after it already: they are not worked out again on the path every command takes.
    public static func parse(name: String, rest: [[UInt8]], limits: Limits = Limits()) -> Result<Parsed, Refusal> {
        do throws(Refusal) {
            if let command = try parseString(name, rest, limits) { return .success(Parsed(command)) }
            if let parsed = try parseKey(name, rest, limits) { return .success(parsed) }
            if let command = try parseKeyspace(name, rest, limits) { return .success(Parsed(command)) }
            throw .unknownCommand
        } catch {
            return .failure(error)
        }
    }

    /// GET, SET, GETSET, GETDEL, MGET, MSET and the INCR family; nil for another command.
    private static func parseString(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand? {
        switch name {
        case "GET":
            try arity(rest, 1)
            return .get(key: try key(rest[0], limits))
        case "SET":
            return try set(rest, limits)
        case "GETSET":
            try arity(rest, 2)
            let options = SetOptions(condition: .always, expiry: .clear, returnsOld: true)
            return .setWith(key: try key(rest[0], limits), value: try value(rest[1], limits), options: options)
        case "GETDEL":
            try arity(rest, 1)
            return .getDelete(key: try key(rest[0], limits))
        case "MGET":
            try atLeast(rest, 1, name, limits)
            return .getMany(try keys(rest, limits))
        case "MSET":
            guard !rest.isEmpty, rest.count % 2 == 0 else { throw .wrongArity }
            try within(rest.count / 2, name, limits)
            let bytes = rest.reduce(0) { $0 + $1.count }
            guard bytes <= limits.writeBytesMax else {
                throw .invalid("ERR MSET of \(bytes) bytes is over this node's limit of \(limits.writeBytesMax) bytes per write (write-bytes-max)")
            }
            var pairs: [KVPair] = []
            for index in stride(from: 0, to: rest.count, by: 2) {
                pairs.append(KVPair(key: try key(rest[index], limits), value: try value(rest[index + 1], limits)))
            }
            return .setMany(pairs)
        case "INCR", "DECR":
            try arity(rest, 1)
            return .increment(key: try key(rest[0], limits), by: name == "INCR" ? 1 : -1)
        case "INCRBY", "DECRBY":
            try arity(rest, 2)
            let amount = try integer(rest[1])
            if name == "DECRBY" && amount == .min { throw .invalid("ERR decrement would overflow") }
            return .increment(key: try key(rest[0], limits), by: name == "INCRBY" ? amount : -amount)
        default:
            return nil
        }
    }

    /// DEL, EXISTS, the EXPIRE family, TTL, PTTL and PERSIST; nil for another command.
    private static func parseKey(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> Parsed? {
        switch name {
        case "DEL", "UNLINK":
            try atLeast(rest, 1, name, limits)
            return Parsed(.deleteKeys(try keys(rest, limits)))
        case "EXISTS":
            try atLeast(rest, 1, name, limits)
            return Parsed(.exists(try keys(rest, limits)))
        case "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT":
            return Parsed(try expire(name, rest, limits))
        case "TTL", "PTTL":
            try arity(rest, 1)
            return Parsed(.timeToLive(key: try key(rest[0], limits)), form: name == "TTL" ? .seconds : .plain)
        case "PERSIST":
            try arity(rest, 1)
            return Parsed(.persist(key: try key(rest[0], limits)))
        default:
            return nil
        }
    }

    /// SCAN, KEYS, DBSIZE and FLUSHDB/FLUSHALL; nil for another command.
    private static func parseKeyspace(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand? {
        switch name {
        case "SCAN":
            return try scan(rest, limits)
        case "KEYS":
            try arity(rest, 1)
            return .keysMatching(pattern: try text(rest[0], what: "pattern", limit: limits.keyBytesMax, limitName: "key-bytes-max"))
        case "DBSIZE":
            try arity(rest, 0)
            return .keyCount
        case "FLUSHDB", "FLUSHALL":
            guard rest.count <= 1 else { throw .invalid("ERR syntax error") }
            if let mode = rest.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }), mode != "ASYNC", mode != "SYNC" {
                throw .invalid("ERR syntax error")
            }
            return .flush
        default:
            return nil
        }
    }

    // MARK: - Parsing pieces

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]. A plain TTL (or
    /// none) without GET stays the store's `set`; anything more is `setWith`.
    private static func set(_ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand {
        guard rest.count >= 2 else { throw .wrongArity }
        let key = try key(rest[0], limits)
        let value = try value(rest[1], limits)
        var options = SetOptions()
        var expirySet = false
        var index = 2
        while index < rest.count {
            let option = String(decoding: rest[index].prefix(16), as: UTF8.self).uppercased()
            switch option {
            case "NX", "XX":
                guard options.condition == .always else { throw .invalid("ERR syntax error") }
                options.condition = option == "NX" ? .ifAbsent : .ifPresent
                index += 1
            case "GET":
                options.returnsOld = true
                index += 1
            case "KEEPTTL":
                guard !expirySet else { throw .invalid("ERR syntax error") }
                expirySet = true
                options.expiry = .keep
                index += 1
            case "EX", "PX", "EXAT", "PXAT":
                guard !expirySet, index + 1 < rest.count else { throw .invalid("ERR syntax error") }
                expirySet = true
                let amount = try integer(rest[index + 1])
                let scale: Int64 = option.hasPrefix("EX") ? 1_000 : 1
                guard amount > 0, amount <= Int64.max / scale else { throw .invalid("ERR invalid expire time in 'set' command") }
                let millis = UInt64(amount * scale)
                options.expiry = option.hasSuffix("AT") ? .atMillis(millis) : .afterMillis(millis)
                index += 2
            default:
                throw .invalid("ERR syntax error (SET accepts NX, XX, GET, EX seconds, PX milliseconds, EXAT and PXAT "
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
    private static func expire(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand {
        guard rest.count >= 2 else { throw .wrongArity }
        let key = try key(rest[0], limits)
        let amount = try integer(rest[1])
        let (millis, overflow) = name.hasPrefix("P") ? (amount, false) : amount.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { throw .invalid("ERR invalid expire time in '\(name.lowercased())' command") }
        var condition = ExpireCondition.always
        for argument in rest.dropFirst(2) {
            let option = String(decoding: argument.prefix(16), as: UTF8.self).uppercased()
            let chosen: ExpireCondition
            switch option {
            case "NX": chosen = .ifNoTTL
            case "XX": chosen = .ifTTL
            case "GT": chosen = .ifLater
            case "LT": chosen = .ifEarlier
            default: throw .invalid("ERR Unsupported option \(String(decoding: argument.prefix(64), as: UTF8.self))")
            }
            guard condition == .always || condition == chosen else {
                let both = [condition, chosen].allSatisfy { $0 == .ifLater || $0 == .ifEarlier }
                throw .invalid(both ? "ERR GT and LT options at the same time are not compatible"
                                    : "ERR NX and XX, GT or LT options at the same time are not compatible")
            }
            condition = chosen
        }
        return .expire(key: key, at: name.hasSuffix("AT") ? .atMillis(millis) : .afterMillis(millis), condition: condition)
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE string]. COUNT above the store's bound is
    /// clamped there (it is a hint, in Redis too).
    private static func scan(_ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand {
        guard let first = rest.first else { throw .wrongArity }
        guard let cursor = UInt64(String(decoding: first.prefix(24), as: UTF8.self)), first.count <= 20 else {
            throw .invalid("ERR invalid cursor")
        }
        var pattern: String?
        var count = 10
        var index = 1
        while index < rest.count {
            let option = String(decoding: rest[index].prefix(16), as: UTF8.self).uppercased()
            guard index + 1 < rest.count else { throw .invalid("ERR syntax error") }
            let argument = rest[index + 1]
            switch option {
            case "MATCH":
                pattern = try text(argument, what: "pattern", limit: limits.keyBytesMax, limitName: "key-bytes-max")
            case "COUNT":
                let number = try integer(argument)
                guard number >= 1 else { throw .invalid("ERR syntax error") }
                count = Int(clamping: number)
            case "TYPE":
                let type = String(decoding: argument.prefix(64), as: UTF8.self).lowercased()
                guard type == "string" else {
                    throw .invalid("ERR SCAN TYPE '\(type)': a Conclave node holds strings only (TYPE string)")
                }
            default:
                throw .invalid("ERR syntax error")
            }
            index += 2
        }
        return .scan(cursor: cursor, pattern: pattern == "*" ? nil : pattern, count: count)
    }

    private static func keys(_ arguments: [[UInt8]], _ limits: Limits) throws(Refusal) -> [String] {
        try arguments.map { (argument) throws(Refusal) in try key(argument, limits) }
    }

    private static func value(_ bytes: [UInt8], _ limits: Limits) throws(Refusal) -> String {
        try text(bytes, what: "value", limit: limits.valueBytesMax, limitName: "value-bytes-max")
    }

    static func key(_ bytes: [UInt8], _ limits: Limits) throws(Refusal) -> String {
        try text(bytes, what: "key", limit: limits.keyBytesMax, limitName: "key-bytes-max")
    }

    private static func text(_ bytes: [UInt8], what: String, limit: Int, limitName: String) throws(Refusal) -> String {
        guard bytes.count <= limit else {
            throw .invalid("ERR \(what) of \(bytes.count) bytes is over this node's limit of \(limit) bytes (\(limitName))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalid("ERR \(what) is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")
        }
        return text
    }

    /// A signed 64-bit integer written as Redis accepts it (the store's own rules for INCR's values).
    public static func integer(_ bytes: [UInt8]) throws(Refusal) -> Int64 {
        guard let value = KVStateMachine.parseInteger(String(decoding: bytes, as: UTF8.self)) else {
            throw .invalid("ERR value is not an integer or out of range")
        }
        return value
    }

    private static func arity(_ rest: [[UInt8]], _ count: Int) throws(Refusal) {
        guard rest.count == count else { throw .wrongArity }
    }

    private static func atLeast(_ rest: [[UInt8]], _ count: Int, _ name: String, _ limits: Limits) throws(Refusal) {
        guard rest.count >= count else { throw .wrongArity }
        try within(rest.count, name, limits)
    }

    private static func within(_ keys: Int, _ name: String, _ limits: Limits) throws(Refusal) {
        guard keys <= limits.keysPerCommandMax else {
            throw .invalid("ERR \(name) names \(keys) keys; this node accepts at most \(limits.keysPerCommandMax) per command "
                + "(keys-per-command-max)")
        }
    }
}
