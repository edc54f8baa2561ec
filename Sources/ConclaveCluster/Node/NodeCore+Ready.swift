import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// Draining Raft's `Ready`: persist, send, apply, advance — in that order, until nothing is left.
extension NodeCore {
    /// Persist (snapshot, entries, hard state) before any message of the same Ready goes out;
    /// then stamp and hand out the messages, apply committed entries, note read confirmations,
    /// advance, serve reads that became due and snapshot when due. Stops at the first storage error.
    ///
    /// Writing in the background (NodeCore+Writes), the write only starts: the messages that
    /// promise nothing about the disk leave at once, the answers that do wait for the write, and
    /// the applied entries are acknowledged on their own. At most `writesInFlightMax` writes run;
    /// past that the next Ready waits for a completion.
    mutating func drainReady() {
        while isRunning && raft.hasReady && pendingWrites.count < config.writesInFlightMax {
            let ready = raft.ready()
            if let failure = ready.storageFailure {
                stop(reason: "storage: \(failure)")
                return
            }
            let background = asyncStorage != nil
            if !background {
                guard persist(ready) else { return }
            }
            if let soft = ready.softState { softStateChanged(soft) }
            let leading = raft.role == .leader
            if background {
                guard startWrite(ready, leading: leading) else { return }
            }
            if leading && ready.messages.contains(where: { $0.kind == .heartbeat }) {
                quorumClock.openRound(term: raft.term, localNanos: time.clockNanos)
            }
            for message in ready.messages { outputs.append(.send(stamped(message, asLeader: leading))) }
            for entry in ready.committedEntries { apply(entry) }
            for readState in ready.readStates { readConfirmed(readState) }
            if background {
                if let last = ready.committedEntries.last { raft.applied(through: last.index) }
                finishCompletedWrites()
            } else {
                raft.advance(ready)
            }
            serveReads()
            takeSnapshotIfDue()
        }
    }

    /// Writes what the Ready says must be durable before its messages go out. False (and the node
    /// stopped) when storage fails.
    private mutating func persist(_ ready: Ready) -> Bool {
        do {
            if let snapshot = ready.snapshot { try install(snapshot) }
            let previousTerm = ready.entries.first.flatMap { try? storage.term(at: $0.index - 1) }
            if !ready.entries.isEmpty || ready.hardState != nil {
                try storage.save(hardState: ready.hardState, entries: ready.entries)
            }
            if !ready.entries.isEmpty { outputs.append(.persisted(entries: ready.entries, previousTerm: previousTerm)) }
            return true
        } catch {
            stop(reason: "storage: \(error)")
            return false
        }
    }

    /// A snapshot from the leader: it replaces the log on disk and the state machine. It is
    /// loaded first: a snapshot that does not load (damaged, or refused by restore's checks)
    /// changes nothing on disk and stops the node with the reason, never traps it.
    /// On storage that received the snapshot into a file (`SnapshotReceivingStorage`), Raft's
    /// snapshot carries no data: the file is finished and read back, loaded, then made current.
    mutating func install(_ snapshot: Snapshot) throws {
        let loaded: CoordinationStateMachine
        if let receiving = storage as? any SnapshotReceivingStorage {
            let received = try receiving.finishReceivedSnapshot()
            precondition(received.index == snapshot.index, "received snapshot \(received.index), Raft installs \(snapshot.index)")
            do {
                loaded = try Self.load(received)
            } catch {
                receiving.abandonReceivedSnapshot()
                throw error
            }
            try receiving.commitReceivedSnapshot()
        } else {
            loaded = try Self.load(snapshot)
            try storage.applySnapshot(snapshot)
        }
        snapshotIndex = max(snapshotIndex, snapshot.index)
        appliedBytesSinceSnapshot = 0
        stateMachine = loaded
        resyncScheduler()
        outputs.append(.snapshotInstalled(index: snapshot.index, digest: stateMachine.combinedDigest))
    }

    /// The state machine a snapshot holds, or why it does not load.
    static func load(_ snapshot: Snapshot) throws(NodeCoreError) -> CoordinationStateMachine {
        do {
            return try CoordinationStateMachine(restoring: snapshot.data)
        } catch {
            throw .storage("snapshot at \(snapshot.index) does not load: \(error)")
        }
    }

    /// Leadership changed hands: the quorum clock starts over; a new leader is announced.
    private mutating func softStateChanged(_ soft: SoftState) {
        quorumClock.resetLeadership()
        guard soft.role == .leader else { return }
        outputs.append(.becameLeader(term: raft.term))
    }

    /// Every `snapshotEveryEntries` applied entries — and, with `snapshotLogRatio`, once they
    /// hold that many times the last snapshot's bytes — snapshot the state machine and compact the
    /// log, keeping `compactionKeepEntries` entries for followers that are only a little behind.
    private mutating func takeSnapshotIfDue() {
        guard config.snapshotEveryEntries > 0, isRunning else { return }
        guard stateMachine.appliedIndex >= snapshotIndex + config.snapshotEveryEntries else { return }
        let (due, overflow) = config.snapshotLogRatio.multipliedReportingOverflow(by: lastSnapshotBytes)
        guard !overflow, appliedBytesSinceSnapshot >= due else { return }
        if startBackgroundSnapshot() { return }
        takeSnapshot()
    }

    /// Snapshots the state machine at its applied index and compacts the log behind it; an I/O
    /// error stops the node.
    mutating func takeSnapshot() {
        let applied = stateMachine.appliedIndex
        do {
            let membership = raft.confState
            let data = stateMachine.snapshotData()
            try storage.createSnapshot(index: applied, voters: membership.voters, learners: membership.learners, data: data)
            snapshotIndex = applied
            lastSnapshotBytes = UInt64(data.count)
            appliedBytesSinceSnapshot = 0
            if applied > config.compactionKeepEntries {
                try storage.compact(through: applied - config.compactionKeepEntries)
            }
            outputs.append(.snapshotTaken(index: applied))
        } catch StorageError.io(let reason) {
            stop(reason: "storage: snapshot at \(applied): \(reason)")
        } catch let error as StorageError {
            preconditionFailure("node \(id): snapshot at \(applied) failed: \(error)")
        } catch {
            stop(reason: "storage: snapshot at \(applied): \(error)")
        }
    }
}
