import ConclaveCore
import ConclaveRaft
import Synchronization

/// `LogStorage` on disk: a data directory holding `wal/` (segments) and `snap/` (snapshot files).
///
/// Reads are served from memory (a `MemoryStorage` rebuilt from the WAL on open), except the
/// snapshot's data, which is read back from its file (CRC-checked) when Raft asks for it.
///
/// Writes are what a node does after each Raft `Ready`, before it sends that Ready's messages:
/// `save(hardState:entries:)` — entries first (replacing a conflicting suffix), then the hard
/// state, covered by one group-committed fdatasync; then reads see them. A leader's snapshot is
/// received chunk by chunk into a temporary file (`SnapshotReceivingStorage`, +Receiving) and
/// made current once loaded, or installed whole with `applySnapshot`; `createSnapshot` / `compact`
/// record the node's own snapshot and drop what it covers (deleting WAL segments wholly before it).
/// The asynchronous `save(…, completion:)` lets the node keep stepping while the disk works; reads
/// see the data once the completion runs.
///
/// Thread-safety: reads may come from any thread (one lock guards the in-memory view); writes are
/// ordered by the WAL writer's queue. Call the write methods from one thread (the node loop).
public final class DurableLogStorage: LogStorage, @unchecked Sendable {
    public let directory: String
    public let identity: StorageIdentity
    /// What opening the directory found and did.
    public let recovery: RecoveryReport
    let options: WALOptions
    let writer: WALWriter
    /// When set (before the first save), a save without waiting is queued and the writer thread
    /// is not woken: this is called instead, and the caller must call `writeQueuedHere()` soon —
    /// the daemon does it after its event loop sent the Ready's messages, so the sync overlaps
    /// the replication and costs no thread hand-off when nothing else is writing.
    public var writeQueued: (@Sendable () -> Void)?
    let snapshots: SnapshotStore
    let view: Mutex<View>
    /// Where the latest chunk reads of snapshot files stopped, least recently used first, at most
    /// `snapshotCursorsMax` (one per follower being sent a snapshot, within reason).
    let snapshotCursors = Mutex<[SnapshotChunkCursor]>([])
    static let snapshotCursorsMax = 4
    /// A leader's snapshot being received into a temporary file (`SnapshotReceivingStorage`).
    let receivedSnapshot = Mutex<ReceivedSnapshot?>(nil)

    /// The in-memory log and what has been submitted to the WAL but may not be durable yet.
    struct View {
        var memory: MemoryStorage
        var submittedLastIndex: LogIndex
    }

    private init(directory: String, identity: StorageIdentity, options: WALOptions, writer: WALWriter, snapshots: SnapshotStore,
                 memory: sending MemoryStorage, recovery: RecoveryReport) {
        self.directory = directory
        self.identity = identity
        self.options = options
        self.writer = writer
        self.snapshots = snapshots
        self.recovery = recovery
        view = Mutex(View(memory: memory, submittedLastIndex: memory.lastIndex))
    }

    /// Opens the data directory (creating it and bootstrapping a WAL with `membership` if it holds
    /// none), replays the WAL, truncates a torn tail, and starts the writer thread. Refuses a
    /// directory of another cluster or node, and any corruption, naming the file and offset.
    public static func open(directory: String, identity: StorageIdentity, membership: ConfState,
                            fileSystem: any FileSystem = PosixFileSystem(), options: WALOptions = WALOptions()) throws(DurableStorageError) -> DurableLogStorage {
        let walDirectory = joinPath(directory, "wal")
        let snapshotDirectory = joinPath(directory, "snap")
        do throws(FileSystemError) {
            try makeDirectories(directory, fileSystem: fileSystem)
            let missing = [walDirectory, snapshotDirectory].filter { fileSystem.kind(of: $0) == nil }
            for subdirectory in missing { try fileSystem.makeDirectory(subdirectory) }
            if !missing.isEmpty { try fileSystem.fsyncDirectory(directory) }
        } catch {
            throw .from(error)
        }
        let (log, opening) = try WriteAheadLog.open(directory: walDirectory, identity: identity, options: options,
                                                    fileSystem: fileSystem, membership: membership)
        let snapshots = SnapshotStore(directory: snapshotDirectory, identity: identity, fileSystem: fileSystem, options: options)
        let marker = opening.state.snapshot
        let leftovers: [String]
        do throws(DurableStorageError) {
            leftovers = try snapshots.removeLeftovers(current: marker.index)
            if marker.index > 0 { _ = try snapshots.openReader(index: marker.index, term: marker.term) }
        } catch {
            log.close()
            throw error
        }
        let memory = opening.state.memoryStorage()
        let report = RecoveryReport(opening: opening, memory: memory, directory: directory,
                                    removedFiles: opening.removedTemporaryFiles + leftovers)
        return DurableLogStorage(directory: directory, identity: identity, options: options, writer: WALWriter(log: log),
                                 snapshots: snapshots, memory: memory, recovery: report)
    }

