import ConclaveCore

/// `LogStorage` in memory: the simulator's "disk" (it survives a simulated crash; only the Raft
/// struct and the state machine are lost) and the benchmark's storage.
///
/// Appending is amortised O(1); looking up an entry or its term is O(1).
public final class MemoryStorage: LogStorage {
    public private(set) var hardState = HardState()
    public private(set) var voters: [NodeID]
    public private(set) var learners: [NodeID] = []
    private var snapshotValue = Snapshot()
    /// The snapshots `snapshotValue` replaced, newest last, at most `supersededSnapshotsRetained`:
    /// a leader streaming one of them to a follower finishes it rather than starting over (as a
    /// disk storage keeps its previous snapshot files). Their data is shared, not copied.
    private var supersededSnapshots: [Snapshot] = []
    static let supersededSnapshotsRetained = 2
    /// `entries[0]` is a sentinel holding the snapshot's index and term.
    private var entries: [Entry] = [Entry(term: 0, index: 0)]
    /// A simulated disk fault: while set, every read (terms, entries, the snapshot) throws it.
    public var readFailure: StorageError?

    public init(voters: [NodeID]) {
        self.voters = voters
        snapshotValue.voters = voters
    }

    public func initialState() -> (HardState, ConfState) { (hardState, ConfState(voters: voters, learners: learners)) }

    public var firstIndex: LogIndex { entries[0].index + 1 }
    public var lastIndex: LogIndex { entries[0].index + LogIndex(entries.count - 1) }

    public func term(at index: LogIndex) throws(StorageError) -> Term {
        if let readFailure { throw readFailure }
        let offset = entries[0].index
        guard index >= offset else { throw .compacted }
        guard index <= lastIndex else { throw .unavailable }
        return entries[Int(index - offset)].term
    }

    public func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        if let readFailure { throw readFailure }
        let offset = entries[0].index
        guard low > offset else { throw .compacted }
        guard high <= lastIndex + 1, low <= high else { throw .unavailable }
        var result: [Entry] = []
        var bytes = 0
        for position in Int(low - offset)..<Int(high - offset) {
            let entry = entries[position]
            if !result.isEmpty && bytes + entry.byteSize > maxBytes { break }
            bytes += entry.byteSize
            result.append(entry)
        }
        return result
    }

    public func snapshot() throws(StorageError) -> Snapshot {
        if let readFailure { throw readFailure }
        return snapshotValue
    }

    public func snapshotChunk(index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8] {
        if let readFailure { throw readFailure }
        let held = snapshotValue.index == index ? snapshotValue : supersededSnapshots.last { $0.index == index } ?? snapshotValue
        return try Snapshot.chunk(of: held, index: index, offset: offset, maxBytes: maxBytes)
    }

    private func replaceSnapshot(with snapshot: Snapshot) {
        if !snapshotValue.isEmpty && snapshotValue.index != snapshot.index {
            supersededSnapshots.append(snapshotValue)
            if supersededSnapshots.count > Self.supersededSnapshotsRetained { supersededSnapshots.removeFirst() }
        }
        snapshotValue = snapshot
    }

    /// Persists the hard state.
    public func setHardState(_ state: HardState) { hardState = state }

    /// Persists `newEntries` (consecutive indexes), replacing any conflicting suffix.
    public func append(_ newEntries: [Entry]) {
        guard let first = newEntries.first else { return }
        let offset = entries[0].index
        precondition(first.index > offset, "append below the snapshot: \(first.index) <= \(offset)")
        precondition(first.index <= lastIndex + 1, "gap in the log: appending \(first.index) after \(lastIndex)")
        let keep = Int(first.index - offset)
        if keep < entries.count { entries.removeSubrange(keep...) }
        entries.append(contentsOf: newEntries)
    }

    /// Replaces everything with `snapshot` (a follower installing one from its leader).
    public func applySnapshot(_ snapshot: Snapshot) {
        replaceSnapshot(with: snapshot)
        voters = snapshot.voters
        learners = snapshot.learners
        entries = [Entry(term: snapshot.term, index: snapshot.index)]
        hardState.commit = max(hardState.commit, snapshot.index)
    }

    /// Records a snapshot the application took of its state at `index` (which must be applied,
    /// hence in the log). Entries stay until `compact`.
    public func createSnapshot(index: LogIndex, voters: [NodeID], learners: [NodeID], data: [UInt8]) throws(StorageError) {
        guard index > snapshotValue.index else { return }
        let term = try term(at: index)
        replaceSnapshot(with: Snapshot(index: index, term: term, voters: voters, learners: learners, data: data))
        self.voters = voters
        self.learners = learners
    }

    /// Drops entries up to and including `index` (which a snapshot must cover).
    public func compact(through index: LogIndex) throws(StorageError) {
        let offset = entries[0].index
        guard index > offset else { return }
        guard index <= lastIndex else { throw .unavailable }
        precondition(index <= snapshotValue.index, "compacting \(index) past the snapshot at \(snapshotValue.index)")
        let sentinel = Entry(term: entries[Int(index - offset)].term, index: index)
        entries.removeSubrange(0...Int(index - offset))
        entries.insert(sentinel, at: 0)
    }
}
