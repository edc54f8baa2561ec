import ConclaveCore

/// Handing out work and taking acknowledgements.
///
/// Every piece of work is handed out by `ready()` exactly once: the entries not yet handed out to
/// be written (after a conflicting append, again from the truncation point), the hard and soft
/// state when they changed, a leader's snapshot, the committed entries not yet handed out to
/// apply, and the messages. The caller acknowledges as the work completes:
/// - `persisted(_:)`: a Ready's write (and every earlier one) is durable. Only then does the node
///   count its own log toward a commit quorum as leader, its own vote as candidate, and hand out
///   committed entries beyond what was durable (with `asyncStorageWrites`);
/// - `applied(through:)`: committed entries handed out are applied (membership changes take
///   effect, the leader's uncommitted-bytes budget is released);
/// - `advance(_:)`: both at once, for a Ready written, sent and applied in full — the synchronous
///   loop (the simulator, the tests).
///
/// With `RaftConfig.asyncStorageWrites` the caller may take more Readies while writes are in
/// flight: it sends `messages` at once, and `messagesAfterPersist` once the write they ride with
/// (and the ones before it) is durable; writes must complete in the order they were handed out.
/// The leader's appends to followers therefore leave while its own write runs (Raft §10.2.1,
/// etcd-io/raft's contract).
extension Raft {
    /// True when `ready()` has something for the caller.
    public var hasReady: Bool {
        if storageFailure != nil { return !storageFailureHandedOut }
        return !outbox.isEmpty || !outboxAfterPersist.isEmpty || appendsPending || readHeartbeatPending
            || log.hasEntriesToHandOut || log.hasCommittedToHandOut(allowUnstable: !config.asyncStorageWrites)
            || hardState != hardStateHandedOut || softState != softStateHandedOut || !readStates.isEmpty
            || log.hasSnapshotToHandOut
    }

    /// The work not handed out before; see the extension's doc for the contract. Once storage
    /// has failed, the one Ready left carries only `storageFailure`.
    public mutating func ready() -> Ready {
        var committedEntries: [Entry] = []
        stopOnStorageError { raft throws(StorageError) in
            if raft.appendsPending {
                raft.appendsPending = false
                if raft.role == .leader { try raft.broadcastAppend() }
            }
            if raft.readHeartbeatPending {
                raft.readHeartbeatPending = false
                if raft.role == .leader { raft.broadcastHeartbeat() }
            }
            committedEntries = try raft.log.nextCommittedEntries(maxBytes: raft.config.committedBytesPerReadyMax,
                                                                 allowUnstable: !raft.config.asyncStorageWrites)
        }
        if let storageFailure {
            storageFailureHandedOut = true
            return Ready(softState: nil, hardState: nil, entries: [], committedEntries: [], messages: [],
                         snapshot: nil, readStates: [], storageFailure: storageFailure)
        }
        let currentHard = hardState
        let currentSoft = softState
        var ready = Ready(
            softState: currentSoft != softStateHandedOut ? currentSoft : nil,
            hardState: currentHard != hardStateHandedOut ? currentHard : nil,
            entries: [],
            committedEntries: committedEntries,
            messages: outbox,
            snapshot: log.takeSnapshotToPersist(),
            readStates: readStates,
            messagesAfterPersist: outboxAfterPersist
        )
        ready.entries = log.takeEntriesToPersist()
        softStateHandedOut = currentSoft
        hardStateHandedOut = currentHard
        ready.write = handOutWrite(ready)
        if let last = committedEntries.last { handOutApply(committedEntries, through: last.index) }
        outbox.removeAll(keepingCapacity: true)
        outboxAfterPersist.removeAll(keepingCapacity: true)
        readStates.removeAll()
        return ready
    }

    private mutating func handOutWrite(_ ready: Ready) -> WriteTicket? {
        guard ready.snapshot != nil || !ready.entries.isEmpty || ready.hardState != nil else { return nil }
        let ticket = WriteTicket(sequence: nextWriteSequence)
        nextWriteSequence += 1
        writesInFlight.append(WriteInFlight(
            ticket: ticket, snapshotIndex: ready.snapshot?.index, firstIndex: ready.entries.first?.index,
            last: ready.entries.last.map { ($0.index, $0.term) }, hardState: ready.hardState))
        return ticket
    }