    /// Completes queued writes and closes the WAL; the storage accepts no more writes.
    public func close() { writer.close() }

    /// A storage dropped without `close()` still stops its writer thread.
    deinit { writer.close() }

    /// The fatal error that stopped the WAL, if any (the node must stop and restart).
    public var failure: DurableStorageError? { writer.failure }

    /// How many group syncs (fdatasync) the WAL's writer has made since the node opened it.
    public var syncCount: UInt64 { writer.syncCount }
    /// How long those syncs took.
    public var syncLatency: DurationBuckets { writer.syncLatency }

    // MARK: - LogStorage

    public func initialState() -> (HardState, ConfState) { view.withLock { $0.memory.initialState() } }

    public func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        try view.withLock { (view) throws(StorageError) in try view.memory.entries(from: low, to: high, maxBytes: maxBytes) }
    }

    public func term(at index: LogIndex) throws(StorageError) -> Term {
        try view.withLock { (view) throws(StorageError) in try view.memory.term(at: index) }
    }

    public var firstIndex: LogIndex { view.withLock { $0.memory.firstIndex } }
    public var lastIndex: LogIndex { view.withLock { $0.memory.lastIndex } }
    public var hardState: HardState { view.withLock { $0.memory.hardState } }

    /// The latest snapshot, its data read back from its file with every CRC checked (O(size) per
    /// call; Raft asks when a follower needs it).
    public func snapshot() throws(StorageError) -> Snapshot {
        var snapshot = try view.withLock { (view) throws(StorageError) in try view.memory.snapshot() }
        guard !snapshot.isEmpty else { return snapshot }
        do throws(DurableStorageError) {
            snapshot.data = try snapshots.openReader(index: snapshot.index, term: snapshot.term).readAll()
        } catch {
            throw .io(error.description)
        }
        return snapshot
    }

    /// The latest snapshot's manifest: its data length comes from its file's end record, so this
    /// reads a few bytes, not the data.
    public func snapshotManifest() throws(StorageError) -> SnapshotManifest {
        let metadata = snapshotMetadata
        guard metadata.index > 0 else { return SnapshotManifest(index: 0, term: 0, voters: metadata.voters, learners: metadata.learners, totalBytes: 0) }
        do throws(DurableStorageError) {
            let totalBytes = try snapshots.openReader(index: metadata.index, term: metadata.term).declaredDataBytes()
            return SnapshotManifest(index: metadata.index, term: metadata.term, voters: metadata.voters,
                                    learners: metadata.learners, totalBytes: totalBytes)
        } catch {
            throw .io(error.description)
        }
    }

    /// A chunk of the snapshot file at `index` (the latest, or an older one not yet pruned), read
    /// through a cursor so that reads in order cost O(chunk) each and hold one file chunk at most.
    /// A damaged or unreadable file is `.io`; a pruned one `.compacted`.
    public func snapshotChunk(index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8] {
        precondition(maxBytes > 0, "a chunk of \(maxBytes) bytes")
        guard index > 0 else { throw .compacted }
        guard offset >= 0 else { throw .unavailable }
        let chunk: Result<[UInt8], StorageError>
        do throws(DurableStorageError) {
            chunk = try snapshotCursors.withLock { (cursors) throws(DurableStorageError) -> Result<[UInt8], StorageError> in
                let reusable = cursors.indices.filter { cursors[$0].index == index && cursors[$0].position <= offset }
                    .max { cursors[$0].position < cursors[$1].position }
                let cursor: SnapshotChunkCursor
                if let reusable {
                    cursor = cursors.remove(at: reusable)
                } else {
                    guard let opened = try openCursor(index: index) else { return .failure(.compacted) }
                    cursor = opened
                }
                guard let chunk = try cursor.read(offset: offset, maxBytes: maxBytes) else { return .failure(.unavailable) }
                cursors.append(cursor)
                if cursors.count > Self.snapshotCursorsMax { cursors.removeFirst() }
                return .success(chunk)
            }
        } catch {
            throw .io(error.description)
        }
        return try chunk.get()
    }

    /// A cursor at the start of the snapshot file at `index`; nil when no such file is kept.
    private func openCursor(index: LogIndex) throws(DurableStorageError) -> SnapshotChunkCursor? {
        let current = snapshotMetadata
        let term: Term
        if index == current.index {
            term = current.term
        } else {
            guard let kept = try snapshots.list().last(where: { $0.index == index }) else { return nil }
            term = kept.term
        }
        return SnapshotChunkCursor(index: index, reader: try snapshots.openReader(index: index, term: term))
    }

    /// The latest snapshot's metadata, without its data.
    public var snapshotMetadata: SnapshotMetadata {
        view.withLock { view in
            let snapshot = (try? view.memory.snapshot()) ?? Snapshot()
            return SnapshotMetadata(index: snapshot.index, term: snapshot.term, voters: snapshot.voters, learners: snapshot.learners)
        }
    }

    /// Opens the latest snapshot's file for reading chunk by chunk (nil when there is none).
    public func openSnapshot() throws(DurableStorageError) -> SnapshotFileReader? {
        let metadata = snapshotMetadata
        guard metadata.index > 0 else { return nil }
        return try snapshots.openReader(index: metadata.index, term: metadata.term)
    }

    // MARK: - Writes after a Ready

    /// Persists `entries` (consecutive; replacing any entries from the first one's index on), then
    /// `hardState`, with one sync; returns once durable and visible to reads.
    public func save(hardState: HardState?, entries: [Entry]) throws(DurableStorageError) {
        let records = try records(hardState: hardState, entries: entries)
        try writer.append(records)
        apply(hardState: hardState, entries: entries)
    }

    /// The same, without waiting: `completion` runs on the WAL writer thread once the records are
    /// durable and visible to reads (or with the error). Saves complete in the order they were made.
    public func save(hardState: HardState?, entries: [Entry], completion: @escaping @Sendable (DurableStorageError?) -> Void) {
        let records: [WALRecord]
        do throws(DurableStorageError) { records = try self.records(hardState: hardState, entries: entries) } catch {
            completion(error)
            return
        }
        let done: WALWriter.Completion = { [self] error in
            if error == nil { apply(hardState: hardState, entries: entries) }
            completion(error)
        }
        if let writeQueued {
            writer.appendQueued(records, completion: done)
            writeQueued()
        } else {
            writer.append(records, completion: done)
        }
    }

    /// Writes and syncs the saves queued for the caller (`writeQueued`) on this thread when the
    /// log is free; hands them to the writer thread otherwise.
    public func writeQueuedHere() { writer.writeQueuedHere() }

    /// Writes a hard state that changes only the commit index, without a sync of its own
    /// (`WALWriter.appendWithoutSync`); `completion` reports the write, on whichever thread made it.
    public func saveUnsynced(hardState: HardState, completion: @escaping @Sendable (DurableStorageError?) -> Void) {
        writer.appendWithoutSync([.hardState(hardState)]) { [self] error in
            if error == nil { apply(hardState: hardState, entries: []) }
            completion(error)
        }
    }

    public func append(_ entries: [Entry]) throws(DurableStorageError) { try save(hardState: nil, entries: entries) }

    public func setHardState(_ state: HardState) throws(DurableStorageError) { try save(hardState: state, entries: []) }

    /// The WAL records for a save, entries split so that no record passes `recordBytesMax`. Checks
    /// the entries continue the log as submitted so far (a violation is a caller bug: it traps).
    private func records(hardState: HardState?, entries: [Entry]) throws(DurableStorageError) -> [WALRecord] {
        var records: [WALRecord] = []
        var batch: [Entry] = []
        var batchBytes = 4
        for entry in entries {
            let bytes = WALRecord.entryOverheadBytes + entry.data.count
            guard 4 + bytes <= options.recordBytesMax else { throw .recordTooLarge(bytes: 4 + bytes, limit: options.recordBytesMax) }
            if batchBytes + bytes > options.recordBytesMax {
                records.append(.entries(batch))
                batch.removeAll()
                batchBytes = 4
            }
            batch.append(entry)
            batchBytes += bytes
        }
        if !batch.isEmpty { records.append(.entries(batch)) }
        if let hardState { records.append(.hardState(hardState)) }
        if let first = entries.first {
            view.withLock { view in
                let snapshotIndex = view.memory.firstIndex - 1
                precondition(first.index > snapshotIndex, "append below the snapshot: \(first.index) <= \(snapshotIndex)")
                precondition(first.index <= view.submittedLastIndex + 1,
                             "gap in the log: appending \(first.index) after \(view.submittedLastIndex)")
                for (previous, next) in zip(entries, entries.dropFirst()) {
                    precondition(next.index == previous.index + 1, "entries not consecutive: \(next.index) after \(previous.index)")
                }
                view.submittedLastIndex = entries.last!.index
            }
        }
        return records
    }

    private func apply(hardState: HardState?, entries: [Entry]) {
        view.withLock { view in
            view.memory.append(entries)
            if let hardState { view.memory.setHardState(hardState) }
        }
    }
}

/// `mkdir -p`: creates `path` and any missing parent.
public func makeDirectories(_ path: String, fileSystem: any FileSystem) throws(FileSystemError) {
    guard fileSystem.kind(of: path) != .directory else { return }
    let parent = parentDirectory(of: path)
    if parent != path { try makeDirectories(parent, fileSystem: fileSystem) }
    try fileSystem.makeDirectory(path)
}
