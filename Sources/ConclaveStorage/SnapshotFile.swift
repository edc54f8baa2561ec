import ConclaveCore
import ConclaveRaft

/// A snapshot file: the 64-byte header (`FileHeader`, index and term), then frames as in the WAL
/// (`RecordFrame`, seeded with the snapshot's index): one metadata record (voters, learners), data
/// chunks, and an end record holding the data's total length and CRC-32C. Written under a temporary
/// name, fsync'ed, renamed, and the directory fsync'ed, so a snapshot file either exists whole or not
/// at all; read back chunk by chunk with every CRC checked.
public struct SnapshotMetadata: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]

    public init(index: LogIndex, term: Term, voters: [NodeID], learners: [NodeID]) {
        self.index = index
        self.term = term
        self.voters = voters
        self.learners = learners
    }

    /// `<term>-<index>.snap`, both as 16 hex digits (etcd's naming), so names sort by term then index.
    var fileName: String { "\(hex16(term))-\(hex16(index))\(SnapshotMetadata.suffix)" }

    static let suffix = ".snap"

    static func parse(fileName name: String) -> (term: Term, index: LogIndex)? {
        guard name.hasSuffix(suffix) else { return nil }
        let parts = name.dropLast(suffix.count).split(separator: "-")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 16 }), let term = UInt64(parts[0], radix: 16),
              let index = UInt64(parts[1], radix: 16) else { return nil }
        return (term, index)
    }
}

/// Streams a snapshot into a new file. `write` as many times as needed, then `finish` (which makes
/// it durable and visible) or `abandon`. Not thread-safe.
public final class SnapshotFileWriter {
    public let metadata: SnapshotMetadata
    public let path: String
    private let temporaryPath: String
    private let directory: String
    private let fileSystem: any FileSystem
    private let chunkBytes: Int
    private var file: OpenFile?
    private var fileEnd = 0
    private var pending: [UInt8] = []
    private var dataBytes: UInt64 = 0
    private var dataCRC: UInt32 = 0

    init(metadata: SnapshotMetadata, directory: String, identity: StorageIdentity, fileSystem: any FileSystem,
         chunkBytes: Int) throws(DurableStorageError) {
        self.metadata = metadata
        self.directory = directory
        self.fileSystem = fileSystem
        self.chunkBytes = chunkBytes
        path = joinPath(directory, metadata.fileName)
        temporaryPath = path + SegmentFile.temporarySuffix
        if fileSystem.kind(of: temporaryPath) != nil { try? fileSystem.remove(temporaryPath) }
        var head = FileHeader(kind: .snapshot, identity: identity, first: metadata.index, second: metadata.term).encoded()
        RecordFrame.append(type: .snapshotMetadata, seed: metadata.index, fileOffset: head.count, to: &head) { buffer in
            for members in [metadata.voters, metadata.learners] {
                buffer.appendLittleEndian(UInt16(members.count))
                for member in members { buffer.appendLittleEndian(member) }
            }
        }
        do throws(FileSystemError) {
            file = try fileSystem.open(temporaryPath, mode: .createNew)
        } catch {
            throw .from(error)
        }
        try output(head)
    }

    /// Appends snapshot data. Data is cut into chunks of `snapshotChunkBytes`; at most one chunk is
    /// held in memory.
    public func write(_ bytes: some Collection<UInt8>) throws(DurableStorageError) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(rest.count, chunkBytes - pending.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if pending.count == chunkBytes { try emitChunk() }
        }
    }

    /// Writes the end record, fsyncs, renames the file into place and fsyncs the directory.
    /// Returns the final path.
    @discardableResult
    public func finish() throws(DurableStorageError) -> String {
        try emitChunk()
        var end: [UInt8] = []
        RecordFrame.append(type: .snapshotEnd, seed: metadata.index, fileOffset: fileEnd, to: &end) { buffer in
            buffer.appendLittleEndian(dataBytes)
            buffer.appendLittleEndian(dataCRC)
        }
        try output(end)
        guard let file else { throw .closed }
        do throws(FileSystemError) {
            try fileSystem.fsync(file)
        } catch {
            abandon()
            throw .syncFailed(error)
        }
        fileSystem.close(file)
        self.file = nil
        do throws(FileSystemError) {
            try fileSystem.rename(temporaryPath, to: path)
            try fileSystem.fsyncDirectory(directory)
        } catch {
            throw error.operation == "fsync" ? .syncFailed(error) : .from(error)
        }
        return path
    }

    /// Drops the unfinished file.
    public func abandon() {
        if let file { fileSystem.close(file) }
        file = nil
        try? fileSystem.remove(temporaryPath)
    }

    private func emitChunk() throws(DurableStorageError) {
        guard !pending.isEmpty else { return }
        dataCRC = CRC32C.checksum(pending, continuing: dataCRC)
        dataBytes += UInt64(pending.count)
        var frame: [UInt8] = []
        frame.reserveCapacity(RecordFrame.frameBytes(payloadBytes: pending.count))
        RecordFrame.append(type: .snapshotChunk, seed: metadata.index, fileOffset: fileEnd, to: &frame) { $0.append(contentsOf: pending) }
        pending.removeAll(keepingCapacity: true)
        try output(frame)
    }

    private func output(_ bytes: [UInt8]) throws(DurableStorageError) {
        guard let file else { throw .closed }
        do throws(FileSystemError) {
            try fileSystem.writeAll(file, bytes, at: fileEnd)
        } catch {
            abandon()
            throw .from(error)
        }
        fileEnd += bytes.count
    }
}

