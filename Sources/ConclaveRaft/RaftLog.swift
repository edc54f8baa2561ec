import ConclaveCore

/// The Raft log as the core sees it: what storage holds, plus the unstable tail not yet persisted.
///
/// Two cursors say what has been handed out and two what has been acknowledged, so that each
/// entry is handed out once to be written and once to be applied, while the writes and the
/// applying may lag behind (etcd-io/raft's asynchronous storage writes):
/// - `persistHandedOut`: the last index handed out to be written; everything after it is yet to
///   go. A conflicting append that truncates at or below it moves it back, so the new suffix is
///   handed out again from the truncation point.
/// - `unstableOffset − 1`: the last index acknowledged durable (`persisted(through:term:)`).
/// - `applyHandedOut` and `applied`: the last committed index handed out to apply, and the last
///   acknowledged applied.
///
/// Invariants: `applied ≤ applyHandedOut ≤ committed ≤ lastIndex`;
/// `unstableOffset − 1 ≤ persistHandedOut ≤ lastIndex`; unstable entries start at
/// `unstableOffset`, and everything before that is in storage.
struct RaftLog {
    let storage: any LogStorage
    private(set) var unstableEntries: [Entry] = []
    /// Index of `unstableEntries[0]` (one past storage's last index when nothing is unstable).
    private(set) var unstableOffset: LogIndex
    private(set) var committed: LogIndex
    /// The last index the application acknowledged as applied.
    private(set) var applied: LogIndex
    /// The last committed index handed out to the application to apply.
    private(set) var applyHandedOut: LogIndex
    /// The last index handed out to be written.
    private(set) var persistHandedOut: LogIndex
    /// A snapshot received from the leader and not yet persisted.
    private(set) var pendingSnapshot: Snapshot?
    /// `pendingSnapshot` has been handed out to be written (it is not handed out again).
    private(set) var pendingSnapshotHandedOut = false

    init(storage: any LogStorage, committed: LogIndex, applied: LogIndex) {
        self.storage = storage
        self.unstableOffset = storage.lastIndex + 1
        // Everything up to the snapshot is applied and committed by definition.
        let snapshotIndex = storage.firstIndex - 1
        precondition(applied <= max(committed, snapshotIndex), "applied \(applied) is past committed \(committed)")
        self.applied = max(applied, snapshotIndex)
        self.applyHandedOut = self.applied
        self.committed = max(committed, snapshotIndex)
        self.persistHandedOut = storage.lastIndex
    }

    var firstIndex: LogIndex { pendingSnapshot.map { $0.index + 1 } ?? storage.firstIndex }

    var lastIndex: LogIndex {
        unstableEntries.isEmpty ? unstableOffset - 1 : unstableEntries[unstableEntries.count - 1].index
    }

    /// Replaces the log with a snapshot from the leader: everything before it is gone, it is the
    /// new commit point, and the next Ready asks the application to persist and load it.
    mutating func restore(_ snapshot: Snapshot) {
        pendingSnapshot = snapshot
        pendingSnapshotHandedOut = false
        unstableEntries = []
        unstableOffset = snapshot.index + 1
        persistHandedOut = snapshot.index
        committed = snapshot.index
    }

    /// The pending snapshot, if it has not been handed out yet; it is not handed out again.
    mutating func takeSnapshotToPersist() -> Snapshot? {
        guard let pendingSnapshot, !pendingSnapshotHandedOut else { return nil }
        pendingSnapshotHandedOut = true
        return pendingSnapshot
    }

    var hasSnapshotToHandOut: Bool { pendingSnapshot != nil && !pendingSnapshotHandedOut }

    /// The application persisted and loaded the snapshot at `index` (ignored unless it is the
    /// pending one: a newer snapshot may have replaced it since).
    mutating func snapshotPersisted(index: LogIndex) {
        guard pendingSnapshot?.index == index, pendingSnapshotHandedOut else { return }
        pendingSnapshot = nil
        pendingSnapshotHandedOut = false
        applied = max(applied, index)
        applyHandedOut = max(applyHandedOut, index)
    }

