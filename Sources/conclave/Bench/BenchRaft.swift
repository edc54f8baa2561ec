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

    @Option(help: "State size in MB for the snapshot benchmarks (1…2000).")
    var stateMB = 100

    @Option(help: "Which parts to run: commit, reads, snapshot (comma-separated) or all.")
    var parts = "all"

    func validate() throws {
        guard (1...2_000).contains(stateMB) else { throw ValidationError("--state-mb must be in 1…2000, got \(stateMB)") }
        let known = ["all", "commit", "reads", "snapshot"]
        for part in parts.split(separator: ",") where !known.contains(String(part)) {
            throw ValidationError("--parts: unknown part '\(part)'; accepted: commit, reads, snapshot, all")
        }
        guard (1_000...100_000_000).contains(entries) else { throw ValidationError("--entries must be in 1000…100000000, got \(entries)") }
        guard (0...65_536).contains(payloadBytes) else { throw ValidationError("--payload-bytes must be in 0…65536, got \(payloadBytes)") }
    }

    func run() throws {
        let selected = Set(parts.split(separator: ",").map(String.init))
        let all = selected.contains("all")
        var results: [BenchResult] = []
        if all || selected.contains("commit") {
            for nodes in [3, 5] {
                for proposers in [1, 64] {
                    let target = proposers == 1 ? max(1_000, entries / 10) : entries
                    var cluster = try BenchCluster(nodes: nodes)
                    results.append(cluster.measure(proposers: proposers, entries: target, payloadBytes: payloadBytes))
                }
            }
        }
        if all || selected.contains("reads") {
            var logCluster = try BenchCluster(nodes: 3)
            results.append(logCluster.measure(proposers: 64, entries: entries / 2, payloadBytes: 24, name: "log reads 3 nodes, 64 readers"))
            var readIndexCluster = try BenchCluster(nodes: 3)
            results.append(readIndexCluster.measureReadIndex(readers: 64, reads: entries * 2))
            let (log, readIndex) = (results[results.count - 2], results[results.count - 1])
            results.append(BenchResult(name: "ReadIndex ÷ log reads (target ≥ 5)", unit: "×", value: readIndex.value / log.value,
                                       p50: log.p50 / readIndex.p50, p99: log.p99 / readIndex.p99, n: readIndex.n, percentileUnit: "×"))
        }
        if all || selected.contains("snapshot") {
            results += try BenchSnapshot.measure(stateBytes: stateMB << 20)
        }
        BenchReport.emit(results, json: options.json)
    }
}

/// Raft nodes wired back to back: every Ready is persisted to memory and its messages delivered
/// in order, round after round.
struct BenchCluster: ClosedLoopCluster {
    var nodes: [Raft]
    var storages: [MemoryStorage]
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
    mutating func round(onLeaderApply: (Entry) -> Void, onLeaderRead: (ReadState) -> Void = { _ in },
                        onSnapshot: (Int, Snapshot) -> Void = { _, _ in }, onFollowerApply: (Int, Entry) -> Void = { _, _ in }) {
        for position in nodes.indices {
            while nodes[position].hasReady {
                let ready = nodes[position].ready()
                if let snapshot = ready.snapshot {
                    storages[position].applySnapshot(snapshot)
                    onSnapshot(position, snapshot)
                }
                storages[position].append(ready.entries)
                if let hardState = ready.hardState { storages[position].setHardState(hardState) }
                inbox.append(contentsOf: ready.messages)
                if position == 0 {
                    ready.committedEntries.forEach(onLeaderApply)
                    ready.readStates.forEach(onLeaderRead)
                } else {
                    for entry in ready.committedEntries { onFollowerApply(position, entry) }
                }
                nodes[position].advance(ready)
            }
        }
        let batch = inbox
        inbox.removeAll(keepingCapacity: true)
        for message in batch { nodes[Int(message.to) - 1].step(message) }
    }

