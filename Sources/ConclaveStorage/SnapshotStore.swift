import ConclaveCore
import ConclaveRaft

/// The snapshot directory: atomic snapshot files named by term and index, written and read in
/// chunks, pruned to the newest few. The WAL's latest snapshot marker says which one is current; a
/// file newer than it is an orphan of a crash between the rename and the marker, removed on open.
final class SnapshotStore {
    let directory: String
    let identity: StorageIdentity
    let fileSystem: any FileSystem
    let options: WALOptions

    init(directory: String, identity: StorageIdentity, fileSystem: any FileSystem, options: WALOptions) {
        self.directory = directory
        self.identity = identity
        self.fileSystem = fileSystem
        self.options = options
    }

    func path(for metadata: (index: LogIndex, term: Term)) -> String {
        joinPath(directory, SnapshotMetadata(index: metadata.index, term: metadata.term, voters: [], learners: []).fileName)
    }

    /// Starts a new snapshot file.
    func beginWrite(_ metadata: SnapshotMetadata) throws(DurableStorageError) -> SnapshotFileWriter {
        try SnapshotFileWriter(metadata: metadata, directory: directory, identity: identity, fileSystem: fileSystem,
                               chunkBytes: options.snapshotChunkBytes)
    }

    /// Writes `data` as the snapshot `metadata`, durably.
    func write(_ metadata: SnapshotMetadata, data: [UInt8]) throws(DurableStorageError) {
        let writer = try beginWrite(metadata)
        do throws(DurableStorageError) {
            try writer.write(data)
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Opens the snapshot at `index`/`term` for reading, header and metadata checked.
    func openReader(index: LogIndex, term: Term) throws(DurableStorageError) -> SnapshotFileReader {
        let path = path(for: (index, term))
        guard fileSystem.kind(of: path) == .file else {
            throw .corrupt(file: path, offset: 0, reason: "the WAL's snapshot marker (index \(index), term \(term)) names this file, which is missing")
        }
        return try SnapshotFileReader(path: path, identity: identity, expected: (index, term), fileSystem: fileSystem,
                                      payloadBytesMax: options.recordBytesMax)
    }

    /// The snapshot files present, by index (oldest first).
    func list() throws(DurableStorageError) -> [(index: LogIndex, term: Term, path: String)] {
        do throws(FileSystemError) {
            return try fileSystem.list(directory).compactMap { name in
                SnapshotMetadata.parse(fileName: name).map { (index: $0.index, term: $0.term, path: joinPath(directory, name)) }
            }.sorted { ($0.index, $0.term) < ($1.index, $1.term) }
        } catch {
            throw .io(error)
        }
    }

    /// Removes temporary files (unfinished writes) and files newer than the current snapshot
    /// (orphans); returns what it removed.
    func removeLeftovers(current: LogIndex) throws(DurableStorageError) -> [String] {
        let orphans = try list().filter { $0.index > current }.map(\.path)
        do throws(FileSystemError) {
            let temporary = try fileSystem.list(directory).filter { $0.hasSuffix(SegmentFile.temporarySuffix) }.map { joinPath(directory, $0) }
            for path in temporary + orphans { try fileSystem.remove(path) }
            if !(temporary + orphans).isEmpty { try fileSystem.fsyncDirectory(directory) }
            return temporary + orphans
        } catch {
            throw .io(error)
        }
    }

    /// Keeps the newest `snapshotsRetained` files at or below `current` (the one the WAL points at
    /// is the newest of them); removes the rest. Returns what it removed.
    @discardableResult
    func prune(current: LogIndex) throws(DurableStorageError) -> [String] {
        let old = try list().filter { $0.index <= current }.dropLast(options.snapshotsRetained).map(\.path)
        guard !old.isEmpty else { return [] }
        do throws(FileSystemError) {
            for path in old { try fileSystem.remove(path) }
            try fileSystem.fsyncDirectory(directory)
        } catch {
            throw .io(error)
        }
        return old
    }
}
