import ConclaveCore
@testable import ConclaveRaft

/// Raft nodes wired by hand: messages go into a mailbox the test delivers (or drops) explicitly.
struct RaftHarness {
    var nodes: [NodeID: Raft] = [:]
    var storages: [NodeID: MemoryStorage] = [:]
    var mailbox: [Message] = []
    var applied: [NodeID: [Entry]] = [:]
    var readStates: [NodeID: [ReadState]] = [:]

    init(voters: [NodeID], preVote: Bool = false, configure: (inout RaftConfig) -> Void = { _ in }) {
        for id in voters {
            let storage = MemoryStorage(voters: voters)
            var config = RaftConfig(id: id)
            config.preVote = preVote
            configure(&config)
            storages[id] = storage
            nodes[id] = try! Raft(config: config, storage: storage, random: SeededGenerator(seed: 1, stream: id))
        }
    }

    /// Persists, collects messages and applies, per the Ready contract, for every node.
    mutating func processReady() {
        for id in nodes.keys.sorted() { processReady(id) }
    }

    mutating func processReady(_ id: NodeID) {
        while nodes[id]!.hasReady {
            let ready = nodes[id]!.ready()
            storages[id]!.append(ready.entries)
            if let hard = ready.hardState { storages[id]!.setHardState(hard) }
            mailbox.append(contentsOf: ready.messages)
            // Written just above, so the answers that wait for the write may go too.
            mailbox.append(contentsOf: ready.messagesAfterPersist)
            applied[id, default: []].append(contentsOf: ready.committedEntries)
            readStates[id, default: []].append(contentsOf: ready.readStates)
            nodes[id]!.advance(ready)
        }
    }

    /// Delivers messages until none are left; `filter` returns false to drop one.
    mutating func stabilize(filter: (Message) -> Bool = { _ in true }) {
        processReady()
        var rounds = 0
        while !mailbox.isEmpty {
            rounds += 1
            precondition(rounds < 10_000, "no quiescence")
            let batch = mailbox
            mailbox.removeAll()
            for message in batch where filter(message) {
                nodes[message.to]?.step(message)
                processReady(message.to)
            }
        }
    }

    /// Delivers, in order, the mailbox's messages that `selected` picks; the rest stay.
    mutating func deliver(where selected: (Message) -> Bool) {
        let picked = mailbox.filter(selected)
        mailbox.removeAll(where: selected)
        for message in picked {
            nodes[message.to]?.step(message)
            processReady(message.to)
        }
    }

    mutating func elect(_ id: NodeID, filter: (Message) -> Bool = { _ in true }) {
        nodes[id]!.campaign()
        stabilize(filter: filter)
    }
}
