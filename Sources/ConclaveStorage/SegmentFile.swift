/// Segment files on disk: their names (`<sequence as 16 hex digits>.wal`, so names sort in log
/// order), the listing of a WAL directory, and reading one segment through the scanner.
enum SegmentFile {
    static let suffix = ".wal"
    static let temporarySuffix = ".tmp"

    static func name(sequence: UInt64) -> String { hex16(sequence) + suffix }

    static func sequence(fromName name: String) -> UInt64? {
        guard name.hasSuffix(suffix) else { return nil }
        let digits = name.dropLast(suffix.count)
        guard digits.count == 16 else { return nil }
        return UInt64(digits, radix: 16)
    }

    /// The segments in `directory`, in sequence order, checked to be consecutive (a missing one in
    /// the middle is corruption: its entries are gone).
    static func list(in directory: String, fileSystem: any FileSystem) throws(DurableStorageError) -> [(sequence: UInt64, path: String)] {
        let names: [String]
        do throws(FileSystemError) { names = try fileSystem.list(directory) } catch { throw .io(error) }
        let segments = names.compactMap { name in sequence(fromName: name).map { (sequence: $0, path: joinPath(directory, name)) } }
            .sorted { $0.sequence < $1.sequence }
        for (previous, next) in zip(segments, segments.dropFirst()) where next.sequence != previous.sequence + 1 {
            throw .corrupt(file: next.path, offset: 0,
                           reason: "segment \(previous.sequence + 1) is missing between \(previous.path) and this one")
        }
        return segments
    }

    /// Reads the segment at `path` into `buffer` (reused between segments) and scans it, visiting
    /// each record decoded; with an `expected` identity, a segment of another cluster or node is
    /// refused before it is scanned.
    static func read(_ path: String, sequence: UInt64, isLast: Bool, expected: StorageIdentity?,
                     fileSystem: any FileSystem, options: WALOptions, buffer: inout [UInt8],
                     visit: (Int, WALRecord) throws(DecodeError) -> Void) throws(DurableStorageError) -> (FileHeader, SegmentScanner.End) {
        try read(path, sequence: sequence, isLast: isLast, expected: expected, fileSystem: fileSystem, options: options,
                 buffer: &buffer) { (scanner, bytes) throws(DurableStorageError) in try scanner.scan(bytes, visit: visit) }
    }

    /// The same, visiting each record's payload in place.
    static func read(_ path: String, sequence: UInt64, isLast: Bool, expected: StorageIdentity?,
                     fileSystem: any FileSystem, options: WALOptions, buffer: inout [UInt8],
                     visitPayload: (Int, RecordType, UnsafeRawBufferPointer) throws(DecodeError) -> Void)
        throws(DurableStorageError) -> (FileHeader, SegmentScanner.End) {
        try read(path, sequence: sequence, isLast: isLast, expected: expected, fileSystem: fileSystem, options: options,
                 buffer: &buffer) { (scanner, bytes) throws(DurableStorageError) in try scanner.scan(bytes, visitPayload: visitPayload) }
    }

    private static func read(_ path: String, sequence: UInt64, isLast: Bool, expected: StorageIdentity?,
                             fileSystem: any FileSystem, options: WALOptions, buffer: inout [UInt8],
                             scan: (SegmentScanner, UnsafeRawBufferPointer) throws(DurableStorageError) -> SegmentScanner.End)
        throws(DurableStorageError) -> (FileHeader, SegmentScanner.End) {
        do throws(FileSystemError) {
            try load(path, fileSystem: fileSystem, into: &buffer)
        } catch {
            throw .io(error)
        }
        return try buffer.withBytes { (bytes) throws(DurableStorageError) in
            let header: FileHeader
            do throws(DecodeError) { header = try FileHeader.decode(.segment, from: bytes) } catch {
                throw .corrupt(file: path, offset: 0, reason: error.reason)
            }
            if let expected, header.identity != expected {
                throw .wrongIdentity(file: path, expected: expected, found: header.identity)
            }
            guard header.first == sequence else {
                throw .corrupt(file: path, offset: 32, reason: "the header says segment \(header.first), the name says \(sequence)")
            }
            let scanner = SegmentScanner(file: path, sequence: sequence, isLast: isLast, payloadBytesMax: options.recordBytesMax)
            return (header, try scan(scanner, bytes))
        }
    }

    /// The whole file in `buffer`, which keeps its allocation when the size matches (segments
    /// are preallocated to one size) and is never zero-filled first.
    private static func load(_ path: String, fileSystem: any FileSystem, into buffer: inout [UInt8]) throws(FileSystemError) {
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { fileSystem.close(file) }
        let size = try fileSystem.size(of: file)
        let result: Result<Void, FileSystemError>
        if buffer.count == size {
            result = buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(FileSystemError) in _ = try fill(bytes, from: file, fileSystem) }
            }
        } else {
            var outcome: Result<Void, FileSystemError> = .success(())
            buffer = [UInt8](unsafeUninitializedCapacity: size) { storage, initialized in
                let bytes = UnsafeMutableRawBufferPointer(storage)
                do throws(FileSystemError) {
                    initialized = try fill(bytes, from: file, fileSystem)
                } catch {
                    outcome = .failure(error)
                    initialized = 0
                }
            }
            result = outcome
        }
        try result.get()
    }

    /// Reads the file into `bytes` (its size) from its start; a file that shrank meanwhile is an
    /// error. Returns the byte count.
    private static func fill(_ bytes: UnsafeMutableRawBufferPointer, from file: OpenFile, _ fileSystem: any FileSystem) throws(FileSystemError) -> Int {
        var filled = 0
        while filled < bytes.count {
            let got = try fileSystem.read(file, into: UnsafeMutableRawBufferPointer(rebasing: bytes[filled...]), at: filled)
            guard got > 0 else { break }
            filled += got
        }
        if filled < bytes.count {
            throw FileSystemError(operation: "pread", path: file.path, code: 5, message: "the file shrank while it was read")
        }
        return filled
    }
}

/// `value` as 16 lower-case hex digits.
func hex16(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
