/// A value of the Redis serialization protocol, RESP2 and the RESP3 types clients ask for with
/// `HELLO 3`. Bulk data stays bytes: keys and values are binary-safe, as in Redis.
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    /// An error reply: the text after `-`, prefix included (`ERR …`, `WRONGTYPE …`, `NOAUTH …`).
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case array([RESPValue])
    /// RESP2's null bulk string / null array, RESP3's `_`.
    case null
    // RESP3 only (a RESP2 encoder writes the nearest RESP2 shape).
    case double(Double)
    case boolean(Bool)
    case map([(RESPValue, RESPValue)])
    case set([RESPValue])
    case push([RESPValue])
    case verbatim(format: String, text: String)

    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    public static func == (left: RESPValue, right: RESPValue) -> Bool {
        switch (left, right) {
        case (.simpleString(let a), .simpleString(let b)), (.error(let a), .error(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)): return a == b
        case (.null, .null): return true
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.verbatim(let f1, let t1), .verbatim(let f2, let t2)): return f1 == f2 && t1 == t2
        default: return false
        }
    }

    /// The bytes of a bulk or simple string, for reading a command's arguments.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }
}

/// The protocol version a connection speaks (`HELLO 2` / `HELLO 3`).
public enum RESPVersion: Int, Sendable {
    case resp2 = 2
    case resp3 = 3
}
