import ConclaveCluster
import ConclaveCore
import ConclavePaxos

/// The embedded Paxos cluster as the console shows it. It only reads. Besides the `paxos` part it
/// fills the generic node list (leading → leader, preparing → candidate, the ballot's round as the
/// term, chosen-through as the commit index), so selection, node keys and the trends work as on
/// Raft. O(nodes × slotsMax + messagesMax): the log itself is never walked.
struct PaxosSnapshotBuilder {
    let cluster: PaxosCluster

    func snapshot(seed: UInt64, time: VirtualTime, lastStep: String?, events: [ClusterEvent],
                  rates: (chosen: Double, messages: Double)) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.engine = .paxos
        snapshot.seed = seed
        snapshot.nowNanos = cluster.nowMillis * 1_000_000
        snapshot.speed = time.speed
        snapshot.isPaused = time.isPaused
        snapshot.lastStep = lastStep
        snapshot.events = events
        snapshot.messagesPerSecond = rates.messages
        snapshot.network.dropPercent = cluster.dropPercent
        snapshot.network.duplicatePercent = cluster.duplicatePercent
        snapshot.network.delayMillis = cluster.delayMillisMax
        snapshot.network.groups = cluster.partitionGroups
        var paxos = PaxosSnapshot()
        paxos.quorum = cluster.nodeIDs.count / 2 + 1
        paxos.faultTolerance = PaxosConfig(id: 1, acceptors: cluster.nodeIDs).faultToleranceDescription
        paxos.distinguishedProposer = cluster.settings.distinguishedProposer
        paxos.randomizedBackoff = cluster.settings.randomizedBackoff
        paxos.nodes = cluster.nodeIDs.map(node)
        paxos.slots = slots()
        // A leader's heartbeats (two per tick per follower) would push every other message out.
        let recent = cluster.recentMessages
        let shown = recent.enumerated().filter { $0.element.message.name != "heartbeat" || $0.offset == recent.count - 1 }.map(\.element)
        paxos.messages = shown.suffix(PaxosSnapshot.messagesMax).map {
            PaxosMessageLine(nanos: $0.millis * 1_000_000, kind: $0.message.name, text: "\($0.message)")
        }
        paxos.chosenCount = cluster.chosenCount
        paxos.chosenPerSecond = rates.chosen
        paxos.messagesPerSecond = rates.messages
        paxos.valuesWaiting = cluster.valuesWaiting
        paxos.waitingForMillis = paxos.valuesWaiting > 0 ? cluster.nowMillis - min(cluster.nowMillis, cluster.lastChosenMillis) : nil
        paxos.violations = cluster.violations
        snapshot.nodes = paxos.nodes.map(generic)
        snapshot.paxos = paxos
        return snapshot
    }

    func node(_ id: NodeID) -> PaxosNodeSnapshot {
        let promised = cluster.acceptorState(of: id).promised
        let group = cluster.partitionGroups.firstIndex { $0.contains(id) }.map { $0 + 1 } ?? 0
        guard let paxos = cluster.node(id) else {
            return PaxosNodeSnapshot(id: id, health: .crashed, phase: "-", ballot: "-", ballotRound: 0, leader: noNode,
                                     promised: Self.ballot(promised), chosenThrough: 0, valuesWaiting: 0, preemptions: 0,
                                     partitionGroup: group)
        }
        let paused = cluster.pausedForMillis(id)
        return PaxosNodeSnapshot(id: id, health: paused == nil ? .up : .paused, phase: paxos.phase.rawValue, ballot: Self.ballot(paxos.ballot),
                                 ballotRound: paxos.ballot.round, leader: paxos.leader, promised: Self.ballot(promised),
                                 chosenThrough: paxos.chosenThrough, valuesWaiting: paxos.status.valuesWaiting,
                                 preemptions: paxos.preemptions, partitionGroup: group, pausedForMillis: paused ?? 0)
    }

    /// The newest `slotsMax` slots: up to the highest any learner knows chosen, then on while some
    /// acceptor accepted something (values in flight).
    func slots() -> [PaxosSlotSnapshot] {
        let acceptors = cluster.nodeIDs.map { cluster.acceptorState(of: $0) }
        var top = cluster.nodeIDs.compactMap { cluster.node($0)?.highestChosenSlot }.max() ?? 0
        while acceptors.contains(where: { $0.accepted[top + 1] != nil }) { top += 1 }
        guard top > 0 else { return [] }
        let first = top >= Slot(PaxosSnapshot.slotsMax) ? top - Slot(PaxosSnapshot.slotsMax) + 1 : 1
        return (first...top).map { slot in
            let chosen = cluster.chosenValue(at: slot)
            let accepted = acceptors.map { acceptor in
                acceptor.accepted[slot].map {
                    PaxosSlotSnapshot.Accepted(ballot: Self.ballot($0.ballot), valueID: Self.valueID($0.value), isChosen: $0.value == chosen)
                }
            }
            return PaxosSlotSnapshot(slot: slot, accepted: accepted, chosen: chosen.map(PaxosCluster.describe))
        }
    }

    func generic(_ node: PaxosNodeSnapshot) -> NodeSnapshot {
        let role: NodeSnapshot.Role = node.phase == "leading" ? .leader : node.phase == "preparing" ? .candidate : node.health == .crashed ? .none : .follower
        var generic = NodeSnapshot(id: node.id, role: role, health: node.health)
        generic.term = node.ballotRound
        generic.commit = node.chosenThrough
        generic.applied = node.chosenThrough
        generic.partitionGroup = node.partitionGroup
        generic.pausedForMillis = node.pausedForMillis
        return generic
    }

    static func ballot(_ ballot: Ballot) -> String { ballot == .zero ? "-" : "\(ballot)" }

    static func valueID(_ value: PaxosValue) -> String { value.commandID.map { "#\($0)" } ?? "noop" }
}
