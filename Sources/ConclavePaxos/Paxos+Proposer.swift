import ConclaveCore

/// The proposer's side: phase 1 over every unchosen slot, phase 2 per slot, and stepping down
/// when preempted.
extension Paxos {
    /// Phase 1a in a new ballot above every ballot seen, for all slots from the first one this
    /// node has not learned. Values sent in an older ballot and not yet chosen go back to the
    /// front of the queue: phase 1 tells whether some acceptor still holds them.
    mutating func prepare() {
        ballot = max(highestSeen, ballot, acceptor.promised).next(for: id)
        highestSeen = ballot
        phase = .preparing
        leader = noNode
        promises = [:]
        prepareFromSlot = chosenThrough + 1
        heartbeatElapsed = 0
        backoffRemaining = 0
        queued = inFlight.keys.sorted().compactMap { inFlight[$0]!.value.commandID == nil ? nil : inFlight[$0]!.value } + queued
        inFlight = [:]
        resetLeaderTimeout()
        broadcast(.prepare(ballot: ballot, fromSlot: prepareFromSlot))
    }

    mutating func retransmitPrepare() {
        for peer in peers where promises[peer] == nil {
            send(.prepare(ballot: ballot, fromSlot: prepareFromSlot), to: peer)
        }
    }

    mutating func receivePromise(from acceptorID: NodeID, ballot promisedBallot: Ballot, accepted: [AcceptedEntry]) {
        guard phase == .preparing, promisedBallot == ballot else { return }
        promises[acceptorID] = accepted
        if promises.count >= config.quorum { becomeLeader() }
    }

    /// Phase 1 is done: in every slot from `prepareFromSlot` to the highest any promise reported,
    /// propose the value accepted in the highest ballot (P2c), or a no-op where none was.
    mutating func becomeLeader() {
        var highest: [Slot: AcceptedEntry] = [:]
        for entries in promises.values {
            for entry in entries where entry.slot >= prepareFromSlot && entry.ballot > (highest[entry.slot]?.ballot ?? .zero) {
                highest[entry.slot] = entry
            }
        }
        let lastSlot = max(highest.keys.max() ?? 0, highestChosenSlot, prepareFromSlot - 1)
        phase = .leading
        leader = id
        promises = [:]
        heartbeatElapsed = 0
        if lastSlot >= prepareFromSlot {
            for slot in prepareFromSlot...lastSlot where chosen[slot] == nil {
                let value = highest[slot]?.value ?? .noop
                if let commandID = value.commandID { queued.removeAll { $0.commandID == commandID } }
                startAccept(slot: slot, value: value)
            }
        }
        nextSlot = lastSlot + 1
        for peer in peers { send(.heartbeat(ballot: ballot, chosenThrough: chosenThrough), to: peer) }
        assignQueuedValues()
    }

    /// While leading, every queued value gets the next slot and goes straight to phase 2.
    mutating func assignQueuedValues() {
        guard phase == .leading else { return }
        for value in queued {
            if let commandID = value.commandID, chosenCommandIDs.contains(commandID) { continue }
            startAccept(slot: nextSlot, value: value)
            nextSlot += 1
        }
        queued.removeAll(keepingCapacity: true)
    }

    mutating func startAccept(slot: Slot, value: PaxosValue) {
        inFlight[slot] = InFlightSlot(value: value)
        broadcast(.accept(ballot: ballot, slot: slot, value: value))
    }

    /// A quorum accepted the slot in our ballot: the value is chosen; tell the learners.
    mutating func receiveAccepted(from acceptorID: NodeID, ballot acceptedBallot: Ballot, slot: Slot) {
        guard phase == .leading, acceptedBallot == ballot, var entry = inFlight[slot] else { return }
        entry.acceptedBy.insert(acceptorID)
        guard entry.acceptedBy.count >= config.quorum else {
            inFlight[slot] = entry
            return
        }
        inFlight[slot] = nil
        learn(slot, entry.value)
        for peer in peers { send(.chosen(ChosenEntry(slot: slot, value: entry.value)), to: peer) }
        // Without a distinguished proposer each batch of values runs its own phase 1.
        if !config.distinguishedProposer && inFlight.isEmpty && queued.isEmpty { phase = .follower }
    }

    mutating func receiveNack(ballot refused: Ballot, promised: Ballot) {
        noteBallot(promised)
        guard phase != .follower, refused == ballot, promised > ballot else { return }
        stepDown(preemptedBy: promised)
    }

    /// This node's acceptor promised or accepted a higher ballot than the one it proposes in: its
    /// proposals can no longer be chosen through this acceptor, so it stops proposing.
    mutating func yield(to other: Ballot) {
        if phase != .follower && other > ballot { stepDown(preemptedBy: other) }
    }

    /// Preempted. With a distinguished proposer, hand back what waits (the client retries at the
    /// leader) and follow the preempting ballot's owner. Without, keep the values and prepare
    /// again: at once (proposers can duel forever) or after a random backoff.
    mutating func stepDown(preemptedBy other: Ballot) {
        preemptions += 1
        phase = .follower
        promises = [:]
        let unfinished = inFlight.keys.sorted().map { inFlight[$0]!.value }.filter { $0.commandID != nil }
        inFlight = [:]
        if config.distinguishedProposer {
            abandoned += unfinished + queued
            queued = []
            followLeader(other.node)
            return
        }
        queued = unfinished + queued
        guard !queued.isEmpty else { return }
        if config.randomizedBackoff {
            let spread = max(1, config.backoffTicksMin)
            backoffRemaining = max(1, config.backoffTicksMin + Int.random(in: 0..<spread, using: &random))
        } else {
            prepare()
        }
    }

    /// Heartbeats to every follower, and accepts again to acceptors that have not answered them
    /// (messages get lost; phase 2 is idempotent at the acceptor), for the oldest
    /// `retransmitSlotsMax` slots in flight.
    mutating func sendHeartbeatsAndRetransmit() {
        for peer in peers { send(.heartbeat(ballot: ballot, chosenThrough: chosenThrough), to: peer) }
        for slot in inFlight.keys.sorted().prefix(config.retransmitSlotsMax) {
            let entry = inFlight[slot]!
            for peer in peers where !entry.acceptedBy.contains(peer) {
                send(.accept(ballot: ballot, slot: slot, value: entry.value), to: peer)
            }
        }
        assignQueuedValues()
    }
}
