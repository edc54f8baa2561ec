/// Little-endian appends onto a byte array: the one encoding every on-disk structure uses.
extension Array where Element == UInt8 {
    @inlinable mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites `size(Value)` bytes at `position` (a field reserved earlier, filled in later).
    @inlinable mutating func storeLittleEndian<Value: FixedWidthInteger>(_ value: Value, at position: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: position, as: Value.self) }
    }
}

/// Why bytes could not be decoded: a short buffer or a field out of range. Carries no offset; the
/// caller knows which record it was decoding and says where.
struct DecodeError: Error, Equatable {
    let reason: String
}

/// A bounds-checked little-endian cursor over bytes it does not own. Every read checks the remaining
/// length before it touches memory or allocates (Redis's habit: bound the parser before it
/// allocates), so a corrupt length can make a decode fail but never read out of bounds.
///
/// Not ConclaveCore's `ByteReader`: that one owns an array and answers nil; recovery decodes in
/// place from a whole segment held in one buffer (no copy per record) and must say what was wrong.
struct BufferReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position == bytes.count }

    mutating func read<Value: FixedWidthInteger>(_: Value.Type, _ field: StaticString) throws(DecodeError) -> Value {
        let size = MemoryLayout<Value>.size
        guard remaining >= size else { throw DecodeError(reason: "\(field): needs \(size) bytes, \(remaining) left") }
        let value = Value(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: Value.self))
        position += size
        return value
    }

    mutating func readBytes(_ count: Int, _ field: StaticString) throws(DecodeError) -> [UInt8] {
        guard count >= 0, remaining >= count else {
            throw DecodeError(reason: "\(field): \(count) bytes claimed, \(remaining) left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        position += count
        return [UInt8](slice)
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the body's typed error (the standard one rethrows `any Error`).
    func withBytes<Result, Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Result) throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = withUnsafeBytes { bytes in Swift.Result { () throws(Failure) in try body(bytes) } }
        return try outcome.get()
    }

    /// `withUnsafeMutableBytes` that keeps the body's typed error.
    mutating func withMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = withUnsafeMutableBytes { bytes in Swift.Result { () throws(Failure) in try body(bytes) } }
        return try outcome.get()
    }
}
