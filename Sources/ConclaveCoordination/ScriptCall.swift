import ConclaveCore
import ConclaveScript

/// What an EVAL carries through the log: the script's body (EVALSHA's too, looked up by the node that
/// received it, so every replica runs the same text whatever its cache holds), KEYS and ARGV. Keys
/// and arguments are bytes, as Redis passes them; a key a script hands to `redis.call` must be UTF-8
/// like every key of the store.
public struct ScriptCall: Equatable, Sendable {
    public var body: [UInt8]
    public var keys: [[UInt8]]
    public var arguments: [[UInt8]]

    public init(body: [UInt8], keys: [[UInt8]], arguments: [[UInt8]]) {
        self.body = body
        self.keys = keys
        self.arguments = arguments
    }

    func encode(into writer: inout ByteWriter) {
        writer.writeBytes(body)
        for list in [keys, arguments] {
            writer.write(UInt64(list.count))
            for item in list { writer.writeBytes(item) }
        }
    }

    /// Nil unless well formed and within `CoordinationLimits`: a body of at most the script cache's
    /// `scriptBytesMax`, at most `scriptArgumentsMax` keys and as many arguments.
    init?(decoding reader: inout ByteReader) {
        guard let body = reader.readBytesWithLength(), body.count <= CoordinationLimits.scriptCache.scriptBytesMax else {
            return nil
        }
        var lists: [[[UInt8]]] = []
        for _ in 0..<2 {
            guard let count = reader.readCount(of: 4), count <= CoordinationLimits.scriptArgumentsMax else { return nil }
            var list: [[UInt8]] = []
            list.reserveCapacity(count)
            for _ in 0..<count {
                guard let item = reader.readBytesWithLength() else { return nil }
                list.append(item)
            }
            lists.append(list)
        }
        self.init(body: body, keys: lists[0], arguments: lists[1])
    }
}

extension CoordinationLimits {
    /// What one script may use. Part of the state machine's definition: every replica runs with
    /// these values, never a node's own.
    public static let scriptLimits = ScriptLimits()
    /// The replicated script cache's bounds (bodies ≤ 64 KiB, 10,000 scripts, 16 MiB, 500 EVAL'd).
    public static let scriptCache = ScriptCache.Limits()
    /// KEYS one EVAL may pass, and ARGV as many.
    public static let scriptArgumentsMax = 1024
    /// A script's reply kept for a retry of the same request: larger replies are kept as an error
    /// saying so (a client's retry after a lost answer gets that instead of the reply).
    public static let scriptReplyKeptBytesMax = 64 << 10
}

extension ByteWriter {
    /// Bytes with their length first (a `UInt32`).
    mutating func writeBytes(_ bytes: [UInt8]) {
        write(UInt32(bytes.count))
        append(bytes)
    }
}

extension ByteReader {
    /// What `writeBytes` wrote; nil if truncated.
    mutating func readBytesWithLength() -> [UInt8]? {
        guard let length = readUInt32() else { return nil }
        return readBytes(Int(length))
    }
}
