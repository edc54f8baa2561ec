import ConclaveCore
import ConclaveRaft

/// A leader's snapshot arriving chunk by chunk into a temporary snapshot file, then renamed into
/// place (`finished`) and, once the node has loaded it, made current.
struct ReceivedSnapshot {
    var manifest: SnapshotManifest
    var writer: SnapshotFileWriter
    var receivedBytes = 0
    /// The file is whole, durable and in place, but no WAL marker names it yet.
    var finishedPath: String?
}

/// A follower's Raft streams a leader's snapshot into a temporary file here instead of its memory;
/// the node makes it current once its state machine has loaded it. The file is not current until
/// the marker is written, so a crash in between leaves a temporary file or an orphan newer than
/// the marker, both removed on open.
extension DurableLogStorage: SnapshotReceivingStorage {
    public func beginReceivingSnapshot(_ manifest: SnapshotManifest) throws(StorageError) {
        abandonReceivedSnapshot()
        try receivedSnapshot.withLock { (received) throws(StorageError) in
            do throws(DurableStorageError) {
                received = try startReceiving(manifest)
            } catch {
                throw .io(error.description)
            }
        }
    }

    private func startReceiving(_ manifest: SnapshotManifest) throws(DurableStorageError) -> ReceivedSnapshot {
        guard manifest.index > snapshotMetadata.index else {
            throw .snapshotMismatch("index \(manifest.index) is not past the current snapshot at \(snapshotMetadata.index)")
        }
        let metadata = SnapshotMetadata(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                        learners: manifest.learners)
        return ReceivedSnapshot(manifest: manifest, writer: try snapshots.beginWrite(metadata))
    }

    public func receiveSnapshotChunk(_ data: [UInt8]) throws(StorageError) {
        try receivedSnapshot.withLock { (received) throws(StorageError) in
            guard var staged = received, staged.finishedPath == nil else { throw .io("a snapshot chunk arrived with no snapshot being received") }
            guard staged.receivedBytes + data.count <= staged.manifest.totalBytes else {
                throw .io("snapshot \(staged.manifest.index) sent past its \(staged.manifest.totalBytes) bytes")
            }
            do throws(DurableStorageError) {
                try staged.writer.write(data)
            } catch {
                received = nil
                throw .io(error.description)
            }
            staged.receivedBytes += data.count
            received = staged
        }
    }

    public func finishReceivedSnapshot() throws(StorageError) -> Snapshot {
        let manifest = try receivedSnapshot.withLock { (received) throws(StorageError) -> SnapshotManifest in
            guard var staged = received, staged.finishedPath == nil, staged.receivedBytes == staged.manifest.totalBytes else {
                throw .io("no whole snapshot was received to finish")
            }
            do throws(DurableStorageError) {
                staged.finishedPath = try staged.writer.finish()
            } catch {
                received = nil
                throw .io(error.description)
            }
            received = staged
            return staged.manifest
        }
        do throws(DurableStorageError) {
            let data = try snapshots.openReader(index: manifest.index, term: manifest.term).readAll()
            return Snapshot(index: manifest.index, term: manifest.term, voters: manifest.voters, learners: manifest.learners,
                            data: data)
        } catch {
            abandonReceivedSnapshot()
            throw .io(error.description)
        }
    }

    public func commitReceivedSnapshot() throws(StorageError) {
        let manifest = try receivedSnapshot.withLock { (received) throws(StorageError) -> SnapshotManifest in
            guard let staged = received, staged.finishedPath != nil else { throw .io("no finished snapshot to commit") }
            received = nil
            return staged.manifest
        }
        let metadata = SnapshotMetadata(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                        learners: manifest.learners)
        do throws(DurableStorageError) {
            try commit(metadata, replacesLog: true)
        } catch {
            throw .io(error.description)
        }
    }

    public func abandonReceivedSnapshot() {
        receivedSnapshot.withLock { received in
            guard let staged = received else { return }
            if let path = staged.finishedPath {
                try? snapshots.fileSystem.remove(path)
            } else {
                staged.writer.abandon()
            }
            received = nil
        }
    }
}