/// Reads a snapshot file chunk by chunk, checking every frame's CRC and, at the end, the data's
/// length and CRC against the end record. Not thread-safe.
public final class SnapshotFileReader {
    public let path: String
    public private(set) var metadata: SnapshotMetadata
    private let fileSystem: any FileSystem
    private let file: OpenFile
    /// The file's length.
    public let fileBytes: Int
    private let payloadBytesMax: Int
    private var offset = FileHeader.bytes
    private var dataBytes: UInt64 = 0
    private var dataCRC: UInt32 = 0
    private var ended = false

    /// Opens `path`, checks its header against `identity` (and `expected` index and term, if given)
    /// and reads its metadata record.
    init(path: String, identity: StorageIdentity?, expected: (index: LogIndex, term: Term)?, fileSystem: any FileSystem,
         payloadBytesMax: Int) throws(DurableStorageError) {
        self.path = path
        self.fileSystem = fileSystem
        self.payloadBytesMax = payloadBytesMax
        do throws(FileSystemError) {
            file = try fileSystem.open(path, mode: .readOnly)
            fileBytes = try fileSystem.size(of: file)
        } catch {
            throw .io(error)
        }
        metadata = SnapshotMetadata(index: 0, term: 0, voters: [], learners: [])
        do throws(DurableStorageError) {
            let headerBytes = try read(count: FileHeader.bytes, at: 0)
            let header: FileHeader
            do throws(DecodeError) {
                header = try headerBytes.withBytes { (bytes) throws(DecodeError) in try FileHeader.decode(.snapshot, from: bytes) }
            } catch {
                throw .corrupt(file: path, offset: 0, reason: error.reason)
            }
            if let identity, header.identity != identity { throw .wrongIdentity(file: path, expected: identity, found: header.identity) }
            if let expected, expected.index != header.first || expected.term != header.second {
                throw .corrupt(file: path, offset: 32, reason: "the header holds index \(header.first) term \(header.second), "
                    + "expected index \(expected.index) term \(expected.term)")
            }
            metadata.index = header.first
            metadata.term = header.second
            guard let (type, payload) = try nextFrame(), type == .snapshotMetadata else {
                throw .corrupt(file: path, offset: FileHeader.bytes, reason: "no metadata record after the header")
            }
            try decodeMetadata(payload)
        } catch {
            fileSystem.close(file)
            throw error
        }
    }

    deinit { fileSystem.close(file) }

    /// The next chunk of data, or nil after the last one (once the end record checked out).
    public func nextChunk() throws(DurableStorageError) -> [UInt8]? {
        guard !ended else { return nil }
        let frameOffset = offset
        guard let (type, payload) = try nextFrame() else {
            throw .corrupt(file: path, offset: frameOffset, reason: "the file ends without an end record")
        }
        switch type {
        case .snapshotChunk:
            dataCRC = CRC32C.checksum(payload, continuing: dataCRC)
            dataBytes += UInt64(payload.count)
            return payload
        case .snapshotEnd:
            try checkEnd(payload, at: frameOffset)
            ended = true
            return nil
        default:
            throw .corrupt(file: path, offset: frameOffset, reason: "\(type.described) inside a snapshot file")
        }
    }

