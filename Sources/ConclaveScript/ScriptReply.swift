/// A command's reply as a script sees it, and a script's own reply: the RESP2 shapes Redis converts
/// between Lua and the protocol ("Conversion between Lua and Redis data types" in Redis's docs).
///
/// Into Lua: `.integer` → number, `.bulk` → string, `.null` → false, `.array` → table,
/// `.status` → `{ok = text}`, `.error` → `{err = text}` (redis.call raises it instead).
/// Out of Lua: string → `.bulk`, number → `.integer` (truncated), true → `.integer(1)`,
/// false/nil → `.null`, `{err = …}` → `.error`, `{ok = …}` → `.status`, any other table → `.array`
/// of its elements 1, 2, … up to the first nil.
public enum ScriptReply: Equatable, Sendable {
    case status(String)
    /// An error reply's text, its code first ("ERR …", "WRONGTYPE …").
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([ScriptReply])
    /// A nil bulk string or nil array.
    case null

    /// A bulk string from text.
    public static func bulk(_ text: String) -> ScriptReply { .bulk(Array(text.utf8)) }
}

extension ScriptReply {
    /// The bridge's encoding (CLuaBridge.h): a tag byte, then an `Int64`, a `UInt64` length and
    /// bytes, or a `UInt64` count and elements; little-endian. Also how a reply is kept in snapshots.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Decodes `encoded()` bytes; nil unless they are exactly one well-formed reply.
    public init?(encoded bytes: [UInt8]) {
        let decoded = bytes.withUnsafeBytes { buffer -> ScriptReply? in
            var offset = 0
            let reply = Self.decode(buffer, at: &offset)
            return offset == buffer.count ? reply : nil
        }
        guard let decoded else { return nil }
        self = decoded
    }

    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .integer(let value): bytes.append(UInt8(ascii: "I")); bytes.appendLittleEndian(UInt64(bitPattern: value))
        case .bulk(let payload): bytes.appendTagged("B", payload)
        case .status(let text): bytes.appendTagged("S", Array(text.utf8))
        case .error(let text): bytes.appendTagged("E", Array(text.utf8))
        case .null: bytes.append(UInt8(ascii: "N"))
        case .array(let elements):
            bytes.append(UInt8(ascii: "A"))
            bytes.appendLittleEndian(UInt64(elements.count))
            for element in elements { element.encode(into: &bytes) }
        }
    }

    /// Decodes one reply from `bytes` at `offset`, advancing it; nil if malformed or nested deeper
    /// than `depthMax`.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, depthMax: Int = 64) -> ScriptReply? {
        guard depthMax >= 0, offset < bytes.count else { return nil }
        let tag = bytes[offset]
        offset += 1
        switch tag {
        case UInt8(ascii: "I"):
            return readUInt64(bytes, &offset).map { .integer(Int64(bitPattern: $0)) }
        case UInt8(ascii: "N"):
            return .null
        case UInt8(ascii: "B"), UInt8(ascii: "S"), UInt8(ascii: "E"):
            guard let length = readUInt64(bytes, &offset), length <= UInt64(bytes.count - offset) else { return nil }
            let payload = Array(bytes[offset..<offset + Int(length)])
            offset += Int(length)
            switch tag {
            case UInt8(ascii: "B"): return .bulk(payload)
            case UInt8(ascii: "S"): return .status(String(decoding: payload, as: UTF8.self))
            default: return .error(String(decoding: payload, as: UTF8.self))
            }
        case UInt8(ascii: "A"):
            // Each element takes at least one byte: a count the bytes cannot hold is refused first.
            guard let count = readUInt64(bytes, &offset), count <= UInt64(bytes.count - offset) else { return nil }
            var elements: [ScriptReply] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let element = decode(bytes, at: &offset, depthMax: depthMax - 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            return nil
        }
    }

    private static func readUInt64(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension [UInt8] {
    fileprivate mutating func appendLittleEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendTagged(_ tag: Unicode.Scalar, _ payload: [UInt8]) {
        append(UInt8(ascii: tag))
        appendLittleEndian(UInt64(payload.count))
        append(contentsOf: payload)
    }
}
