import ArgumentParser
import ConclaveCore
import ConclaveRaft
import Histogram

/// `conclave bench raft`: committed entries per second and commit latency of the Raft core,
/// in-process (messages handed over directly, in-memory storage, no fsync), for 3 and 5 nodes
/// with 1 and 64 concurrent proposers. Each proposer keeps one proposal outstanding and proposes
/// again the moment the leader applies it, so latency is propose → applied on the leader.
struct BenchRaft: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Raft commit throughput and latency, 3 and 5 nodes, 1 and 64 proposers (target: ≥ 500k entries/s at 3 nodes, 64 proposers)."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Committed entries to measure per configuration (1000…100000000).")
    var entries = 400_000

    @Option(help: "Payload bytes per entry (0…65536).")
    var payloadBytes = 64

    func validate() throws {
        guard (1_000...100_000_000).contains(entries) else { throw ValidationError("--entries must be in 1000…100000000, got \(entries)") }
        guard (0...65_536).contains(payloadBytes) else { throw ValidationError("--payload-bytes must be in 0…65536, got \(payloadBytes)") }
    }

    func run() throws {
        var results: [BenchResult] = []
        for nodes in [3, 5] {
            for proposers in [1, 64] {
                let target = proposers == 1 ? max(1_000, entries / 10) : entries
                var cluster = try BenchCluster(nodes: nodes)
                results.append(cluster.measure(proposers: proposers, entries: target, payloadBytes: payloadBytes))
            }
        }
        BenchReport.emit(results, json: options.json)
    }
}

/// Raft nodes wired back to back: every Ready is persisted to memory and its messages delivered
/// in order, round after round.
struct BenchCluster {
    var nodes: [Raft]
    let storages: [MemoryStorage]
    var inbox: [Message] = []

    init(nodes count: Int) throws {
        let voters = (1...count).map { NodeID($0) }
        storages = voters.map { _ in MemoryStorage(voters: voters) }
        var built: [Raft] = []
        for id in voters {
            var config = RaftConfig(id: id)
            config.inFlightMessagesMax = 1024
            built.append(try Raft(config: config, storage: storages[Int(id) - 1], random: SeededGenerator(seed: 1, stream: id)))
        }
        nodes = built
        nodes[0].campaign()
        for _ in 0..<10 { round { _ in } }
        precondition(nodes[0].role == .leader, "bench cluster did not elect node 1")
    }

    /// Drains every node's Ready (persist, collect messages, apply) then delivers the messages.
    mutating func round(onLeaderApply: (Entry) -> Void) {
        for position in nodes.indices {
            while nodes[position].hasReady {
                let ready = nodes[position].ready()
                storages[position].append(ready.entries)
                if let hardState = ready.hardState { storages[position].setHardState(hardState) }
                inbox.append(contentsOf: ready.messages)
                if position == 0 { ready.committedEntries.forEach(onLeaderApply) }
                nodes[position].advance(ready)
            }
        }
        let batch = inbox
        inbox.removeAll(keepingCapacity: true)
        for message in batch { nodes[Int(message.to) - 1].step(message) }
    }

    mutating func measure(proposers: Int, entries target: Int, payloadBytes: Int) -> BenchResult {
        let payload = [UInt8](repeating: 0xAB, count: payloadBytes)
        var histogram = BenchClock.latencyHistogram()
        /// Propose time per outstanding log index.
        var startedAt: [UInt64: UInt64] = [:]
        startedAt.reserveCapacity(proposers * 2)
        func propose(_ cluster: inout BenchCluster) {
            try! cluster.nodes[0].propose(payload)
            startedAt[cluster.nodes[0].lastIndex] = BenchClock.nanoseconds()
        }
        for _ in 0..<proposers { propose(&self) }
        var committed = 0
        let start = BenchClock.nanoseconds()
        while committed < target {
            var reproposals = 0
            round { entry in
                guard let began = startedAt.removeValue(forKey: entry.index) else { return }
                histogram.record(BenchClock.nanoseconds() - began)
                committed += 1
                reproposals += 1
            }
            for _ in 0..<reproposals where committed + startedAt.count < target { propose(&self) }
        }
        let elapsed = BenchClock.nanoseconds() - start
        let name = "raft commit \(nodes.count) nodes, \(proposers) proposer\(proposers == 1 ? "" : "s")"
        return BenchResult(name: name, unit: "entries/s", value: Double(committed) / (Double(elapsed) / 1e9), histogram: histogram)
    }
}
