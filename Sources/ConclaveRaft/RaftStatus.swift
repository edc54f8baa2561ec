import ConclaveCore

/// Everything about one node that an operator (or the console) wants to see, as a value.
public struct RaftStatus: Equatable, Sendable {
    public struct FollowerStatus: Equatable, Sendable {
        public var node: NodeID
        public var match: LogIndex
        public var next: LogIndex
        public var state: Progress.State
        public var inFlight: Int
        public var recentActive: Bool
        public var isLearner: Bool
        /// Leader ticks since the follower last answered.
        public var ticksSinceHeard: Int
        /// In snapshot state: the snapshot's index and bytes acknowledged of its size.
        public var snapshotIndex: LogIndex
        public var snapshotBytesAcknowledged: Int
        public var snapshotBytes: Int
    }

    public var id: NodeID
    public var role: Raft.Role
    public var term: Term
    public var vote: NodeID
    public var leader: NodeID
    public var commit: LogIndex
    public var applied: LogIndex
    public var lastIndex: LogIndex
    public var voters: [NodeID]
    public var learners: [NodeID]
    /// The index the log starts after (the latest snapshot), and the last entry's index.
    public var snapshotIndex: LogIndex
    /// The node leadership is being handed to (0: none).
    public var leadTransferee: NodeID
    /// The latest membership change proposed; changes wait until it has applied.
    public var pendingConfIndex: LogIndex
    /// ReadIndex requests waiting for confirmation on this leader.
    public var readsPending: Int
    /// Ticks since the last election-timer reset, and the current randomized timeout.
    public var electionElapsed: Int
    public var electionTimeout: Int
    /// Per follower, sorted by node; empty unless this node leads.
    public var followers: [FollowerStatus]
    /// The I/O error that stopped this node, if one did: it does nothing more until restarted.
    public var storageFailure: StorageError?
}

extension Raft {
    public func status() -> RaftStatus {
        let followers: [RaftStatus.FollowerStatus] = role != .leader ? [] : members.compactMap { node in
            guard node != id, let follower = progress[node] else { return nil }
            return .init(node: node, match: follower.match, next: follower.next, state: follower.state,
                         inFlight: follower.inFlightCount, recentActive: follower.recentActive,
                         isLearner: learners.contains(node), ticksSinceHeard: follower.ticksSinceHeard,
                         snapshotIndex: follower.pendingSnapshotIndex,
                         snapshotBytesAcknowledged: follower.snapshotBytesAcknowledged, snapshotBytes: follower.snapshotBytes)
        }
        return RaftStatus(
            id: id, role: role, term: term, vote: vote, leader: leader, commit: log.committed,
            applied: log.applied, lastIndex: log.lastIndex, voters: voters, learners: learners,
            snapshotIndex: log.firstIndex - 1, leadTransferee: leadTransferee, pendingConfIndex: pendingConfIndex,
            readsPending: readRequests.count + readsAwaitingCommit.count,
            electionElapsed: electionElapsed,
            electionTimeout: role == .leader ? config.electionTimeoutTicks : randomizedElectionTimeout,
            followers: followers, storageFailure: storageFailure)
    }

    /// The entries of this node's log from `low` on (for invariant checks and tests).
    public func entries(from low: LogIndex) -> [Entry] {
        (try? log.entries(from: max(low, log.firstIndex), maxBytes: Int.max)) ?? []
    }

    public var committedIndex: LogIndex { log.committed }
    public var lastIndex: LogIndex { log.lastIndex }

    /// The term of the entry at `index`, or nil if this node does not have it.
    public func term(at index: LogIndex) -> Term? { try? log.term(at: index) }
}
