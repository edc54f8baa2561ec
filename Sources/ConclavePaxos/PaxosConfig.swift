import ConclaveCore

/// How a Paxos node behaves. Every node is proposer, acceptor and learner; `acceptors` lists them
/// all. Times are in ticks: the caller decides how long a tick is.
public struct PaxosConfig: Sendable {
    public var id: NodeID
    /// Every acceptor, this node included. A quorum is a majority of them.
    public var acceptors: [NodeID]
    /// Multi-Paxos with a distinguished proposer: a leader that completed phase 1 skips it for
    /// later slots while it sees no higher ballot, and others refuse proposals while they hear its
    /// heartbeats. Off: every node proposes on its own and runs phase 1 for each batch of values,
    /// which lets proposers duel (the livelock of Paxos Made Simple §2.4).
    public var distinguishedProposer = true
    /// After a preemption (a nack naming a higher ballot) wait a random number of ticks in
    /// [backoffTicksMin, 2 × backoffTicksMin) before preparing again. Off (with a 0 wait), two
    /// proposers can preempt each other forever.
    public var randomizedBackoff = true
    public var backoffTicksMin = 4
    /// The leader sends heartbeats, and retransmits unanswered prepares and accepts, this often.
    public var heartbeatTicks = 1
    /// A follower that hears no heartbeat for a random time in [leaderTimeoutTicks,
    /// 2 × leaderTimeoutTicks) starts phase 1 itself.
    public var leaderTimeoutTicks = 10
    /// At most this many in-flight slots (the oldest) get their accepts sent again per heartbeat,
    /// so a leader cut off from its quorum does not flood the network with its whole backlog.
    public var retransmitSlotsMax = 64
    /// At most this many chosen values in one catch-up reply.
    public var catchUpEntriesPerMessageMax = 256
    /// At most this many values a proposer holds not yet chosen (queued or in flight); more are
    /// refused with `PaxosError.overloaded`.
    public var pendingValuesMax = 4096

    public init(id: NodeID, acceptors: [NodeID]) {
        self.id = id
        self.acceptors = acceptors.sorted()
    }

    /// A majority of the acceptors.
    public var quorum: Int { acceptors.count / 2 + 1 }

    /// How many acceptors may fail with the rest still able to choose: ⌊(n − 1) / 2⌋.
    public var faultTolerance: Int { (acceptors.count - 1) / 2 }

    /// A sentence for the operator. An even count is allowed, but the extra acceptor only makes
    /// the quorum larger: 4 tolerate 1 failure, as 3 do.
    public var faultToleranceDescription: String {
        let n = acceptors.count
        var text = "\(n) acceptors, quorum \(quorum): tolerates \(faultTolerance) failed acceptor\(faultTolerance == 1 ? "" : "s")"
        if n % 2 == 0 {
            text += " (an even count: \(n - 1) acceptors would tolerate as many with a smaller quorum)"
        }
        return text
    }

    /// Checks the settings; throws naming the first one that is wrong and what is accepted.
    public func validate() throws(PaxosError) {
        guard id != noNode else { throw .invalidConfig(InputError(parameter: "id", value: "0", accepted: "a node ID ≥ 1 (0 means no node)")) }
        guard acceptors.count >= 3 else {
            throw .invalidConfig(InputError(
                parameter: "acceptors", value: "\(acceptors.count)",
                accepted: "at least 3 acceptors (with fewer, one failure stops the cluster or no majority can overlap a failed one)"))
        }
        guard Set(acceptors).count == acceptors.count, !acceptors.contains(noNode) else {
            throw .invalidConfig(InputError(parameter: "acceptors", value: "\(acceptors)", accepted: "distinct node IDs ≥ 1"))
        }
        guard acceptors.contains(id) else {
            throw .invalidConfig(InputError(parameter: "id", value: "\(id)", accepted: "one of the acceptors \(acceptors)"))
        }
        for (name, value) in [("heartbeatTicks", heartbeatTicks), ("catchUpEntriesPerMessageMax", catchUpEntriesPerMessageMax),
                              ("retransmitSlotsMax", retransmitSlotsMax),
                              ("pendingValuesMax", pendingValuesMax)] where value <= 0 {
            throw .invalidConfig(InputError(parameter: name, value: "\(value)", accepted: "an integer ≥ 1"))
        }
        guard backoffTicksMin >= 0 else {
            throw .invalidConfig(InputError(parameter: "backoffTicksMin", value: "\(backoffTicksMin)", accepted: "an integer ≥ 0"))
        }
        guard leaderTimeoutTicks > heartbeatTicks else {
            throw .invalidConfig(InputError(parameter: "leaderTimeoutTicks", value: "\(leaderTimeoutTicks)",
                                            accepted: "more than heartbeatTicks (\(heartbeatTicks))"))
        }
    }
}

/// What the Paxos core refuses, as values.
public enum PaxosError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidConfig(InputError)
    /// A distinguished proposer is known and it is not this node: propose there.
    case notLeader(NodeID)
    /// `PaxosConfig.pendingValuesMax` values wait already.
    case overloaded(Int)

    public var description: String {
        switch self {
        case .invalidConfig(let error): return "invalid Paxos configuration: \(error)"
        case .notLeader(let leader): return "not the distinguished proposer (node \(leader) is)"
        case .overloaded(let count): return "proposal refused: \(count) values already wait to be chosen"
        }
    }
}
