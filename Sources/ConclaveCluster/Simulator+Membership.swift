import ConclaveCore
import ConclaveRaft

extension Simulator {
    /// Starts a new, empty node process (the next free ID). It belongs to no configuration until
    /// the leader adds it as a learner; then it catches up by log or snapshot.
    public func addNode() throws(SimulationError) -> NodeID {
        guard nodeIDs.count < SimulationConfig.nodesRange.upperBound else {
            throw .invalid("cannot add a node: the simulator holds at most \(SimulationConfig.nodesRange.upperBound)")
        }
        let node = NodeID(nodeIDs.count + 1)
        nodeIDs.append(node)
        nodes.append(SimulatedNode(id: node, voters: []))
        start(node)
        trace.record(now, "node \(node) started (empty)", hash: 0xADD0 &+ node)
        return node
    }

    /// Proposes a membership change on the current leader.
    public func changeMembership(_ change: ConfChange) throws(SimulationError) {
        guard let leader else { throw .invalid("no leader to propose \(change) to") }
        let position = index(of: leader)
        let time = nodeTime(position)
        do {
            try nodes[position].core!.proposeConfChange(change, at: time)
        } catch {
            throw .invalid(error.description)
        }
        trace.record(now, "propose \(change) at \(leader)", hash: 0xC0F &+ change.node)
        perform(nodes[position].core!.takeOutputs(), from: position)
    }

    /// Asks the current leader to hand leadership to `target`.
    public func transferLeadership(to target: NodeID) throws(SimulationError) {
        guard nodeIDs.contains(target) else { throw .unknownNode(target) }
        guard let leader else { throw .invalid("no leader to transfer from") }
        let position = index(of: leader)
        let time = nodeTime(position)
        do {
            try nodes[position].core!.transferLeadership(to: target, at: time)
        } catch {
            throw .invalid(error.description)
        }
        trace.record(now, "transfer \(leader) -> \(target)", hash: 0x7F &+ target)
        perform(nodes[position].core!.takeOutputs(), from: position)
    }

    /// The membership as the current leader sees it (nil without a leader).
    public var membership: ConfState? {
        leader.flatMap { nodes[index(of: $0)].core?.raft.confState }
    }

    /// The leader's view of how far `node` has caught up: its match index and the leader's last
    /// index (nil without a leader or when the node is not replicated to).
    public func replicationProgress(of node: NodeID) -> (match: LogIndex, last: LogIndex)? {
        guard let leader, let status = nodes[index(of: leader)].core?.raft.status() else { return nil }
        guard let follower = status.followers.first(where: { $0.node == node }) else { return nil }
        return (follower.match, status.lastIndex)
    }
}
