import ConclaveCore

/// One record of the replicated log.
public struct Entry: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// An application command (or an empty entry a new leader appends to commit its term).
        case normal = 0
        /// A membership change (used by the membership issue; carried through untouched for now).
        case membership = 1
    }

    public var term: Term
    public var index: LogIndex
    public var kind: Kind
    public var data: [UInt8]

    public init(term: Term, index: LogIndex, kind: Kind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// The size this entry counts for in byte limits: payload plus a fixed header estimate.
    @inlinable public var byteSize: Int { data.count + 24 }
}

/// The part of a node's Raft state that must be on stable storage before it sends any message.
public struct HardState: Equatable, Sendable {
    public var term: Term
    public var vote: NodeID
    public var commit: LogIndex

    public init(term: Term = 0, vote: NodeID = noNode, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// A point-in-time image of the state machine, and the log position it stands for.
/// Produced by the application, installed by the log when a follower is too far behind.
public struct Snapshot: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]
    public var data: [UInt8]

    public init(index: LogIndex = 0, term: Term = 0, voters: [NodeID] = [], learners: [NodeID] = [], data: [UInt8] = []) {
        self.index = index
        self.term = term
        self.voters = voters
        self.learners = learners
        self.data = data
    }

    public var confState: ConfState { ConfState(voters: voters, learners: learners) }

    public var isEmpty: Bool { index == 0 }
}

/// Who is in the cluster: voters decide; learners receive the log but neither vote nor count.
public struct ConfState: Equatable, Sendable {
    public var voters: [NodeID]
    public var learners: [NodeID]

    public init(voters: [NodeID], learners: [NodeID] = []) {
        self.voters = voters.sorted()
        self.learners = learners.sorted()
    }

    /// The configuration after `change` (assumed valid for this one).
    public func applying(_ change: ConfChange) -> ConfState {
        let node = change.node
        switch change {
        case .addLearner: return ConfState(voters: voters, learners: learners + [node])
        case .promote: return ConfState(voters: voters + [node], learners: learners.filter { $0 != node })
        case .remove: return ConfState(voters: voters.filter { $0 != node }, learners: learners.filter { $0 != node })
        }
    }
}
