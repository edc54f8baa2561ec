/// Reads the records of one WAL segment (held whole in memory) and decides how it ends. Recovery and
/// `conclave wal inspect` both read through here, so they judge every byte the same way.
///
/// The rules, at the first offset X where no valid frame starts:
/// 1. Only zeros (or nothing) from X on: the log ends at X. Fine in the last segment; a segment that
///    is not the last must instead have ended with a seal record.
/// 2. A valid frame somewhere after X: corruption at X — data after it was written (and may have
///    been acknowledged), so X cannot be a crash's unfinished last write.
/// 3. Not the last segment: corruption (a cut segment was fsync'ed whole before the next began).
/// 4. The frame at X is incomplete (runs past the end of the file), or one of its 512-byte disk
///    sectors reads all zeros: a torn tail, the write a crash interrupted. Sectors are written
///    atomically, so an unfinished write leaves whole sectors of zeros (preallocated space or a
///    file cut short), and the tail from X is truncated.
/// 5. Otherwise (a complete record, no zeroed sector, bad CRC): corruption. A bit flip in the last
///    record is damage to a record that may have been acknowledged, not a torn write; truncating it
///    would lose it silently.
///
/// Known limit: a torn write whose sectors reached the disk out of order (a later record of the
/// same unfinished write intact, an earlier one zeroed) is reported as corruption by rule 2 — the
/// node stops rather than guess, which loses nothing.
struct SegmentScanner {
    /// The result of a scan that found no corruption.
    enum End: Equatable {
        /// The last record ends at `dataEnd`; zeros or the end of the file follow.
        case open(dataEnd: Int)
        /// A seal record ends at `dataEnd`; only zeros follow.
        case sealed(dataEnd: Int, nextSequence: UInt64)
        /// From `offset` on, the file holds a torn write (last segment only).
        case torn(offset: Int, reason: String)

        var dataEnd: Int {
            switch self {
            case .open(let end), .sealed(let end, _): return end
            case .torn(let offset, _): return offset
            }
        }
    }

    static let sectorBytes = 512

    let file: String
    let sequence: UInt64
    let isLast: Bool
    let payloadBytesMax: Int

    /// Visits each record in order with its offset, then says how the segment ends. Throws
    /// `.corrupt` naming `file` and the offset; a visitor's `DecodeError` becomes one at its record.
    func scan(_ bytes: UnsafeRawBufferPointer,
              visit: (Int, WALRecord) throws(DecodeError) -> Void) throws(DurableStorageError) -> End {
        var offset = FileHeader.bytes
        while true {
            switch RecordFrame.check(bytes, at: offset, seed: sequence, payloadBytesMax: payloadBytesMax) {
            case .success(let frame):
                let record: WALRecord
                do throws(DecodeError) {
                    record = try WALRecord.decode(type: frame.type, payload: UnsafeRawBufferPointer(rebasing: bytes[frame.payload]))
                } catch {
                    throw .corrupt(file: file, offset: offset, reason: "malformed \(frame.type.name) record: \(error.reason)")
                }
                do throws(DecodeError) {
                    try visit(offset, record)
                } catch {
                    throw .corrupt(file: file, offset: offset, reason: error.reason)
                }
                if case .seal(let next) = record {
                    if let stray = Self.firstNonZero(bytes, from: frame.end) {
                        throw .corrupt(file: file, offset: stray, reason: "data after the seal record at byte \(offset)")
                    }
                    return .sealed(dataEnd: frame.end, nextSequence: next)
                }
                offset = frame.end
            case .failure(let problem):
                return try classify(bytes, at: offset, problem)
            }
        }
    }

    private func classify(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ problem: RecordFrame.Problem) throws(DurableStorageError) -> End {
        guard Self.firstNonZero(bytes, from: offset) != nil else {
            guard isLast else {
                throw .corrupt(file: file, offset: offset, reason: "the segment ends without a seal record, yet a later segment exists")
            }
            return .open(dataEnd: offset)
        }
        if let later = nextValidFrame(bytes, after: offset) {
            throw .corrupt(file: file, offset: offset, reason: "\(problem.reason); a valid record follows at byte \(later)")
        }
        guard isLast else { throw .corrupt(file: file, offset: offset, reason: "\(problem.reason) (in a segment that is not the last)") }
        if problem.incomplete || hasZeroedSector(bytes, frameAt: offset) {
            return .torn(offset: offset, reason: problem.reason)
        }
        throw .corrupt(file: file, offset: offset,
                       reason: "\(problem.reason) in the last record, which is complete with no zeroed sector: damage, not a torn write")
    }

    /// The first offset after `offset` (8-aligned) where a valid WAL frame starts. Most offsets fail
    /// on the header's type, reserved and padding bytes before any CRC is computed.
    private func nextValidFrame(_ bytes: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        var candidate = offset + RecordFrame.alignment
        while candidate + RecordFrame.headerBytes <= bytes.count {
            defer { candidate += RecordFrame.alignment }
            guard (1...4).contains(bytes[candidate + 8]), bytes[candidate + 10] == 0, bytes[candidate + 11] == 0 else { continue }
            if case .success = RecordFrame.check(bytes, at: candidate, seed: sequence, payloadBytesMax: payloadBytesMax) {
                return candidate
            }
        }
        return nil
    }

    /// Whether any 512-byte sector (at file offsets multiple of 512) that the frame at `offset`
    /// covers holds only zeros in the frame's part of it. When the header's length cannot be trusted,
    /// the frame is taken to run to the last non-zero byte.
    private func hasZeroedSector(_ bytes: UnsafeRawBufferPointer, frameAt offset: Int) -> Bool {
        var end = bytes.count
        if bytes.count - offset >= RecordFrame.headerBytes {
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
            if RecordType(rawValue: bytes[offset + 8]) != nil, length <= payloadBytesMax {
                end = min(end, offset + RecordFrame.frameBytes(payloadBytes: length))
            }
        }
        if end == bytes.count { end = (Self.lastNonZero(bytes) ?? offset) + 1 }
        var start = offset
        while start < end {
            let sectorEnd = min(end, (start / Self.sectorBytes + 1) * Self.sectorBytes)
            if bytes[start..<sectorEnd].allSatisfy({ $0 == 0 }) { return true }
            start = sectorEnd
        }
        return false
    }

    /// The offset of the first non-zero byte at or after `offset`, eight bytes at a time.
    static func firstNonZero(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        var position = offset
        while position + 8 <= bytes.count, bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self) == 0 { position += 8 }
        while position < bytes.count {
            if bytes[position] != 0 { return position }
            position += 1
        }
        return nil
    }

    static func lastNonZero(_ bytes: UnsafeRawBufferPointer) -> Int? {
        bytes.lastIndex { $0 != 0 }
    }
}
