import ArgumentParser
import ConclaveCore
import ConclavePaxos

/// `conclave bench paxos`: chosen values per second of the Multi-Paxos core with a distinguished
/// proposer, in-process (messages handed over directly, acceptor state kept in memory, no fsync),
/// on 3 and 5 nodes with 1 and 64 concurrent proposers — and `bench raft`'s commit figures for the
/// same shapes in the same run, so the two engines are compared on one machine at one moment.
/// Each proposer keeps one value outstanding and proposes again the moment the leader learns it
/// chosen; latency is propose → chosen on the leader.
struct BenchPaxos: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paxos",
        abstract: "Multi-Paxos chosen values/s and latency, 3 and 5 nodes, 1 and 64 proposers, beside Raft's commit figures."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Chosen values (and committed Raft entries) to measure per configuration (1000…100000000).")
    var values = 200_000

    @Option(help: "Payload bytes per value (0…65536).")
    var payloadBytes = 64

    @Flag(help: "Skip the Raft figures.")
    var noRaft = false

    func validate() throws {
        guard (1_000...100_000_000).contains(values) else { throw ValidationError("--values must be in 1000…100000000, got \(values)") }
        guard (0...65_536).contains(payloadBytes) else { throw ValidationError("--payload-bytes must be in 0…65536, got \(payloadBytes)") }
    }

    func run() throws {
        var results: [BenchResult] = []
        for nodes in [3, 5] {
            for proposers in [1, 64] {
                let target = proposers == 1 ? max(1_000, values / 10) : values
                var paxos = try BenchPaxosCluster(nodes: nodes)
                results.append(paxos.measure(proposers: proposers, values: target, payloadBytes: payloadBytes))
                if !noRaft {
                    var raft = try BenchCluster(nodes: nodes)
                    results.append(raft.measure(proposers: proposers, entries: target, payloadBytes: payloadBytes))
                }
            }
        }
        BenchReport.emit(results, json: options.json)
    }
}

/// Paxos nodes wired back to back: every Ready's acceptor changes are recorded in memory, then its
/// messages delivered in order, round after round. Node 1 leads (it runs phase 1 once, up front).
struct BenchPaxosCluster: ClosedLoopCluster {
    var nodes: [Paxos]
    var disks: [AcceptorState]
    var inbox: [PaxosMessage] = []
    var nextCommandID: UInt64 = 0

    init(nodes count: Int) throws {
        let acceptors = (1...count).map { NodeID($0) }
        nodes = try acceptors.map { id in
            try Paxos(config: PaxosConfig(id: id, acceptors: acceptors), random: SeededGenerator(seed: 1, stream: id))
        }
        disks = Array(repeating: AcceptorState(), count: count)
        try nodes[0].propose(.noop)
        for _ in 0..<10 { round { _ in } }
        precondition(nodes[0].phase == .leading, "bench cluster did not make node 1 the distinguished proposer")
    }

    /// Drains every node's Ready (persist, collect messages, apply) then delivers the messages.
    mutating func round(onLeaderChosen: (ChosenEntry) -> Void) {
        for position in nodes.indices {
            let ready = nodes[position].ready()
            disks[position].record(promised: ready.promised, accepted: ready.accepted)
            inbox.append(contentsOf: ready.messages)
            if position == 0 { ready.chosen.forEach(onLeaderChosen) }
        }
        let batch = inbox
        inbox.removeAll(keepingCapacity: true)
        for message in batch { nodes[Int(message.to) - 1].step(message) }
    }

    mutating func measure(proposers: Int, values target: Int, payloadBytes: Int) -> BenchResult {
        measureClosedLoop(proposers: proposers, target: target, payloadBytes: payloadBytes,
                          name: "paxos chosen \(nodes.count) nodes, \(proposers) proposer\(proposers == 1 ? "" : "s")", unit: "values/s")
    }

    /// A value is known by its command ID (the leader may choose it in any slot).
    mutating func proposeOne(payload: [UInt8]) -> UInt64 {
        nextCommandID += 1
        try! nodes[0].propose(.command(id: nextCommandID, data: payload))
        return nextCommandID
    }

    mutating func runRound(completed: (UInt64) -> Void) {
        round { entry in
            if let id = entry.value.commandID { completed(id) }
        }
    }
}
