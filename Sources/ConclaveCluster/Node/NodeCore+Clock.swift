import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// Cluster time on a node: the leader proposes what a quorum of clocks agrees has elapsed
/// (`QuorumClock`), every message carries the clock stamps that agreement is built from, and each
/// node keeps an estimate of cluster time for stamping throttle takes (see `ThrottleTable`).
extension NodeCore {
    /// What a node knows of cluster time: the value of the last clock entry it applied, and its
    /// own monotonic clock (`NodeTime.clockNanos`) when it applied it.
    public struct ClusterTimeEstimate: Sendable, Equatable {
        public var clusterMillis: UInt64 = 0
        public var localNanos: UInt64 = 0

        public init(clusterMillis: UInt64 = 0, localNanos: UInt64 = 0) {
            self.clusterMillis = clusterMillis
            self.localNanos = localNanos
        }
    }

    /// A leader proposes how much time a quorum of voters' clocks agree has passed, in steps of
    /// about `clockIntervalTicks` ticks: the only way cluster time (leases, lock TTLs, deadlines)
    /// moves. A follower's ticks count nothing.
    mutating func proposeElapsedIfDue() {
        guard raft.role == .leader else { return }
        // Heartbeats open the rounds, and a lone voter sends none: its own clock is the quorum,
        // read each tick (without this a one-node cluster's time, and every TTL, stood still).
        if raft.voters == [raft.id] { quorumClock.openRound(term: raft.term, localNanos: time.clockNanos) }
        let intervalNanos = config.clockIntervalTicks * config.tickNanos
        let millis = quorumClock.agreedElapsedMillis(voters: raft.voters, me: raft.id, intervalNanos: intervalNanos)
        guard millis > 0 else { return }
        if proposeNodeCommand(.elapsed(millis: millis)) {
            proposeSchedulerMembersIfChanged()
        }
    }

    /// A message as it leaves the node: stamped with the quorum clock's round and the node's clock.
    func stamped(_ message: Message, asLeader: Bool) -> Message {
        var message = message
        message.clockRound = quorumClock.round(to: message.to, asLeader: asLeader)
        message.clockNanos = time.clockNanos
        return message
    }

    /// Notes a received message's clock stamp before Raft steps it.
    mutating func noteClockStamp(of message: Message) {
        quorumClock.received(
            round: message.clockRound, nanos: message.clockNanos, from: message.from,
            fromLeader: message.kind == .append || message.kind == .heartbeat || message.kind == .snapshot,
            leaderTerm: raft.role == .leader ? raft.term : nil)
    }

    /// Called after every applied entry: notes when this node saw cluster time move.
    mutating func noteClusterTime() {
        let millis = stateMachine.nowMillis
        guard millis != clusterTime.clusterMillis else { return }
        clusterTime = ClusterTimeEstimate(clusterMillis: millis, localNanos: time.clockNanos)
    }

    /// How far cluster time has moved since the last clock entry this node applied, by its own
    /// clock (0 before it has applied one), at most `ThrottleTable.stampLeadMaxMillis`: what a
    /// delay counted from that entry would come short by.
    func clusterTimeLeadMillis(at time: NodeTime) -> UInt64 {
        guard clusterTime.localNanos != 0, time.clockNanos > clusterTime.localNanos else { return 0 }
        return min(ThrottleTable.stampLeadMaxMillis, (time.clockNanos - clusterTime.localNanos) / 1_000_000)
    }

    /// A throttle take as this node proposes it: stamped with cluster time at the last clock entry
    /// it applied plus its monotonic clock since (a skewed clock included). Anything else as is.
    func stampedForThrottle(_ request: CoordinationRequest, at time: NodeTime) -> CoordinationRequest {
        guard case .throttle(.take(let name, let quantity, _)) = request.command else { return request }
        let sinceNanos = time.clockNanos &- clusterTime.localNanos
        var stamped = request
        stamped.command = .throttle(.take(name: name, quantity: quantity,
                                          stampNanos: clusterTime.clusterMillis &* 1_000_000 &+ sinceNanos))
        return stamped
    }
}