    /// The last entry's term. Throws only an I/O error: the last index is always held.
    func lastTerm() throws(StorageError) -> Term { try term(at: lastIndex) }

    /// The term of the entry at `index`; throws `.compacted` or `.unavailable` when the index is
    /// compacted away or past the end, and storage's I/O errors.
    func term(at index: LogIndex) throws(StorageError) -> Term {
        if index >= unstableOffset {
            guard index <= lastIndex else { throw .unavailable }
            return unstableEntries[Int(index - unstableOffset)].term
        }
        if let pendingSnapshot {
            guard index >= pendingSnapshot.index else { throw .compacted }
            return pendingSnapshot.term
        }
        return try storage.term(at: index)
    }

    /// Whether the entry at `index` has `term`; an entry compacted away or not held does not match.
    /// An I/O error is thrown, never taken for a mismatch.
    func matchesTerm(_ index: LogIndex, _ term: Term) throws(StorageError) -> Bool {
        try termIfHeld(at: index) == term
    }

    /// The term of the entry at `index`, or nil when it is compacted away or past the end.
    func termIfHeld(at index: LogIndex) throws(StorageError) -> Term? {
        do {
            return try self.term(at: index)
        } catch {
            guard error.isAbsentEntry else { throw error }
            return nil
        }
    }

    /// Raft's "at least as up to date" (§5.4.1): a later last term wins, then a longer log.
    func isUpToDate(lastIndex candidateIndex: LogIndex, term candidateTerm: Term) throws(StorageError) -> Bool {
        let myTerm = try lastTerm()
        return candidateTerm > myTerm || (candidateTerm == myTerm && candidateIndex >= lastIndex)
    }

    /// Entries in `[low, lastIndex]`, up to about `maxBytes` (at least one if any).
    func entries(from low: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        let high = lastIndex + 1
        guard low < high else { return [] }
        var result: [Entry] = []
        var bytes = 0
        if pendingSnapshot != nil && low < unstableOffset { throw .compacted }
        if low < unstableOffset {
            result = try storage.entries(from: low, to: min(high, unstableOffset), maxBytes: maxBytes)
            bytes = result.reduce(0) { $0 + $1.byteSize }
            if LogIndex(result.count) < min(high, unstableOffset) - low { return result }
        }
        let start = Int(max(low, unstableOffset) - unstableOffset)
        var position = start
        while position < unstableEntries.count {
            let entry = unstableEntries[position]
            if !result.isEmpty && bytes + entry.byteSize > maxBytes { break }
            bytes += entry.byteSize
            position += 1
        }
        if result.isEmpty {
            return Array(unstableEntries[start..<position])
        }
        result.append(contentsOf: unstableEntries[start..<position])
        return result
    }

    /// Appends a leader's own new entries. Returns the new last index.
    mutating func append(_ newEntries: [Entry]) -> LogIndex {
        guard let first = newEntries.first else { return lastIndex }
        precondition(first.index > committed, "overwriting committed entry \(first.index) (committed \(committed))")
        truncateAndAppend(newEntries)
        return lastIndex
    }

    /// A follower's append (§5.3): if the entry before `entries` matches, append what conflicts or
    /// is new and advance the commit index. Returns the last index now known to match, or nil.
    mutating func maybeAppend(
        previousIndex: LogIndex, previousTerm: Term, leaderCommit: LogIndex, entries newEntries: [Entry]
    ) throws(StorageError) -> LogIndex? {
        guard try matchesTerm(previousIndex, previousTerm) else { return nil }
        let lastNew = previousIndex + LogIndex(newEntries.count)
        if let conflict = try firstConflict(in: newEntries) {
            precondition(conflict > committed, "conflict at \(conflict) within committed prefix \(committed)")
            truncateAndAppend(Array(newEntries[Int(conflict - newEntries[0].index)...]))
        }
        commit(to: min(leaderCommit, lastNew))
        return lastNew
    }

    /// The index of the first entry whose term differs from ours, or which we do not have.
    private func firstConflict(in newEntries: [Entry]) throws(StorageError) -> LogIndex? {
        for entry in newEntries where try !matchesTerm(entry.index, entry.term) {
            return entry.index
        }
        return nil
    }