    mutating func measure(proposers: Int, entries target: Int, payloadBytes: Int, name: String? = nil) -> BenchResult {
        let title = name ?? "raft commit \(nodes.count) nodes, \(proposers) proposer\(proposers == 1 ? "" : "s")"
        return measureClosedLoop(proposers: proposers, target: target, payloadBytes: payloadBytes, name: title,
                                 unit: name == nil ? "entries/s" : "reads/s")
    }

    /// `readers` each keep one ReadIndex read outstanding on the leader and ask again the moment
    /// it is confirmed; latency is readIndex → ReadState (the state machine is always caught up
    /// here, so serving the read adds nothing).
    mutating func measureReadIndex(readers: Int, reads target: Int) -> BenchResult {
        var histogram = BenchClock.latencyHistogram()
        var startedAt = [UInt64](repeating: 0, count: readers + 1)
        var nextContext = [UInt64](repeating: 0, count: readers + 1)
        func ask(_ reader: Int, _ cluster: inout BenchCluster) {
            nextContext[reader] += 1
            startedAt[reader] = BenchClock.nanoseconds()
            try! cluster.nodes[0].readIndex(context: UInt64(reader) << 32 | nextContext[reader])
        }
        for reader in 1...readers { ask(reader, &self) }
        var confirmed = 0
        let start = BenchClock.nanoseconds()
        while confirmed < target {
            var done: [Int] = []
            round(onLeaderApply: { _ in }, onLeaderRead: { state in
                let reader = Int(state.context >> 32)
                guard state.context & 0xFFFF_FFFF == nextContext[reader] else { return }
                histogram.record(BenchClock.nanoseconds() - startedAt[reader])
                confirmed += 1
                done.append(reader)
            })
            for reader in done { ask(reader, &self) }
        }
        let elapsed = BenchClock.nanoseconds() - start
        return BenchResult(name: "ReadIndex reads 3 nodes, \(readers) readers", unit: "reads/s",
                           value: Double(confirmed) / (Double(elapsed) / 1e9), histogram: histogram)
    }

    /// Adds an empty node as a learner and runs until it has installed the leader's snapshot and
    /// applied everything after it. Returns the wall time from proposing the learner to the
    /// snapshot loaded (install) and to caught up (total).
    mutating func catchUpNewMember(load: (Snapshot) -> Void) throws -> (install: UInt64, total: UInt64) {
        let node = NodeID(nodes.count + 1)
        let storage = MemoryStorage(voters: [])
        storages.append(storage)
        nodes.append(try Raft(config: RaftConfig(id: node), storage: storage, random: SeededGenerator(seed: 2, stream: node)))
        let start = BenchClock.nanoseconds()
        try nodes[0].proposeConfChange(.addLearner(node))
        let snapshotIndex = try storages[0].snapshot().index
        let newPosition = nodes.count - 1
        var installedAt: UInt64?
        var rounds = 0
        while installedAt == nil || nodes[newPosition].status().applied < nodes[0].committedIndex {
            round(onLeaderApply: { _ in }, onSnapshot: { position, snapshot in
                guard position == newPosition, snapshot.index >= snapshotIndex else { return }
                load(snapshot)
                installedAt = BenchClock.nanoseconds()
            })
            rounds += 1
            // Heartbeats resend what was lost; nothing is lost here, but a stuck run must end.
            if rounds % 64 == 0 { nodes[0].tick() }
            precondition(rounds < 1_000_000, "new member never caught up")
        }
        return (installedAt! - start, BenchClock.nanoseconds() - start)
    }
}

extension BenchCluster {
    /// A proposal is known by the log index the leader gave it.
    mutating func proposeOne(payload: [UInt8]) -> LogIndex {
        try! nodes[0].propose(payload)
        return nodes[0].lastIndex
    }

    mutating func runRound(completed: (LogIndex) -> Void) {
        round { entry in completed(entry.index) }
    }
}
