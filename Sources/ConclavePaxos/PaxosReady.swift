import ConclaveCore

/// A batch of effects for the caller (see `Paxos`'s contract). Each piece is handed out once.
public struct PaxosReady: Sendable {
    /// The acceptor's new promise, if it changed: persist before sending `messages`.
    public var promised: Ballot?
    /// Values the acceptor accepted: persist before sending `messages` (AcceptorState.record).
    public var accepted: [AcceptedEntry]
    public var messages: [PaxosMessage]
    /// Values newly chosen through a contiguous prefix of the log, in slot order: apply them.
    public var chosen: [ChosenEntry]
    /// Values this node stopped proposing when it lost the distinguished proposer's role. Their
    /// outcome is unknown (another leader may still choose one, having found it accepted): a
    /// client retries them at the new leader, as with a Raft proposal lost in a leader change.
    public var abandoned: [PaxosValue]

    public var isEmpty: Bool {
        promised == nil && accepted.isEmpty && messages.isEmpty && chosen.isEmpty && abandoned.isEmpty
    }
}

/// What a node shows: for the console, the bench and tests.
public struct PaxosStatus: Equatable, Sendable {
    public var id: NodeID
    public var phase: Paxos.Phase
    public var ballot: Ballot
    public var leader: NodeID
    public var promised: Ballot
    public var chosenThrough: Slot
    public var valuesWaiting: Int
    public var preemptions: Int
}
