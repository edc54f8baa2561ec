import ConclaveCore
@testable import ConclavePaxos

/// Paxos nodes wired by hand: messages go into a mailbox the test delivers (or drops) explicitly.
/// Each node's persisted acceptor state is kept beside it, as a disk would keep it.
struct PaxosHarness {
    var nodes: [NodeID: Paxos] = [:]
    var disks: [NodeID: AcceptorState] = [:]
    var mailbox: [PaxosMessage] = []
    var applied: [NodeID: [ChosenEntry]] = [:]
    var abandoned: [NodeID: [PaxosValue]] = [:]
    var configs: [NodeID: PaxosConfig] = [:]

    init(acceptors: [NodeID], seed: UInt64 = 1, configure: (inout PaxosConfig) -> Void = { _ in }) {
        for id in acceptors {
            var config = PaxosConfig(id: id, acceptors: acceptors)
            configure(&config)
            configs[id] = config
            disks[id] = AcceptorState()
            nodes[id] = try! Paxos(config: config, random: SeededGenerator(seed: seed, stream: id))
        }
    }

    var ids: [NodeID] { nodes.keys.sorted() }

    /// Persists, then collects messages, then applies, per the Ready contract.
    mutating func processReady(_ id: NodeID) {
        guard nodes[id] != nil else { return }
        let ready = nodes[id]!.ready()
        disks[id]!.record(promised: ready.promised, accepted: ready.accepted)
        mailbox.append(contentsOf: ready.messages)
        applied[id, default: []].append(contentsOf: ready.chosen)
        abandoned[id, default: []].append(contentsOf: ready.abandoned)
    }

    mutating func processReady() {
        for id in ids { processReady(id) }
    }

    mutating func propose(_ value: PaxosValue, at id: NodeID) throws(PaxosError) {
        try nodes[id]!.propose(value)
        processReady(id)
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times {
            nodes[id]!.tick()
            processReady(id)
        }
    }

    /// Delivers messages until none are left; `filter` returns false to drop one.
    mutating func stabilize(filter: (PaxosMessage) -> Bool = { _ in true }) {
        processReady()
        var rounds = 0
        while !mailbox.isEmpty {
            rounds += 1
            precondition(rounds < 10_000, "no quiescence")
            let batch = mailbox
            mailbox.removeAll()
            for message in batch where filter(message) {
                guard nodes[message.to] != nil else { continue }
                nodes[message.to]!.step(message)
                processReady(message.to)
            }
        }
    }

    /// Delivers, in order, the mailbox's messages that `selected` picks; the rest stay.
    mutating func deliver(where selected: (PaxosMessage) -> Bool) {
        let picked = mailbox.filter(selected)
        mailbox.removeAll(where: selected)
        for message in picked where nodes[message.to] != nil {
            nodes[message.to]!.step(message)
            processReady(message.to)
        }
    }

    /// A crash loses everything but the persisted acceptor state; the node restarts from it.
    mutating func crashAndRestart(_ id: NodeID, seed: UInt64 = 2) {
        mailbox.removeAll { $0.to == id || $0.from == id }
        nodes[id] = try! Paxos(config: configs[id]!, acceptor: disks[id]!, random: SeededGenerator(seed: seed, stream: id))
    }

    func log(_ id: NodeID) -> [Slot: PaxosValue] { nodes[id]!.chosen }
}

func command(_ id: UInt64) -> PaxosValue { .command(id: id, data: [UInt8(truncatingIfNeeded: id)]) }

extension PaxosHarness {
    /// Lockstep rounds: every node ticks, then the messages sent so far are delivered in order.
    mutating func runRounds(_ rounds: Int, filter: (PaxosMessage) -> Bool = { _ in true }) {
        for _ in 0..<rounds {
            for id in ids { tick(id) }
            let batch = mailbox
            mailbox.removeAll()
            for message in batch where filter(message) && nodes[message.to] != nil {
                nodes[message.to]!.step(message)
                processReady(message.to)
            }
        }
    }

    /// Node `id` prepares at once and the cluster settles: it leads.
    mutating func elect(_ id: NodeID) {
        nodes[id]!.prepare()
        stabilize()
    }
}
