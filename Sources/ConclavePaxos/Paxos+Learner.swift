import ConclaveCore

/// The learner's side: the log of chosen values, and catching up on slots it missed.
extension Paxos {
    /// Records a chosen value. A slot already known keeps its value: Paxos never chooses two (the
    /// randomized tests check that every learner's log agrees).
    mutating func learn(_ slot: Slot, _ value: PaxosValue) {
        guard slot > 0, chosen[slot] == nil else { return }
        chosen[slot] = value
        highestChosenSlot = max(highestChosenSlot, slot)
        if let commandID = value.commandID {
            chosenCommandIDs.insert(commandID)
            if !queued.isEmpty { queued.removeAll { $0.commandID == commandID } }
        }
        if let entry = inFlight[slot] {
            // Chosen by an earlier leader while this one had something else in flight: re-queue it.
            inFlight[slot] = nil
            if entry.value != value && entry.value.commandID != nil { queued.append(entry.value) }
        }
        while chosen[chosenThrough + 1] != nil { chosenThrough += 1 }
    }

    mutating func receiveChosen(_ entry: ChosenEntry, from sender: NodeID) {
        learn(entry.slot, entry.value)
    }

    /// Chosen values from `fromSlot` on that this node knows, in slot order, at most
    /// `catchUpEntriesPerMessageMax`; the learner asks again at the next heartbeat for more.
    mutating func receiveCatchUp(from learner: NodeID, fromSlot: Slot) {
        guard highestChosenSlot >= fromSlot else { return }
        var entries: [ChosenEntry] = []
        var slot = fromSlot
        while slot <= highestChosenSlot && entries.count < config.catchUpEntriesPerMessageMax {
            if let value = chosen[slot] { entries.append(ChosenEntry(slot: slot, value: value)) }
            slot += 1
        }
        send(.catchUpReply(entries), to: learner)
    }
}
