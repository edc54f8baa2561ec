/// Redis's argument syntax for the KV commands the store runs, shared by the client port (RESP) and
/// by scripts (`redis.call`), so that a command means the same, and is refused in the same words,
/// from both. Pure.
///
/// Keys and values are UTF-8 text (the store keeps `String`s): an argument that is not valid UTF-8
/// is refused with an error naming it, never stored altered.
public enum KVCommandParser {
    public struct Limits: Sendable, Equatable {
        public var keyBytesMax = 64 << 10
        public var valueBytesMax = 1 << 20
        /// Keys one DEL or EXISTS may name.
        public var keysPerCommandMax = CoordinationLimits.kvKeysPerCommandMax

        public init() {}
    }

    /// Why arguments are not a command: the caller words the first two (a client and a script are
    /// told differently, as in Redis); `invalid` carries the whole error reply ("ERR …").
    public enum Refusal: Error, Equatable, Sendable {
        case unknownCommand
        case wrongArity
        case invalid(String)
    }

    /// The command `arguments` spell (`arguments[0]` is its name, any case).
    public static func parse(_ arguments: [[UInt8]], limits: Limits = Limits()) -> Result<KVCommand, Refusal> {
        guard let first = arguments.first else { return .failure(.unknownCommand) }
        let name = String(decoding: first, as: UTF8.self).uppercased()
        let rest = Array(arguments.dropFirst())
        do throws(Refusal) {
            switch name {
            case "GET":
                try arity(rest, 1)
                return .success(.get(key: try key(rest[0], limits)))
            case "SET":
                return .success(try set(rest, limits))
            case "DEL", "UNLINK":
                try atLeast(rest, 1, name, limits)
                return .success(.deleteKeys(try rest.map { (argument) throws(Refusal) in try key(argument, limits) }))
            case "EXISTS":
                try atLeast(rest, 1, name, limits)
                return .success(.exists(try rest.map { (argument) throws(Refusal) in try key(argument, limits) }))
            case "INCR", "DECR":
                try arity(rest, 1)
                return .success(.increment(key: try key(rest[0], limits), by: name == "INCR" ? 1 : -1))
            case "INCRBY", "DECRBY":
                try arity(rest, 2)
                let amount = try integer(rest[1])
                if name == "DECRBY" && amount == .min { throw .invalid("ERR decrement would overflow") }
                return .success(.increment(key: try key(rest[0], limits), by: name == "INCRBY" ? amount : -amount))
            default:
                throw .unknownCommand
            }
        } catch {
            return .failure(error)
        }
    }

    /// A signed 64-bit integer written as Redis accepts it (the store's own rules for INCR's values).
    public static func integer(_ bytes: [UInt8]) throws(Refusal) -> Int64 {
        guard let value = KVStateMachine.parseInteger(String(decoding: bytes, as: UTF8.self)) else {
            throw .invalid("ERR value is not an integer or out of range")
        }
        return value
    }

    /// SET key value [NX | XX] [EX seconds | PX milliseconds]
    private static func set(_ rest: [[UInt8]], _ limits: Limits) throws(Refusal) -> KVCommand {
        guard rest.count >= 2 else { throw .wrongArity }
        let key = try key(rest[0], limits)
        let value = try text(rest[1], what: "value", limit: limits.valueBytesMax, limitName: "value-bytes-max")
        var condition = SetCondition.always
        var ttlMillis: UInt64?
        var index = 2
        while index < rest.count {
            let option = String(decoding: rest[index], as: UTF8.self).uppercased()
            switch option {
            case "NX", "XX":
                guard condition == .always else { throw .invalid("ERR syntax error") }
                condition = option == "NX" ? .ifAbsent : .ifPresent
                index += 1
            case "EX", "PX":
                guard ttlMillis == nil, index + 1 < rest.count else { throw .invalid("ERR syntax error") }
                let amount = try integer(rest[index + 1])
                let scale: Int64 = option == "EX" ? 1_000 : 1
                guard amount > 0, amount <= Int64.max / scale else { throw .invalid("ERR invalid expire time in 'set' command") }
                ttlMillis = UInt64(amount * scale)
                index += 2
            default:
                throw .invalid("ERR syntax error (SET accepts NX, XX, EX seconds, PX milliseconds)")
            }
        }
        return .set(key: key, value: value, condition: condition, ttlMillis: ttlMillis)
    }

    static func key(_ bytes: [UInt8], _ limits: Limits) throws(Refusal) -> String {
        try text(bytes, what: "key", limit: limits.keyBytesMax, limitName: "key-bytes-max")
    }

    private static func text(_ bytes: [UInt8], what: String, limit: Int, limitName: String) throws(Refusal) -> String {
        guard bytes.count <= limit else {
            throw .invalid("ERR \(what) of \(bytes.count) bytes is over the limit of \(limit) bytes (\(limitName))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalid("ERR \(what) is not valid UTF-8: a Conclave node stores keys and values as UTF-8 text")
        }
        return text
    }

    private static func arity(_ rest: [[UInt8]], _ count: Int) throws(Refusal) {
        guard rest.count == count else { throw .wrongArity }
    }

    private static func atLeast(_ rest: [[UInt8]], _ count: Int, _ name: String, _ limits: Limits) throws(Refusal) {
        guard rest.count >= count else { throw .wrongArity }
        guard rest.count <= limits.keysPerCommandMax else {
            throw .invalid("ERR \(name) names \(rest.count) keys; at most \(limits.keysPerCommandMax) per command are accepted")
        }
    }
}
