import ConclaveCore
import ConclaveRaft

/// Snapshots: the file first (atomically), then the WAL's marker (durably), then the in-memory view.
/// A crash between the two leaves an orphan file that the next open removes; the marker never points
/// at a file that is not whole.
extension DurableLogStorage {
    /// Installs a leader's snapshot: it replaces the whole log. The WAL then starts a new segment,
    /// so every older one becomes deletable at the next `compact`.
    public func applySnapshot(_ snapshot: Snapshot) throws(DurableStorageError) {
        guard snapshot.index >= snapshotMetadata.index else {
            throw .snapshotMismatch("index \(snapshot.index) is older than the current snapshot at \(snapshotMetadata.index)")
        }
        let metadata = SnapshotMetadata(index: snapshot.index, term: snapshot.term, voters: snapshot.voters, learners: snapshot.learners)
        try snapshots.write(metadata, data: snapshot.data)
        try commit(metadata, replacesLog: true)
    }

    /// Records a snapshot of the node's own state machine at `index` (applied, hence in the log).
    /// Entries stay until `compact`. A snapshot at or below the current one is ignored.
    public func createSnapshot(index: LogIndex, voters: [NodeID], learners: [NodeID], data: [UInt8]) throws(DurableStorageError) {
        guard index > snapshotMetadata.index else { return }
        let metadata = SnapshotMetadata(index: index, term: try logTerm(at: index), voters: voters, learners: learners)
        try snapshots.write(metadata, data: data)
        try commit(metadata, replacesLog: false)
    }

    /// Starts writing a snapshot file in chunks (the data never has to be in memory at once).
    /// Finish with `commitSnapshot(_:replacesLog:)`, or `abandon()` the writer.
    public func beginSnapshot(_ metadata: SnapshotMetadata) throws(DurableStorageError) -> SnapshotFileWriter {
        try snapshots.beginWrite(metadata)
    }

    /// Finishes a streamed snapshot and makes it current: `replacesLog` for a leader's snapshot
    /// being installed, false for the node's own (whose index must be in the log, with that term).
    public func commitSnapshot(_ writer: SnapshotFileWriter, replacesLog: Bool) throws(DurableStorageError) {
        let metadata = writer.metadata
        do throws(DurableStorageError) {
            if !replacesLog {
                let term = try logTerm(at: metadata.index)
                guard term == metadata.term else {
                    throw .snapshotMismatch("the log has term \(term) at index \(metadata.index), the snapshot says \(metadata.term)")
                }
            }
            guard metadata.index > snapshotMetadata.index || (replacesLog && metadata.index == snapshotMetadata.index) else {
                throw .snapshotMismatch("index \(metadata.index) is not past the current snapshot at \(snapshotMetadata.index)")
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        try commit(metadata, replacesLog: replacesLog)
    }

    /// Makes a snapshot file written and synced elsewhere (`beginSnapshot`…`finish`, off the
    /// node's thread) the current snapshot: its index must still be in the log with that term and
    /// past the current snapshot. False when a newer snapshot (a leader's, installed meanwhile)
    /// made it stale: the file is left for the next prune.
    public func commitWrittenSnapshot(_ metadata: SnapshotMetadata) throws(DurableStorageError) -> Bool {
        guard metadata.index > snapshotMetadata.index else { return false }
        let term = try logTerm(at: metadata.index)
        guard term == metadata.term else {
            throw .snapshotMismatch("the log has term \(term) at index \(metadata.index), the snapshot says \(metadata.term)")
        }
        try commit(metadata, replacesLog: false)
        return true
    }

    /// Drops entries through `index` (which the snapshot must cover) from memory, and deletes the
    /// WAL segments whose entries all lie at or below it.
    public func compact(through index: LogIndex) throws(DurableStorageError) {
        do throws(StorageError) {
            try view.withLock { (view) throws(StorageError) in try view.memory.compact(through: index) }
        } catch {
            throw .snapshotMismatch("cannot compact through \(index): \(error)")
        }
        try writer.perform { (log) throws(DurableStorageError) in try log.removeSegments(coveredThrough: index) }
    }

    /// Writes the marker durably, updates the in-memory view, and prunes old snapshot files.
    func commit(_ metadata: SnapshotMetadata, replacesLog: Bool) throws(DurableStorageError) {
        let marker = SnapshotMarker(index: metadata.index, term: metadata.term, voters: metadata.voters,
                                    learners: metadata.learners, replacesLog: replacesLog)
        try writer.append([.snapshot(marker)])
        let snapshot = Snapshot(index: metadata.index, term: metadata.term, voters: metadata.voters, learners: metadata.learners)
        view.withLock { view in
            if replacesLog {
                view.memory.applySnapshot(snapshot)
                view.submittedLastIndex = metadata.index
            } else {
                try? view.memory.createSnapshot(index: metadata.index, voters: metadata.voters, learners: metadata.learners, data: [])
            }
        }
        if replacesLog { try writer.perform { (log) throws(DurableStorageError) in try log.cut() } }
        // Old files are only space: a failure to remove them now is retried at the next snapshot.
        _ = try? snapshots.prune(current: metadata.index)
    }

    private func logTerm(at index: LogIndex) throws(DurableStorageError) -> Term {
        do throws(StorageError) {
            return try term(at: index)
        } catch {
            throw .snapshotMismatch("index \(index) is not in the log (\(error))")
        }
    }
}

/// The daemon's node writes through the same seam as the simulator's (`WritableLogStorage`): a
/// Ready's entries and hard state go out as one group-committed `save`, snapshots as files.
extension DurableLogStorage: WritableLogStorage {}

/// The daemon's node writes in the background: the save's completion runs on the writer thread
/// once the group sync covering it is done (`save(hardState:entries:completion:)`).
extension DurableLogStorage: AsyncWritableLogStorage {
    public func save(hardState: HardState?, entries: [Entry], onDurable: @escaping @Sendable ((any Error)?) -> Void) {
        save(hardState: hardState, entries: entries, completion: { onDurable($0) })
    }

    public func saveCommit(_ hardState: HardState, onWritten: @escaping @Sendable ((any Error)?) -> Void) {
        saveUnsynced(hardState: hardState, completion: { onWritten($0) })
    }
}
