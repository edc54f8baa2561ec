import ConclaveCore

/// A position in the replicated log of chosen values. Slot 0 is "none"; the first slot is 1.
public typealias Slot = UInt64

/// A Paxos ballot (proposal number): a round and the node that owns it.
///
/// Ordered by round, then node, so two proposers never hold the same ballot: a node only ever
/// uses ballots carrying its own ID, and each new one has a round above every round it has seen
/// (Paxos Made Simple, §2.2: "a proposer is assigned a disjoint set of numbers").
public struct Ballot: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var round: UInt64
    public var node: NodeID

    public init(round: UInt64, node: NodeID) {
        self.round = round
        self.node = node
    }

    /// Below every ballot a proposer can use: what an acceptor has promised before any prepare.
    public static let zero = Ballot(round: 0, node: noNode)

    /// The smallest ballot owned by `node` that is above `self`.
    public func next(for node: NodeID) -> Ballot {
        Ballot(round: round + 1, node: node)
    }

    public static func < (left: Ballot, right: Ballot) -> Bool {
        (left.round, left.node) < (right.round, right.node)
    }

    public var description: String { "\(round).\(node)" }
}

/// What a client asks to be chosen: a command with an ID the client makes unique, or the no-op a
/// new leader chooses to fill a slot no acceptor it heard from had accepted anything in.
public enum PaxosValue: Hashable, Sendable, CustomStringConvertible {
    case noop
    case command(id: UInt64, data: [UInt8])

    /// The command's ID; nil for a no-op.
    public var commandID: UInt64? {
        if case .command(let id, _) = self { return id }
        return nil
    }

    public var description: String {
        switch self {
        case .noop: return "noop"
        case .command(let id, let data): return "cmd#\(id)(\(data.count)B)"
        }
    }
}

/// A value an acceptor accepted in a slot, and the ballot it was accepted in.
public struct AcceptedEntry: Equatable, Sendable {
    public var slot: Slot
    public var ballot: Ballot
    public var value: PaxosValue

    public init(slot: Slot, ballot: Ballot, value: PaxosValue) {
        self.slot = slot
        self.ballot = ballot
        self.value = value
    }
}

/// A value known to be chosen in a slot.
public struct ChosenEntry: Equatable, Sendable {
    public var slot: Slot
    public var value: PaxosValue

    public init(slot: Slot, value: PaxosValue) {
        self.slot = slot
        self.value = value
    }
}
