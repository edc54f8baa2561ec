import ArgumentParser
import ConclaveServer
import ConclaveWire
import Foundation
import Histogram

/// The rows of `bench node` beyond SET: a contended lock, the memory an idle connection costs,
/// and redis-benchmark's own SET figure on the same cluster in the same run.
extension BenchNode {
    /// `count` clients, each with its own connection and session, taking one lock in turn:
    /// LOCK.ACQUIRE (parked in the lock's queue while another holds it), then LOCK.RELEASE. The
    /// rate is grants per second; the latency is the hand-off: from a holder sending its release
    /// to the next holder receiving its grant (the release's commit, the grant's apply, the reply).
    ///
    /// With `cluster`, it also says what a hand-off costs, as rows beside it: each process's CPU
    /// time (user + system, from /proc) per hand-off — the nodes' and this load generator's — and
    /// each node's WAL syncs and log entries per hand-off (INFO persistence and replication).
    func measureLock(clients count: Int, at address: PeerAddress, cluster: LocalCluster? = nil) throws -> [BenchResult] {
        let lock = "bench-lock-\(getpid())"
        let costsBefore = try cluster.map { try LockCosts(cluster: $0) }
        let connections = try (0..<count).map { _ in try RESPClient(address) }
        for connection in connections {
            guard case .integer = try connection.call(["SESSION.OPEN", "30000"]) else {
                throw ValidationError("bench node: SESSION.OPEN was refused")
            }
        }
        enum Step { case acquiring, releasing }
        var steps = Array(repeating: Step.acquiring, count: count)
        var histogram = BenchClock.latencyHistogram()
        var releaseSentAt: UInt64?
        var grants: UInt64 = 0
        let start = BenchClock.nanoseconds()
        let end = start + UInt64(seconds * 1e9)
        for connection in connections { try connection.send([["LOCK.ACQUIRE", lock, "10000"]]) }
        try Self.drive(connections, owed: count, what: "lock") { client, reply, now in
            switch (steps[client], reply) {
            case (.acquiring, .integer):
                grants += 1
                if let sent = releaseSentAt { _ = histogram.record(now - sent) }
                releaseSentAt = now
                steps[client] = .releasing
                try connections[client].send([["LOCK.RELEASE", lock]])
                return 1
            case (.releasing, .simpleString("OK")):
                steps[client] = .acquiring
                guard now < end else { return 0 }
                try connections[client].send([["LOCK.ACQUIRE", lock, "10000"]])
                return 1
            default:
                throw ValidationError("bench node: \(steps[client] == .acquiring ? "LOCK.ACQUIRE" : "LOCK.RELEASE") answered \(reply)")
            }
        }
        let elapsed = BenchClock.nanoseconds() - start
        var results = [BenchResult(name: "contended lock: \(count) clients, ACQUIRE+RELEASE of one name (latency: hand-off)",
                                   unit: "handoffs/s", value: Double(grants) / (Double(elapsed) / 1e9), histogram: histogram)]
        if let cluster, let before = costsBefore, grants > 0 {
            results += try LockCosts(cluster: cluster).rows(since: before, handoffs: grants)
        }
        return results
    }

    /// Reads the replies of `connections` as they come, on this one thread (`poll`), until none
    /// is owed: `handle(client, reply, now)` takes each and returns how many commands it sent in
    /// answer. Fails when no reply comes for 10 s.
    static func drive(_ connections: [RESPClient], owed: Int, what: String,
                      _ handle: (Int, RESPValue, UInt64) throws -> Int) throws {
        var pollSet = connections.map { pollfd(fd: $0.socketDescriptor, events: Int16(POLLIN), revents: 0) }
        var owed = owed
        while owed > 0 {
            let ready = poll(&pollSet, nfds_t(pollSet.count), 10_000)
            guard ready > 0 else { throw ValidationError("bench node: no \(what) reply for 10 s (\(owed) in flight)") }
            for client in pollSet.indices where pollSet[client].revents != 0 {
                pollSet[client].revents = 0
                for reply in try connections[client].receiveAvailable() {
                    owed += try handle(client, reply, BenchClock.nanoseconds()) - 1
                }
            }
        }
    }

    /// The growth of a node's resident memory over `count` idle connections (each said PING and
    /// got PONG, so the node set it up in full), per connection, in KiB.
    func measureIdleConnections(_ count: Int, node: Int, cluster: LocalCluster) throws -> BenchResult {
        let address = cluster.clientAddress(of: node)
        let before = try cluster.residentKiB(of: node)
        var connections: [RESPClient] = []
        connections.reserveCapacity(count)
        for _ in 0..<count {
            let connection = try RESPClient(address, readBufferBytes: 512)
            try connection.send([["PING"]])
            connections.append(connection)
        }
        for connection in connections {
            guard try connection.call(["PING"]) == .simpleString("PONG") else { throw ValidationError("bench node: PING") }
        }
        let after = try cluster.residentKiB(of: node)
        let perConnection = Double(after - before) / Double(count)
        connections.removeAll()
        return BenchResult(name: "memory per idle connection (\(count) connections, node RSS growth)", unit: "KiB",
                           value: perConnection, p50: .nan, p99: .nan, n: UInt64(count))
    }

