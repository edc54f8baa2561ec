import ConclaveCore

/// The acceptor's side of a node: answering prepares and accepts from `AcceptorState`'s rules,
/// queueing what changed to be persisted before the answers go out.
extension Paxos {
    mutating func receivePrepare(from proposer: NodeID, ballot: Ballot, fromSlot: Slot) {
        noteBallot(ballot)
        let promisedBefore = acceptor.promised
        switch acceptor.prepare(ballot: ballot, fromSlot: fromSlot) {
        case .promise(let accepted):
            if acceptor.promised != promisedBefore { promisedChanged = true }
            yield(to: ballot)
            send(.promise(ballot: ballot, fromSlot: fromSlot, accepted: accepted), to: proposer)
        case .refused(let promised):
            send(.nack(ballot: ballot, promised: promised), to: proposer)
        case .accepted:
            preconditionFailure("a prepare is never answered with accepted")
        }
    }

    mutating func receiveAccept(from proposer: NodeID, ballot: Ballot, slot: Slot, value: PaxosValue) {
        noteBallot(ballot)
        let promisedBefore = acceptor.promised
        switch acceptor.accept(ballot: ballot, slot: slot, value: value) {
        case .accepted:
            if acceptor.promised != promisedBefore { promisedChanged = true }
            acceptedToPersist.append(AcceptedEntry(slot: slot, ballot: ballot, value: value))
            yield(to: ballot)
            if ballot.node != id { followLeader(ballot.node) }
            send(.accepted(ballot: ballot, slot: slot), to: proposer)
        case .refused(let promised):
            send(.nack(ballot: ballot, promised: promised), to: proposer)
        case .promise:
            preconditionFailure("an accept is never answered with a promise")
        }
    }

    /// A heartbeat in a ballot this acceptor has not outgrown keeps it following the sender;
    /// one in a lower ballot is refused so that a stale leader learns it was replaced.
    mutating func receiveHeartbeat(from sender: NodeID, ballot: Ballot, chosenThrough leaderChosenThrough: Slot) {
        noteBallot(ballot)
        guard ballot >= acceptor.promised else {
            send(.nack(ballot: ballot, promised: acceptor.promised), to: sender)
            return
        }
        yield(to: ballot)
        if phase == .follower { followLeader(sender) }
        if leaderChosenThrough > chosenThrough { send(.catchUp(fromSlot: chosenThrough + 1), to: sender) }
    }

    mutating func followLeader(_ node: NodeID) {
        leader = node
        resetLeaderTimeout()
    }

    mutating func noteBallot(_ seen: Ballot) {
        if seen > highestSeen { highestSeen = seen }
    }
}
