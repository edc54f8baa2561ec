import ConclaveCoordination
import ConclaveCore
import ConclaveRaft

/// Storage that can take a node's own snapshot in two halves, so that encoding the state machine
/// and writing the file (O(state)) happen off the node's thread: the file is written and synced
/// anywhere (`writeSnapshotFile`), then made current on the node's thread (`commitSnapshotFile`).
/// A daemon's WAL storage does this (`NodeConfig.snapshotsInBackground`); the simulator takes
/// snapshots inline, as one step of the node.
public protocol BackgroundSnapshotStorage: AnyObject, Sendable {
    /// The term of the entry at `index` (the snapshot's), read on the node's thread.
    func snapshotTerm(at index: LogIndex) throws -> Term
    /// Encodes nothing itself: writes `data` as the snapshot file of `job` and syncs it. Safe
    /// from any thread, one job at a time.
    func writeSnapshotFile(_ job: SnapshotJob, data: [UInt8]) throws
    /// Makes the written file the current snapshot, on the node's thread. False when a newer
    /// snapshot (a leader's, installed meanwhile) made this one stale: it is dropped.
    func commitSnapshotFile(_ job: SnapshotJob) throws -> Bool
}

/// A snapshot of the node's own state machine to encode and write off its thread: the state
/// machine as it stood at `index` (a copy-on-write value: the node goes on changing its own).
public struct SnapshotJob: Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]
    let machine: CoordinationStateMachine

    /// The snapshot's bytes: the cost the node's thread no longer pays.
    public func encode() -> [UInt8] { machine.snapshotData() }
}

extension NodeCore {
    /// Hands the due snapshot to the driver (`NodeOutput.snapshotDue`) instead of taking it here;
    /// false when this storage or configuration takes snapshots inline.
    mutating func startBackgroundSnapshot() -> Bool {
        guard config.snapshotsInBackground, let background = storage as? any BackgroundSnapshotStorage else { return false }
        guard snapshotInFlight == nil else { return true }  // one at a time; the next when it is due again
        let applied = stateMachine.appliedIndex
        let membership = raft.confState
        do {
            let term = try background.snapshotTerm(at: applied)
            snapshotInFlight = applied
            appliedBytesSinceSnapshot = 0
            outputs.append(.snapshotDue(SnapshotJob(index: applied, term: term, voters: membership.voters,
                                                    learners: membership.learners, machine: stateMachine)))
        } catch {
            stop(reason: "storage: snapshot at \(applied): \(error)")
        }
        return true
    }

    /// The driver wrote a job's file (`written` bytes), or could not (`failure`): the snapshot is
    /// made current and the log compacted behind it, or the node stops (a snapshot that cannot be
    /// written is an I/O error like any other).
    public mutating func snapshotWritten(_ job: SnapshotJob, bytes: Int, failure: String?, at time: NodeTime) {
        guard begin(at: time) else { return }
        snapshotInFlight = nil
        if let failure { return stop(reason: "storage: snapshot at \(job.index): \(failure)") }
        guard let background = storage as? any BackgroundSnapshotStorage else { return }
        do {
            guard try background.commitSnapshotFile(job) else { return }
            snapshotIndex = max(snapshotIndex, job.index)
            lastSnapshotBytes = UInt64(bytes)
            if job.index > config.compactionKeepEntries {
                try storage.compact(through: job.index - config.compactionKeepEntries)
            }
            outputs.append(.snapshotTaken(index: job.index))
        } catch {
            stop(reason: "storage: snapshot at \(job.index): \(error)")
        }
    }
}
