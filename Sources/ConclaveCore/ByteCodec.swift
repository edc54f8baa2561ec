/// Little-endian binary writing and reading for log entries, snapshots and peer messages: compact,
/// allocation-light, and total — reading never traps, it returns nil on truncated or malformed input.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 32) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    /// Raw bytes, as they are (the caller writes their length first if the reader needs it).
    public mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            write(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// An optional string: a presence byte, then the string.
    public mutating func write(_ string: String?) {
        if let string {
            write(UInt8(1))
            write(string)
        } else {
            write(UInt8(0))
        }
    }
}

public struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position == bytes.count }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - position }

    /// The next `count` raw bytes, or nil if fewer remain.
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    public mutating func readByte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readUInt64() -> UInt64? { readInteger(UInt64.self) }

    public mutating func readUInt32() -> UInt32? { readInteger(UInt32.self) }

    private mutating func readInteger<Value: FixedWidthInteger>(_: Value.Type) -> Value? {
        let size = MemoryLayout<Value>.size
        guard bytes.count - position >= size else { return nil }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: Value.self) }
        position += size
        return Value(littleEndian: value)
    }

    public mutating func readString() -> String? {
        guard let length = readUInt32(), bytes.count - position >= Int(length) else { return nil }
        defer { position += Int(length) }
        return String(decoding: bytes[position..<position + Int(length)], as: UTF8.self)
    }

    /// Reads an optional string; the outer nil means malformed input.
    public mutating func readOptionalString() -> String?? {
        switch readByte() {
        case 0: return .some(nil)
        case 1: return readString().map { .some($0) }
        default: return nil
        }
    }
}
