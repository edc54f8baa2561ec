/// How one record sits in a file (WAL segment or snapshot file):
///
/// ```
/// offset     size  field
///      0        4  payload length L, little endian
///      4        1  record type
///      5        1  padding P: zero bytes after the payload, so that frames are 8-byte aligned
///      6        2  reserved, zero
///      8        L  payload
///    8+L        P  zeros
///  8+L+P        4  CRC-32C, little endian (see below)
/// 12+L+P        1  end mark 0xC5
/// ```
///
/// The CRC is per record, not chained: it covers the file's seed (a segment's sequence number), the
/// frame's own byte offset, the 8 header bytes and the payload. Why per record: a torn tail must be
/// told apart from corruption before it (a bad record followed by valid ones stops the node; a bad
/// last record from an unfinished write is truncated), which needs each record verifiable on its
/// own — with etcd's chained CRC, one bad record leaves every later one unverifiable. What the chain
/// buys etcd (a stale record from an older file or position cannot pass) the seed and offset buy
/// here: a record copied from another segment, or written at the wrong offset, fails its CRC. Replay
/// adds what a chain would catch on top: entries must continue the log without a gap.
///
/// Why the CRC and a non-zero mark come last: a write that stopped anywhere before the end of its
/// record — at a sector boundary by power loss, or at any byte between two short writes — leaves
/// the frame's last byte zero (preallocated space) or missing. A complete frame with its end mark
/// in place that fails its CRC is damage, not a torn write. (etcd and LevelDB put the CRC first and
/// must guess from zeroed sectors, which a short write need not leave.)
enum RecordFrame {
    static let headerBytes = 8
    /// CRC (4 bytes) and end mark (1).
    static let trailerBytes = 5
    static let endMark: UInt8 = 0xC5
    static let alignment = 8

    /// Bytes a record with `payloadBytes` of payload takes in the file.
    static func frameBytes(payloadBytes: Int) -> Int {
        (headerBytes + payloadBytes + trailerBytes + alignment - 1) / alignment * alignment
    }

    /// Appends a frame whose payload `encode` appends; the frame will sit at `fileOffset` of a file
    /// seeded with `seed`. Returns the frame's length.
    @discardableResult
    static func append(type: RecordType, seed: UInt64, fileOffset: Int, to buffer: inout [UInt8],
                       payload encode: (inout [UInt8]) -> Void) -> Int {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: headerBytes))
        encode(&buffer)
        let payloadBytes = buffer.count - start - headerBytes
        let padding = frameBytes(payloadBytes: payloadBytes) - headerBytes - payloadBytes - trailerBytes
        buffer.storeLittleEndian(UInt32(payloadBytes), at: start)
        buffer[start + 4] = type.rawValue
        buffer[start + 5] = UInt8(padding)
        let crc = buffer.withUnsafeBytes { bytes in
            checksum(seed: seed, offset: fileOffset, covered: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + headerBytes + payloadBytes)]))
        }
        buffer.append(contentsOf: repeatElement(0, count: padding))
        buffer.appendLittleEndian(crc)
        buffer.append(endMark)
        return buffer.count - start
    }

    static func checksum(seed: UInt64, offset: Int, covered: UnsafeRawBufferPointer) -> UInt32 {
        let position = (seed.littleEndian, UInt64(offset).littleEndian)
        let start = withUnsafeBytes(of: position) { CRC32C.checksum($0) }
        return CRC32C.checksum(covered, continuing: start)
    }

    /// A frame that checked out: its type, where its payload is, and where the next frame starts.
    struct Valid {
        var type: RecordType
        var payload: Range<Int>
        var end: Int
    }

    /// Why the bytes at an offset are not a valid frame. `incomplete`: the frame runs past the end of
    /// the bytes or its last byte is zero — its write was cut short.
    struct Problem: Error, Equatable {
        var reason: String
        var incomplete = false
    }

    /// Checks the frame at `offset` of `bytes` without copying it. `bytes` is the whole file, or
    /// part of it with the frame's position in the file given as `fileOffset` (the CRC covers it).
    static func check(_ bytes: UnsafeRawBufferPointer, at offset: Int, fileOffset: Int? = nil, seed: UInt64,
                      payloadBytesMax: Int) -> Result<Valid, Problem> {
        guard bytes.count - offset >= headerBytes else {
            return .failure(Problem(reason: "only \(bytes.count - offset) bytes where a frame header belongs", incomplete: true))
        }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let typeByte = bytes[offset + 4]
        let padding = Int(bytes[offset + 5])
        let reserved = bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)
        guard let type = RecordType(rawValue: typeByte) else { return .failure(Problem(reason: "unknown record type \(typeByte)")) }
        guard length <= payloadBytesMax else {
            return .failure(Problem(reason: "record length \(length) exceeds the limit of \(payloadBytesMax) bytes"))
        }
        let total = frameBytes(payloadBytes: length)
        guard reserved == 0, padding == total - headerBytes - length - trailerBytes else {
            return .failure(Problem(reason: "malformed frame header (padding \(padding), reserved \(reserved))"))
        }
        guard bytes.count - offset >= total else {
            return .failure(Problem(reason: "\(type.described) of \(length) bytes runs past the end of the file", incomplete: true))
        }
        let payloadEnd = offset + headerBytes + length
        let mark = bytes[offset + total - 1]
        guard mark == endMark else {
            return .failure(mark == 0
                ? Problem(reason: "\(type.described) of \(length) bytes ends in a zero byte: its write never finished", incomplete: true)
                : Problem(reason: "\(type.described) has a bad end mark \(mark)"))
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + total - trailerBytes, as: UInt32.self))
        let computed = checksum(seed: seed, offset: fileOffset ?? offset, covered: UnsafeRawBufferPointer(rebasing: bytes[offset..<payloadEnd]))
        guard computed == stored else {
            return .failure(Problem(reason: "CRC mismatch in \(type.described) (stored \(hex(stored)), computed \(hex(computed)))"))
        }
        guard bytes[payloadEnd..<(offset + total - trailerBytes)].allSatisfy({ $0 == 0 }) else {
            return .failure(Problem(reason: "non-zero padding after \(type.described)"))
        }
        return .success(Valid(type: type, payload: (offset + headerBytes)..<payloadEnd, end: offset + total))
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
