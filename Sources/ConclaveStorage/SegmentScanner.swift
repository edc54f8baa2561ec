/// Reads the records of one WAL segment (held whole in memory) and decides how it ends. Recovery and
/// `conclave wal inspect` both read through here, so they judge every byte the same way.
///
/// The rules, at the first offset X where no valid frame starts:
/// 1. Only zeros (or nothing) from X on: the log ends at X. Fine in the last segment; a segment that
///    is not the last must instead have ended with a seal record.
/// 2. A valid frame somewhere after X: corruption at X — data after it was written (and may have
///    been acknowledged), so X cannot be a crash's unfinished last write.
/// 3. Not the last segment: corruption (a cut segment was fsync'ed whole before the next began).
/// 4. The frame at X is incomplete: it runs past the end of the file, its last byte (the end mark)
///    is zero, or the data stops inside its header. That is a torn tail — the write a crash
///    interrupted, cut at a sector by power loss or at any byte between two short writes, with
///    preallocated zeros or the end of the file after it — and the tail from X is truncated.
/// 5. Otherwise (a complete frame, its end mark in place, failing its checks): corruption. A bit
///    flip in the last record is damage to a record that may have been acknowledged, not a torn
///    write; truncating it would lose it silently.
///
/// Known limit: a torn write whose sectors reached the disk out of order (a later part of the same
/// unfinished write intact, an earlier part zeroed) is reported as corruption by rule 2 or 5 — the
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

    let file: String
    let sequence: UInt64
    let isLast: Bool
    let payloadBytesMax: Int

    /// Visits each record in order with its offset, decoded, then says how the segment ends. Throws
    /// `.corrupt` naming `file` and the offset; a visitor's `DecodeError` becomes one at its record.
    func scan(_ bytes: UnsafeRawBufferPointer,
              visit: (Int, WALRecord) throws(DecodeError) -> Void) throws(DurableStorageError) -> End {
        try scan(bytes) { (offset, type, payload) throws(DecodeError) in
            try visit(offset, try WALRecord.decodeReporting(type: type, payload: payload))
        }
    }

    /// The same with each record's payload as it lies in `bytes`, for a visitor that decodes in
    /// place (recovery appends entries straight into the log it rebuilds).
    func scan(_ bytes: UnsafeRawBufferPointer,
              visitPayload visit: (Int, RecordType, UnsafeRawBufferPointer) throws(DecodeError) -> Void) throws(DurableStorageError) -> End {
        var offset = FileHeader.bytes
        while true {
            switch RecordFrame.check(bytes, at: offset, seed: sequence, payloadBytesMax: payloadBytesMax) {
            case .success(let frame):
                let payload = UnsafeRawBufferPointer(rebasing: bytes[frame.payload])
                var next: UInt64?
                do throws(DecodeError) {
                    try visit(offset, frame.type, payload)
                    if frame.type == .seal, case .seal(let sequence) = try WALRecord.decodeReporting(type: .seal, payload: payload) {
                        next = sequence
                    }
                } catch {
                    throw .corrupt(file: file, offset: offset, reason: error.reason)
                }
                if let next {
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
        if problem.incomplete || (Self.lastNonZero(bytes) ?? offset) < offset + RecordFrame.headerBytes {
            return .torn(offset: offset, reason: problem.reason)
        }
        throw .corrupt(file: file, offset: offset,
                       reason: "\(problem.reason) in the last record, which is complete (its end mark in place): damage, not a torn write")
    }

    /// The first offset after `offset` (8-aligned) where a valid WAL frame starts. Most offsets fail
    /// on the header's type and reserved bytes before any CRC is computed.
    private func nextValidFrame(_ bytes: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        var candidate = offset + RecordFrame.alignment
        while candidate + RecordFrame.headerBytes <= bytes.count {
            defer { candidate += RecordFrame.alignment }
            guard (1...4).contains(bytes[candidate + 4]), bytes[candidate + 6] == 0, bytes[candidate + 7] == 0 else { continue }
            if case .success = RecordFrame.check(bytes, at: candidate, seed: sequence, payloadBytesMax: payloadBytesMax) {
                return candidate
            }
        }
        return nil
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

    /// The offset of the last non-zero byte, eight bytes at a time from the end.
    static func lastNonZero(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var end = bytes.count
        while end >= 8, bytes.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 { end -= 8 }
        return bytes[..<end].lastIndex { $0 != 0 }
    }
}
