import ConclaveCore

/// A message between Paxos nodes, as a value: the caller moves it, the core never does I/O.
public struct PaxosMessage: Equatable, Sendable, CustomStringConvertible {
    public var from: NodeID
    public var to: NodeID
    public var kind: Kind

    public init(from: NodeID, to: NodeID, kind: Kind) {
        self.from = from
        self.to = to
        self.kind = kind
    }

    public enum Kind: Equatable, Sendable {
        /// Phase 1a. Multi-Paxos prepares every slot from `fromSlot` on at once, so a stable
        /// leader runs phase 1 once and not once per slot.
        case prepare(ballot: Ballot, fromSlot: Slot)
        /// Phase 1b: the acceptor promised `ballot` and reports what it accepted from `fromSlot`.
        case promise(ballot: Ballot, fromSlot: Slot, accepted: [AcceptedEntry])
        /// Phase 2a.
        case accept(ballot: Ballot, slot: Slot, value: PaxosValue)
        /// Phase 2b: the acceptor accepted `slot` in `ballot`.
        case accepted(ballot: Ballot, slot: Slot)
        /// A prepare or accept in `ballot` refused: the acceptor promised `promised`, higher.
        case nack(ballot: Ballot, promised: Ballot)
        /// The leader tells the learners a value is chosen.
        case chosen(ChosenEntry)
        /// The distinguished proposer is alive; followers lacking slots through `chosenThrough`
        /// ask it for them.
        case heartbeat(ballot: Ballot, chosenThrough: Slot)
        /// A learner asks for the chosen values from `fromSlot` on.
        case catchUp(fromSlot: Slot)
        /// Chosen values for a learner that asked, in slot order, at most
        /// `PaxosConfig.catchUpEntriesPerMessageMax`.
        case catchUpReply([ChosenEntry])
    }

    /// The short name the console's step mode and traces show.
    public var name: String {
        switch kind {
        case .prepare: return "prepare"
        case .promise: return "promise"
        case .accept: return "accept"
        case .accepted: return "accepted"
        case .nack: return "nack"
        case .chosen: return "chosen"
        case .heartbeat: return "heartbeat"
        case .catchUp: return "catch-up"
        case .catchUpReply: return "catch-up-reply"
        }
    }

    public var description: String {
        let detail: String
        switch kind {
        case .prepare(let ballot, let fromSlot): detail = "b\(ballot) from slot \(fromSlot)"
        case .promise(let ballot, let fromSlot, let accepted): detail = "b\(ballot) from slot \(fromSlot), \(accepted.count) accepted"
        case .accept(let ballot, let slot, let value): detail = "b\(ballot) slot \(slot) \(value)"
        case .accepted(let ballot, let slot): detail = "b\(ballot) slot \(slot)"
        case .nack(let ballot, let promised): detail = "b\(ballot) refused, promised b\(promised)"
        case .chosen(let entry): detail = "slot \(entry.slot) \(entry.value)"
        case .heartbeat(let ballot, let chosenThrough): detail = "b\(ballot) chosen through \(chosenThrough)"
        case .catchUp(let fromSlot): detail = "from slot \(fromSlot)"
        case .catchUpReply(let entries): detail = "\(entries.count) chosen"
        }
        return "\(from)→\(to) \(name) \(detail)"
    }
}