    /// The data length the end record declares, read from the file's tail (its frame CRC-checked)
    /// without reading the data; the chunks are checked against it as they are read.
    public func declaredDataBytes() throws(DurableStorageError) -> Int {
        let endBytes = RecordFrame.frameBytes(payloadBytes: Self.endPayloadBytes)
        let position = fileBytes - endBytes
        guard position >= offset else {
            throw .corrupt(file: path, offset: fileBytes, reason: "the file is too short to end with an end record")
        }
        let frame = try read(count: endBytes, at: position)
        let checked = frame.withUnsafeBytes {
            RecordFrame.check($0, at: 0, fileOffset: position, seed: metadata.index, payloadBytesMax: payloadBytesMax)
        }
        switch checked {
        case .success(let valid) where valid.type == .snapshotEnd && valid.end == endBytes:
            let (length, _) = try decodeEnd(Array(frame[valid.payload]), at: position)
            guard length <= UInt64(fileBytes) else {
                throw .corrupt(file: path, offset: position, reason: "the end record says \(length) bytes in a file of \(fileBytes)")
            }
            return Int(length)
        case .success(let valid):
            throw .corrupt(file: path, offset: position, reason: "the file ends with \(valid.type.described), not an end record")
        case .failure(let problem):
            throw .corrupt(file: path, offset: position, reason: problem.reason)
        }
    }

    /// An end record's payload: data length (8 bytes), data CRC (4).
    static let endPayloadBytes = 12

    /// All the data, read and checked.
    public func readAll() throws(DurableStorageError) -> [UInt8] {
        var data: [UInt8] = []
        while let chunk = try nextChunk() { data.append(contentsOf: chunk) }
        return data
    }

    private func decodeEnd(_ payload: [UInt8], at frameOffset: Int) throws(DurableStorageError) -> (UInt64, UInt32) {
        do throws(DecodeError) {
            return try payload.withBytes { (bytes) throws(DecodeError) in
                var reader = BufferReader(bytes)
                return (try reader.read(UInt64.self, "data length"), try reader.read(UInt32.self, "data CRC"))
            }
        } catch {
            throw .corrupt(file: path, offset: frameOffset, reason: "malformed end record: \(error.reason)")
        }
    }

    private func checkEnd(_ payload: [UInt8], at frameOffset: Int) throws(DurableStorageError) {
        let (length, crc) = try decodeEnd(payload, at: frameOffset)
        guard length == dataBytes, crc == dataCRC else {
            throw .corrupt(file: path, offset: frameOffset, reason: "the end record says \(length) bytes with CRC \(RecordFrame.hex(crc)); "
                + "the chunks hold \(dataBytes) bytes with CRC \(RecordFrame.hex(dataCRC))")
        }
        guard offset == fileBytes else { throw .corrupt(file: path, offset: offset, reason: "data after the end record") }
    }

    private func decodeMetadata(_ payload: [UInt8]) throws(DurableStorageError) {
        do throws(DecodeError) {
            let members = try payload.withBytes { (bytes) throws(DecodeError) -> [[NodeID]] in
                var reader = BufferReader(bytes)
                var lists: [[NodeID]] = []
                for _ in 0..<2 {
                    let count = Int(try reader.read(UInt16.self, "member count"))
                    var list: [NodeID] = []
                    for _ in 0..<count { list.append(try reader.read(UInt64.self, "member")) }
                    lists.append(list)
                }
                return lists
            }
            metadata.voters = members[0]
            metadata.learners = members[1]
        } catch {
            throw .corrupt(file: path, offset: FileHeader.bytes, reason: "malformed metadata record: \(error.reason)")
        }
    }

    /// Reads and checks the frame at `offset`; nil at the end of the file.
    private func nextFrame() throws(DurableStorageError) -> (RecordType, [UInt8])? {
        guard offset < fileBytes else { return nil }
        let header = try read(count: RecordFrame.headerBytes, at: offset)
        let length = header.count == RecordFrame.headerBytes
            ? Int(UInt32(littleEndian: header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) })) : 0
        let frameBytes = RecordFrame.frameBytes(payloadBytes: min(length, payloadBytesMax + 1))
        let frame = header + (try read(count: max(0, min(frameBytes, fileBytes - offset) - header.count), at: offset + header.count))
        let checked = frame.withUnsafeBytes {
            RecordFrame.check($0, at: 0, fileOffset: offset, seed: metadata.index, payloadBytesMax: payloadBytesMax)
        }
        switch checked {
        case .success(let valid):
            offset += valid.end
            return (valid.type, Array(frame[valid.payload]))
        case .failure(let problem):
            throw .corrupt(file: path, offset: offset, reason: problem.reason)
        }
    }

    private func read(count: Int, at position: Int) throws(DurableStorageError) -> [UInt8] {
        do throws(FileSystemError) {
            return try fileSystem.read(file, count: count, at: position)
        } catch {
            throw .io(error)
        }
    }
}