    /// redis-benchmark's own run against the leader in this same run: `-t set -P 16 -c 50` with
    /// a 128 B value; its CSV gives requests per second and its p50/p99 (ms, reported here in ns).
    /// Nil when redis-benchmark is not installed.
    func runRedisBenchmark(port: Int) throws -> BenchResult? {
        guard let tool = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
            .map({ "\($0)/redis-benchmark" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            FileHandle.standardError.write(Data("bench node: redis-benchmark is not installed (apt-get install redis-tools); its row is left out\n".utf8))
            return nil
        }
        let requests = max(20_000, Int(seconds * 100_000))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-p", "\(port)", "-t", "set", "-P", "16", "-c", "50", "-d", "128", "-n", "\(requests)", "--csv"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        guard process.terminationStatus == 0,
              let row = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("\"SET\"") }) else {
            throw ValidationError("bench node: redis-benchmark exited \(process.terminationStatus): \(text.prefix(300))")
        }
        let fields = row.split(separator: ",").map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
        guard fields.count >= 7, let rps = fields[1], let p50 = fields[4], let p99 = fields[6] else {
            throw ValidationError("bench node: redis-benchmark's CSV row is not what was expected: \(row)")
        }
        return BenchResult(name: "redis-benchmark -t set -P 16 -c 50 -d 128 (its own count)", unit: "ops/s", value: rps,
                           p50: p50 * 1e6, p99: p99 * 1e6, n: UInt64(requests))
    }
}

extension LocalCluster {
    /// A node process's resident set (VmRSS in /proc/PID/status), in KiB.
    func residentKiB(of node: Int) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid(of: node))/status", encoding: .utf8)
        guard let line = status.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
            throw ValidationError("bench node: no VmRSS for node \(node)")
        }
        return kib
    }
}

/// What the nodes and this process have spent so far, read from /proc and INFO, for the cost of a
/// lock hand-off (`measureLock`).
struct LockCosts {
    struct Node {
        var role: String
        var cpuTicks: Int
        var syncs: Int
        var commit: Int
        /// The node's fsync durations so far (ns): INFO's wal_fsync_p50_us and _p99_us.
        var fsyncP50: Double
        var fsyncP99: Double
    }

    var nodes: [Node]
    var selfTicks: Int

    init(cluster: LocalCluster) throws {
        nodes = try (1...cluster.nodes).map { node in
            let client = try RESPClient(cluster.clientAddress(of: node), timeoutMillis: 2_000)
            let persistence = try client.info("persistence")
            let replication = try client.info("replication")
            return Node(role: replication["raft_role"] ?? "?", cpuTicks: try Self.cpuTicks(of: cluster.pid(of: node)),
                        syncs: Int(persistence["wal_syncs"] ?? "") ?? 0, commit: Int(replication["commit_index"] ?? "") ?? 0,
                        fsyncP50: (Double(persistence["wal_fsync_p50_us"] ?? "") ?? .nan) * 1_000,
                        fsyncP99: (Double(persistence["wal_fsync_p99_us"] ?? "") ?? .nan) * 1_000)
        }
        selfTicks = try Self.cpuTicks(of: getpid())
    }

    /// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
    static func cpuTicks(of pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name (field 2) may hold spaces; the fields after its ')' are plain.
        guard let close = stat.lastIndex(of: ")") else { throw ValidationError("bench node: unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw ValidationError("bench node: unreadable /proc/\(pid)/stat")
        }
        return user + system
    }

    func rows(since before: LockCosts, handoffs: UInt64) -> [BenchResult] {
        let tick = 1e6 / Double(sysconf(Int32(_SC_CLK_TCK)))
        let count = Double(handoffs)
        func row(_ name: String, _ unit: String, _ value: Double, p50: Double = .nan, p99: Double = .nan) -> BenchResult {
            BenchResult(name: "  cost per hand-off: " + name, unit: unit, value: value, p50: p50, p99: p99, n: handoffs)
        }
        var rows: [BenchResult] = []
        for (index, (now, then)) in zip(nodes, before.nodes).enumerated() {
            rows.append(row("node \(index + 1) (\(now.role)) CPU", "µs", Double(now.cpuTicks - then.cpuTicks) * tick / count))
        }
        rows.append(row("load generator CPU (8 clients, one thread)", "µs", Double(selfTicks - before.selfTicks) * tick / count))
        for (index, (now, then)) in zip(nodes, before.nodes).enumerated() {
            rows.append(row("node \(index + 1) (\(now.role)) WAL syncs (p50/p99: fsync time)", "syncs",
                            Double(now.syncs - then.syncs) / count, p50: now.fsyncP50, p99: now.fsyncP99))
        }
        if let leader = zip(nodes, before.nodes).first(where: { $0.0.role == "leader" }) {
            rows.append(row("log entries committed (ACQUIRE and RELEASE each one)", "entries", Double(leader.0.commit - leader.1.commit) / count))
        }
        return rows
    }
}
