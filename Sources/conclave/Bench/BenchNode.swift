import ArgumentParser
import ConclaveServer
import ConclaveStorage
import ConclaveWire
import Foundation
import Dispatch
import Histogram
import Synchronization

/// `conclave bench node`: a real cluster of node processes on loopback, fsync on, driven over RESP.
struct BenchNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "SET, redis-benchmark, a contended lock and idle-connection memory on 3 node processes over loopback (fsync on).",
        discussion: """
            Starts the node processes (this same binary, `conclave node`) with data in --dir, waits \
            for a leader, and runs each client count for --seconds: every client a connection to the \
            leader sending SET of a 128 B value and waiting for the reply (or --pipeline commands \
            at a time). A raw pwrite+fdatasync loop on the same file system is the reference row: \
            one client cannot beat one sync per SET. Then redis-benchmark -t set -P 16 -c 50 against \
            the same leader (when installed), 8 clients handing one lock around with LOCK.ACQUIRE and \
            LOCK.RELEASE (latency: release sent to the next grant received), and the leader's RSS \
            growth over 1,000 idle connections. The nodes are stopped with SIGTERM at the end.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Node processes (1…7).") var nodes = 3
    @Option(help: "Client counts to run, comma-separated.") var clients = "1,64"
    @Option(help: "Seconds per client count (0.5…600).") var seconds = 5.0
    @Option(help: "Commands each client keeps in flight (1…1024).") var pipeline = 1
    @Option(help: "Rows to run, comma-separated: set, redis-benchmark, lock, idle.") var workloads = "set,redis-benchmark,lock,idle"
    @Option(help: "Directory for the nodes' data (the file system measured). Default: the system temporary directory.")
    var dir: String?
    @Option(help: "First of the ports used (peers from it, clients from it + 100). Default: random in 20000…32567 (below the ephemeral ports).")
    var basePort: Int?
    @Flag(help: "Run the nodes with --unsafe-no-fsync: what the software costs without the disk (rows say 'fsync off').")
    var unsafeNoFsync = false

    func validate() throws {
        guard (1...7).contains(nodes) else { throw ValidationError("--nodes must be in 1…7, got \(nodes)") }
        guard (0.5...600).contains(seconds) else { throw ValidationError("--seconds must be in 0.5…600, got \(seconds)") }
        guard (1...1_024).contains(pipeline) else { throw ValidationError("--pipeline must be in 1…1024, got \(pipeline)") }
        let known: Set = ["set", "redis-benchmark", "lock", "idle"]
        guard !workloadList.isEmpty, workloadList.allSatisfy(known.contains) else {
            throw ValidationError("--workloads '\(workloads)': accepted: comma-separated names among set, redis-benchmark, lock, idle")
        }
        guard !clientCounts.isEmpty, clientCounts.allSatisfy({ (1...1_024).contains($0) }) else {
            throw ValidationError("--clients '\(clients)': accepted: comma-separated counts in 1…1024")
        }
    }

    var workloadList: [String] { workloads.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    var clientCounts: [Int] { clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let base = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("conclave-bench-node-\(getpid())").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let cluster = try LocalCluster(directory: base, nodes: nodes, basePort: basePort ?? LocalCluster.randomBasePort(span: 200),
                                       extraArguments: unsafeNoFsync ? ["--unsafe-no-fsync"] : [])
        defer {
            cluster.stop()
            if dir == nil { try? FileManager.default.removeItem(atPath: base) }
        }
        let leader = try cluster.waitForLeader(seconds: 60)
        var results: [BenchResult] = []
        let loneSync = try rawSyncReference(in: base, loops: 1)
        let clusterSync = nodes > 1 ? try rawSyncReference(in: base, loops: nodes) : loneSync
        results += nodes > 1 ? [loneSync, clusterSync] : [loneSync]
        let address = cluster.clientAddress(of: leader)
        let roundTrip = try measureRoundTrip(at: address)
        results.append(roundTrip)
        // First, on processes no load has grown yet: what connections add, not what load left.
        if workloadList.contains("idle") { results.append(try measureIdleConnections(1_000, node: leader, cluster: cluster)) }
        if workloadList.contains("set") {
            for count in clientCounts { results.append(try measure(clients: count, at: address)) }
        }
        if workloadList.contains("redis-benchmark"), let row = try runRedisBenchmark(port: address.port) { results.append(row) }
        if workloadList.contains("lock") {
            results += try measureLock(clients: 8, at: address, cluster: cluster)
            // Without fsync the nodes sync nothing: a floor with an fsync in it would not apply.
            if !unsafeNoFsync { results.append(Self.handOffFloor(roundTrip: roundTrip, sync: clusterSync)) }
        }
        if unsafeNoFsync {
            for index in results.indices where !results[index].name.hasPrefix("raw ") { results[index].name += " [fsync off]" }
        }
        BenchReport.emit(results, json: options.json)
    }

    /// `count` clients sending SETs for `seconds`, all on this thread: each connection keeps
    /// `pipeline` SETs in flight and sends the next as soon as a reply comes (`poll` on the
    /// sockets), so the load generator costs one thread, as redis-benchmark does.
    private func measure(clients count: Int, at address: PeerAddress) throws -> BenchResult {
        let value = String(repeating: "v", count: 128)
        let connections = try (0..<count).map { _ in try RESPClient(address) }
        var sentAt = Array(repeating: [UInt64](), count: count)
        var sequence = 0
        func sendOne(_ client: Int) throws {
            sequence += 1
            sentAt[client].append(BenchClock.nanoseconds())
            try connections[client].send([["SET", "bench:\(client):\(sequence % 10_000)", value]])
        }
        var histogram = BenchClock.latencyHistogram()
        let start = BenchClock.nanoseconds()
        let end = start + UInt64(seconds * 1e9)
        for client in 0..<count {
            for _ in 0..<pipeline { try sendOne(client) }
        }
        var completed: UInt64 = 0
        try Self.drive(connections, owed: count * pipeline, what: "SET") { client, reply, now in
            guard reply == .simpleString("OK") else { throw ValidationError("bench node: SET answered \(reply)") }
            _ = histogram.record(now - sentAt[client].removeFirst())
            completed += 1
            guard now < end else { return 0 }
            try sendOne(client)
            return 1
        }
        let elapsed = BenchClock.nanoseconds() - start
        let name = "SET 128 B, \(count) client\(count == 1 ? "" : "s")" + (pipeline > 1 ? ", pipeline \(pipeline)" : "") + ", \(nodes) nodes"
        return BenchResult(name: name, unit: "ops/s", value: Double(completed) / (Double(elapsed) / 1e9), histogram: histogram)
    }

    /// One client's PING to the leader and its answer, one after another: a loopback round trip
    /// between two processes, wake-ups included — the hop a commit and a hand-off pay several times.
    private func measureRoundTrip(at address: PeerAddress) throws -> BenchResult {
        let connection = try RESPClient(address)
        var histogram = BenchClock.latencyHistogram()
        let elapsed = try BenchClient.loop(UInt64(min(seconds, 2) * 1e9), into: &histogram) {
            guard try connection.call(["PING"]) == .simpleString("PONG") else { throw ValidationError("bench node: PING was not answered PONG") }
        }
        return BenchResult(name: "PING round trip to the leader, 1 client (reference)", unit: "ops/s",
                           value: Double(histogram.totalCount) / (Double(elapsed) / 1e9), histogram: histogram)
    }

    /// The fastest a lock can change hands here, from this run's references: a hand-off is a chain
    /// of two round trips (the release to the leader and the grant back; the leader's append to a
    /// follower and its answer) and one fsync (the leader's and the followers' overlap), none of
    /// which can start before the one before it ends. The rate is its inverse (p50s; no CPU cost).
    static func handOffFloor(roundTrip: BenchResult, sync: BenchResult) -> BenchResult {
        let floor = 2 * roundTrip.p50 + sync.p50
        return BenchResult(name: "  hand-off floor: 2 round trips + 1 fsync, p50s above (reference)", unit: "handoffs/s",
                           value: 1e9 / floor, p50: floor, p99: 2 * roundTrip.p99 + sync.p99, n: 0)
    }

    /// The physical limit on this file system: one 128 B pwrite + fdatasync after another — from
    /// one loop, and from one loop per node at once (every node of a cluster syncs each commit,
    /// on one disk here: its latency is the floor under a commit, hence under a lock hand-off).
    private func rawSyncReference(in base: String, loops: Int) throws -> BenchResult {
        let fileSystem = PosixFileSystem()
        let paths = (0..<loops).map { base + "/raw-sync-\($0).dat" }
        let syncLoops = try paths.map { try RawSyncLoop(path: $0, preallocate: true, fileSystem: fileSystem) }
        let histograms = Mutex<[Histogram<UInt64>]>([])
        let elapsed = Mutex<UInt64>(0)
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: loops) { index in
            var histogram = BenchClock.latencyHistogram()
            do {
                let took = try syncLoops[index].run(for: UInt64(min(seconds, 2) * 1e9), into: &histogram)
                elapsed.withLock { $0 = max($0, took) }
                histograms.withLock { $0.append(histogram) }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        for (loop, path) in zip(syncLoops, paths) {
            fileSystem.close(loop.file)
            try? FileManager.default.removeItem(atPath: path)
        }
        if let error = failure.withLock({ $0 }) { throw error }
        var merged = BenchClock.latencyHistogram()
        for histogram in histograms.withLock({ $0 }) { merged.add(histogram) }
        let name = loops == 1 ? "raw pwrite+fdatasync loop, 128 B (reference)"
                              : "raw pwrite+fdatasync, \(loops) loops at once (one per node), 128 B (reference)"
        return BenchResult(name: name, unit: "syncs/s", value: Double(merged.totalCount) / (Double(elapsed.withLock { $0 }) / 1e9),
                           histogram: merged)
    }
}
