import ConclaveCore

/// An acceptor: the state that must survive a crash, and the two rules that change it.
///
/// This is all a node must persist. An acceptor that forgot a promise could accept a lower
/// ballot's value after promising a proposer that it would not, and one that forgot an accepted
/// value could let a later proposer choose another value in the same slot. Multi-Paxos keeps one
/// promised ballot for every slot (a prepare covers all slots from its `fromSlot` on).
public struct AcceptorState: Equatable, Sendable {
    /// The highest ballot promised: no prepare or accept in a lower ballot is answered yes.
    public private(set) var promised: Ballot
    /// Per slot, the value accepted in the highest ballot, and that ballot.
    public private(set) var accepted: [Slot: AcceptedEntry]

    public init(promised: Ballot = .zero, accepted: [Slot: AcceptedEntry] = [:]) {
        self.promised = promised
        self.accepted = accepted
    }

    /// The answer to a prepare or an accept.
    public enum Reply: Equatable, Sendable {
        /// Promised the ballot: the values accepted from the prepare's slot on, in slot order.
        case promise([AcceptedEntry])
        case accepted
        /// Refused: this acceptor promised a higher ballot.
        case refused(promised: Ballot)
    }

    /// Phase 1b: promise `ballot` if it is higher than any promised (P1a in Paxos Made Simple).
    /// The same ballot again (a duplicated or retransmitted prepare) gets the same promise and
    /// changes nothing.
    public mutating func prepare(ballot: Ballot, fromSlot: Slot) -> Reply {
        guard ballot >= promised else { return .refused(promised: promised) }
        promised = ballot
        return .promise(accepted.values.filter { $0.slot >= fromSlot }.sorted { $0.slot < $1.slot })
    }

    /// Phase 2b: accept unless a higher ballot was promised; accepting promises the ballot too.
    public mutating func accept(ballot: Ballot, slot: Slot, value: PaxosValue) -> Reply {
        guard ballot >= promised else { return .refused(promised: promised) }
        promised = ballot
        accepted[slot] = AcceptedEntry(slot: slot, ballot: ballot, value: value)
        return .accepted
    }

    /// Applies what a `PaxosReady` asked to persist: how a caller rebuilds the state it will hand
    /// back to `Paxos.init` after a crash.
    public mutating func record(promised newPromised: Ballot?, accepted entries: [AcceptedEntry]) {
        if let newPromised, newPromised > promised { promised = newPromised }
        for entry in entries where entry.ballot >= (accepted[entry.slot]?.ballot ?? .zero) {
            accepted[entry.slot] = entry
        }
    }
}
