import ConclaveCore
import ConclaveRaft

/// Operator commands a leader takes: membership changes and leadership transfer.
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
}
