import ConclaveCore
import ConclaveRaft

/// Operator commands: membership changes and leadership transfer (a leader takes them), and a
/// snapshot on demand (any node).
extension NodeCore {
    /// Proposes a membership change (this node must lead). Throws what Raft refused.
    public mutating func proposeConfChange(_ change: ConfChange, at time: NodeTime) throws(RaftError) {
        guard begin(at: time) else { throw .proposalDropped("node \(id) has stopped") }
        try raft.proposeConfChange(change)
        inputHandled()
    }

    /// Asks this node, as leader, to hand leadership to `target`. Throws what Raft refused.
    public mutating func transferLeadership(to target: NodeID, at time: NodeTime) throws(RaftError) {
        guard begin(at: time) else { throw .proposalDropped("node \(id) has stopped") }
        try raft.transferLeadership(to: target)
        inputHandled()
    }

    /// Snapshots now (the operator's ADMIN.SNAPSHOT), whatever `snapshotEveryEntries` says, and
    /// compacts the log as a due snapshot does. Returns the snapshot's index: the applied index,
    /// or the newest snapshot's when nothing applied since it. Nil when the node has stopped (the
    /// snapshot's I/O error stops it, with `NodeOutput.stopped`).
    public mutating func snapshotNow(at time: NodeTime) -> LogIndex? {
        guard begin(at: time) else { return nil }
        if stateMachine.appliedIndex > snapshotIndex { takeSnapshot() }
        return isRunning ? snapshotIndex : nil
    }
}