    private mutating func handOutApply(_ entries: [Entry], through last: LogIndex) {
        log.handedOutToApply(through: last)
        let memberships = entries.lazy.filter { $0.kind == .membership }.compactMap { MembershipEntry(decoding: $0.data) }
        appliesInFlight.append(ApplyInFlight(lastIndex: last, dataBytes: entries.reduce(0) { $0 + $1.data.count },
                                             memberships: Array(memberships)))
    }

    /// The caller has persisted, sent and applied everything in `ready`.
    public mutating func advance(_ ready: Ready) {
        if let write = ready.write { persisted(write) }
        if let last = ready.committedEntries.last { applied(through: last.index) }
    }

    /// The write `ticket` names, and every write handed out before it, is durable. A ticket
    /// already acknowledged is ignored.
    ///
    /// The entries it wrote become stable, except those that a conflicting append has replaced
    /// since (a later write, or one not yet handed out, rewrites them): only the prefix no later
    /// write touches counts. As leader, that prefix is our own match toward a commit quorum; as
    /// candidate, a durable vote for ourselves counts.
    public mutating func persisted(_ ticket: WriteTicket) {
        stopOnStorageError { raft throws(StorageError) in try raft.persistedThrowing(ticket) }
    }

    private mutating func persistedThrowing(_ ticket: WriteTicket) throws(StorageError) {
        guard let position = writesInFlight.firstIndex(where: { $0.ticket == ticket }) else { return }
        let done = writesInFlight[...position]
        writesInFlight.removeFirst(position + 1)
        // The log on disk ends with the newest entries written (a write drops the suffix after
        // them) or the newest snapshot installed.
        var durableEnd: (index: LogIndex, term: Term)?
        for write in done {
            if let snapshotIndex = write.snapshotIndex {
                log.snapshotPersisted(index: snapshotIndex)
                durableEnd = nil
            }
            if let last = write.last { durableEnd = last }
            if let hard = write.hardState { persistedHardState = hard }
        }
        if let end = durableEnd, let through = stableBound(durableEnd: end.index),
           log.persisted(through: through, term: through == end.index ? end.term : nil),
           role == .leader, progress[id]?.acknowledged(through) == true {
            if try maybeCommit() { try broadcastAppend() }
        }
        try countOwnVoteIfPersisted()
    }

    /// The last index that the acknowledged writes made durable and no later one rewrites: below
    /// the first entry of every write still in flight, and not past what was handed out (a
    /// truncation not yet handed out moved that back). Nil when a snapshot in flight replaces all.
    private func stableBound(durableEnd: LogIndex) -> LogIndex? {
        var bound = min(durableEnd, log.persistHandedOut)
        for write in writesInFlight {
            if write.snapshotIndex != nil { return nil }
            if let first = write.firstIndex { bound = min(bound, first - 1) }
        }
        return bound
    }

    /// Committed entries handed out through `index` are applied. Acknowledges whole batches as
    /// handed out (`index` is the last of a Ready's `committedEntries`; a batch only partly
    /// applied waits for its end): membership changes in them take effect and, on a leader, their
    /// bytes leave the uncommitted budget.
    public mutating func applied(through index: LogIndex) {
        stopOnStorageError { raft throws(StorageError) in try raft.appliedThrowing(through: index) }
    }

    private mutating func appliedThrowing(through index: LogIndex) throws(StorageError) {
        let count = appliesInFlight.prefix { $0.lastIndex <= index }.count
        guard count > 0 else { return }
        let batches = appliesInFlight.prefix(count)
        appliesInFlight.removeFirst(count)
        log.applied(to: batches.last!.lastIndex)
        for batch in batches {
            for membership in batch.memberships { try applyMembership(membership) }
        }
        if role == .leader {
            let appliedBytes = batches.reduce(0) { $0 + $1.dataBytes }
            uncommittedBytes = max(0, uncommittedBytes - appliedBytes)
            releaseReadsAwaitingCommit()
        }
    }
}