    /// The largest index ≤ `index` whose term is ≤ `term`, with that term (etcd's
    /// findConflictByTerm). Lets a rejecting follower point the leader past a whole wrong term.
    func conflictHint(index: LogIndex, term: Term) throws(StorageError) -> (index: LogIndex, term: Term) {
        var candidate = min(index, lastIndex)
        while true {
            guard let found = try termIfHeld(at: candidate) else { return (candidate, 0) }
            if found <= term || candidate == 0 { return (candidate, found) }
            candidate -= 1
        }
    }

    private mutating func truncateAndAppend(_ newEntries: [Entry]) {
        let after = newEntries[0].index
        // What was handed out from `after` on is replaced: the new entries go out from there.
        persistHandedOut = min(persistHandedOut, after - 1)
        if after == unstableOffset + LogIndex(unstableEntries.count) {
            unstableEntries.append(contentsOf: newEntries)
        } else if after <= unstableOffset {
            unstableOffset = after
            unstableEntries = newEntries
        } else {
            unstableEntries.removeSubrange(Int(after - unstableOffset)...)
            unstableEntries.append(contentsOf: newEntries)
        }
    }

    mutating func commit(to index: LogIndex) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) is past the last index \(lastIndex)")
        committed = index
    }

    /// The last committed index that may be handed out to apply: with `allowUnstable` (a driver
    /// that writes each Ready's entries before it applies them, and the same Ready hands out every
    /// entry not yet handed out) the commit index; otherwise only what is acknowledged durable
    /// here too, so that the state machine never runs ahead of the local log.
    private func applyLimit(allowUnstable: Bool) -> LogIndex {
        allowUnstable ? committed : min(committed, unstableOffset - 1)
    }

    func hasCommittedToHandOut(allowUnstable: Bool) -> Bool {
        pendingSnapshot == nil && applyLimit(allowUnstable: allowUnstable) > applyHandedOut
    }

    /// Committed entries not yet handed out to apply, up to `maxBytes` (at least one when any is
    /// due); does not mark them handed out (`handedOutToApply(through:)` does).
    func nextCommittedEntries(maxBytes: Int, allowUnstable: Bool) throws(StorageError) -> [Entry] {
        let limit = applyLimit(allowUnstable: allowUnstable)
        guard limit > applyHandedOut, pendingSnapshot == nil else { return [] }
        return Array(try entries(from: applyHandedOut + 1, maxBytes: maxBytes).prefix { $0.index <= limit })
    }

    mutating func handedOutToApply(through index: LogIndex) {
        precondition(index <= committed, "handing out \(index) to apply past committed \(committed)")
        applyHandedOut = max(applyHandedOut, index)
    }

    mutating func applied(to index: LogIndex) {
        guard index > applied else { return }
        precondition(index <= applyHandedOut, "applied \(index) is past what was handed out to apply (\(applyHandedOut))")
        applied = index
    }

    var hasEntriesToHandOut: Bool { lastIndex > persistHandedOut }

    /// The entries not yet handed out to be written (from the truncation point again after a
    /// conflicting append); they count as handed out from now on.
    mutating func takeEntriesToPersist() -> [Entry] {
        guard lastIndex > persistHandedOut else { return [] }
        let start = Int(persistHandedOut + 1 - unstableOffset)
        persistHandedOut = lastIndex
        return Array(unstableEntries[start...])
    }

    /// Storage holds everything through `index` durably: drop it from the unstable tail. With
    /// `term`, only if the entry at `index` still has that term (it may have been replaced since
    /// the write started). Returns whether everything through `index` is now stable.
    @discardableResult
    mutating func persisted(through index: LogIndex, term: Term?) -> Bool {
        if index < unstableOffset { return true }
        guard index <= persistHandedOut else { return false }
        if let term, unstableEntries[Int(index - unstableOffset)].term != term { return false }
        unstableEntries.removeFirst(Int(index - unstableOffset) + 1)
        unstableOffset = index + 1
        return true
    }
}
