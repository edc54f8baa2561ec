import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// One node as an observer sees it.
public struct SimulatedNodeStatus: Equatable, Sendable {
    public var id: NodeID
    public var health: SimulatedHealth
    /// Nil while the node is crashed.
    public var raft: RaftStatus?
    /// Why the node stopped itself (an I/O error), if it did, until it is restarted.
    public var stopReason: String?
    public var clockOffsetMillis: Int64
    public var clockRatePermille: UInt64
}

extension Simulator {
    public func status(of node: NodeID) -> SimulatedNodeStatus {
        let simulated = nodes[index(of: node)]
        return SimulatedNodeStatus(
            id: node, health: simulated.health, raft: simulated.core?.raft.status(), stopReason: simulated.stopReason,
            clockOffsetMillis: simulated.clockOffsetMillis, clockRatePermille: simulated.clockRatePermille)
    }

    /// The live leader with the highest term, if any node is leading.
    public var leader: NodeID? {
        leaders.max { $0.term < $1.term }?.node
    }

    /// Live (up, not paused) nodes that consider themselves leader, by term.
    public var leaders: [(node: NodeID, term: Term)] {
        nodes.compactMap { node in
            guard node.health == .up, let raft = node.core?.raft, raft.role == .leader else { return nil }
            return (node.id, raft.term)
        }
    }

    public func isUp(_ node: NodeID) -> Bool { nodes[index(of: node)].health == .up }
    public func isCrashed(_ node: NodeID) -> Bool { nodes[index(of: node)].health == .crashed }

    public func term(of node: NodeID) -> Term { nodes[index(of: node)].core?.raft.term ?? 0 }

    public func raft(of node: NodeID) -> Raft? { nodes[index(of: node)].core?.raft }

    /// The node's KV store.
    public func stateMachine(of node: NodeID) -> KVStateMachine { coordination(of: node).kv }

    /// The node's whole replicated state: KV, cluster time, sessions, locks, counters (as it was
    /// when the node went down, while it is crashed).
    public func coordination(of node: NodeID) -> CoordinationStateMachine {
        nodes[index(of: node)].memory?.stateMachine ?? CoordinationStateMachine()
    }

    /// The entries a node applied since it last started (requires `recordApplied`).
    public func appliedEntries(of node: NodeID) -> [Entry] { nodes[index(of: node)].appliedEntries }

    /// The groups the network is split into right now.
    public var partitionGroups: [[NodeID]] { network.partitionGroups(of: nodeIDs) }

    /// How many nodes hold `data` as an applied entry at `index`, and whether they all agree
    /// (the classic lab's nCommitted; requires `recordApplied`).
    public func appliedCount(at index: LogIndex) -> (count: Int, data: [UInt8]?, agree: Bool) {
        var count = 0
        var data: [UInt8]?
        var agree = true
        for node in nodes {
            let position = Int(index) - 1 - (node.appliedEntries.first.map { Int($0.index) - 1 } ?? 0)
            guard position >= 0, position < node.appliedEntries.count else { continue }
            let entry = node.appliedEntries[position]
            if let data, data != entry.data { agree = false }
            data = entry.data
            count += 1
        }
        return (count, data, agree)
    }
}
