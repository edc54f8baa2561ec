import ArgumentParser
import ConclaveCluster
import ConclaveCore
import ConclaveWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a process-chaos run is asked to do.
struct ProcessChaosOptions: Sendable {
    var seed: UInt64
    var nodes = 3
    var clients = 8
    var durationMillis: UInt64 = 30_000
    var faults: [ProcessFault] = ProcessFault.allCases
    /// Where the nodes' data lives (default: a new temporary directory, removed after a pass).
    var directory: String?
    /// Each node in a network namespace of its own; a partition is its link going down.
    var networkNamespaces = false

    static let nodesRange = 3...7
    static let clientsRange = 1...64
    static let durationMillisRange: ClosedRange<UInt64> = 5_000...86_400_000

    func validate() throws(ValidationError) {
        guard Self.nodesRange.contains(nodes) else {
            throw ValidationError("--processes \(nodes): accepted: \(Self.nodesRange.lowerBound)…\(Self.nodesRange.upperBound) node processes")
        }
        guard Self.clientsRange.contains(clients) else {
            throw ValidationError("--clients \(clients) with --processes: accepted: \(Self.clientsRange.lowerBound)…\(Self.clientsRange.upperBound)")
        }
        guard Self.durationMillisRange.contains(durationMillis) else {
            throw ValidationError("--duration with --processes: accepted: 5s…24h of wall time")
        }
    }
}

/// `conclave chaos --processes N`: real node processes of this binary on 127.0.0.1 (fsync on, a
/// cluster token), clients on threads over RESP, and a nemesis following a schedule drawn from the
/// seed — kill -9 and restart, SIGSTOP/SIGCONT, partitions and message drops (ADMIN rules on the
/// peer transport), clock skew, leader transfer. After the run every fault is repaired and every
/// key read once more; then the history is checked for linearizability (registers, and locks
/// with fencing tokens increasing), the counter against the acknowledged increments, and the
/// Snowflake IDs for uniqueness and order per node.
final class ProcessChaosRunner {
    let options: ProcessChaosOptions
    let schedule: FaultSchedule
    let ledger = ChaosLedger()
    private(set) var faultLog: [String] = []
    private let token = "chaos-\(UInt64.random(in: 1...UInt64.max))"
    private var cluster: LocalCluster?
    private var namespaces: NetworkNamespaces?
    private var directory = ""

    init(options: ProcessChaosOptions) {
        self.options = options
        schedule = FaultSchedule(seed: options.seed, nodes: options.nodes, durationMillis: options.durationMillis, faults: options.faults)
    }

    var history: [HistoryOperation] { ledger.state.withLock { $0.operations } }

    func run() throws -> ProcessChaosSummary {
        directory = options.directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("conclave-chaos-\(getpid())-\(options.seed)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tokenFile = directory + "/token"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let namespaces = options.networkNamespaces ? try NetworkNamespaces(nodes: options.nodes) : nil
        self.namespaces = namespaces
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(directory: directory, nodes: options.nodes, basePort: LocalCluster.randomBasePort(span: 200),
                                       extraArguments: ["--token-file", tokenFile], token: token,
                                       host: { node in namespaces?.address(of: node) ?? "127.0.0.1" },
                                       launcher: { node in namespaces?.launcher(of: node) ?? [] })
        } catch {
            namespaces?.remove()
            throw error
        }
        self.cluster = cluster
        let signals = stoppingOnSignals {
            cluster.stop()
            namespaces?.remove()
        }
        defer {
            signals.forEach { $0.cancel() }
            cluster.stop()
            namespaces?.remove()
        }
        _ = try cluster.waitForLeader(seconds: 60)

        let addresses = (1...options.nodes).map(cluster.clientAddress(of:))
        let start = BenchClock.nanoseconds()
        let stop = start + options.durationMillis * 1_000_000
        let finished = DispatchGroup()
        for index in 0..<options.clients {
            let client = ProcessChaosClient(index: index, seed: options.seed, addresses: addresses, token: token, ledger: ledger,
                                            startNanos: start, stopNanos: stop)
            finished.enter()
            let thread = Thread {
                client.run()
                finished.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for step in schedule.steps {
            let due = start + step.atMillis * 1_000_000
            let now = BenchClock.nanoseconds()
            if due > now { Thread.sleep(forTimeInterval: Double(due - now) / 1e9) }
            faultLog.append(String(format: "%6.1fs  ", Double(step.atMillis) / 1_000) + perform(step.action, on: cluster))
        }
        // Clients stop at `stop` by themselves; each call is bounded by its timeout.
        if finished.wait(timeout: .now() + .milliseconds(Int(options.durationMillis) + 30_000)) == .timedOut {
            throw ValidationError("chaos: client threads did not finish within 30 s of the end")
        }
        repairEverything(on: cluster)
        let leader = try cluster.waitForLeader(seconds: 60)
        try finalReads(from: leader)
        return summarize(elapsedMillis: (BenchClock.nanoseconds() - start) / 1_000_000)
    }

    /// Removes the data directory (after a passing run; a failing one is kept to look at).
    func removeData() { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
    var dataDirectory: String { directory }

    // MARK: - Nemesis

    private func perform(_ action: FaultSchedule.Action, on cluster: LocalCluster) -> String {
        let all = Array(1...options.nodes)
        var notes: [String] = []
        func admin(_ node: Int, _ arguments: [String], timeoutMillis: Int = 3_000) {
            if let failure = adminCall(node, arguments, timeoutMillis: timeoutMillis) { notes.append("node \(node): \(failure)") }
        }
        func onLeader(_ arguments: [String]) {
            guard let leader = currentLeader() else { return notes.append("skipped: no leader is known") }
            admin(leader, arguments, timeoutMillis: 35_000)  // a membership change answers once it applied
        }
        switch action {
        case .kill(let node): cluster.kill(node)
        case .restart(let node):
            do { try cluster.restart(node) } catch { notes.append("\(error)") }
        case .pause(let node): cluster.pause(node)
        case .resume(let node): cluster.resume(node)
        case .isolate(let node):
            if let namespaces {
                do { try namespaces.cut(node) } catch { notes.append("\(error)") }
                notes.append("link down")
            } else {
                admin(node, ["ADMIN.PARTITION"] + all.filter { $0 != node }.map(String.init))
                for other in all where other != node { admin(other, ["ADMIN.PARTITION", "\(node)"]) }
            }
        case .heal:
            restoreLinks(&notes)
            for node in all { admin(node, ["ADMIN.HEAL"]) }
        case .skew(let node, let millis): admin(node, ["ADMIN.SKEW", "\(millis)"])
        case .transfer(let target):
            if let leader = currentLeader(), leader != target {
                admin(leader, ["ADMIN.TRANSFER-LEADER", "\(target)"])
            } else {
                notes.append("skipped: node \(target) already leads or no leader is known")
            }
        case .drop(let node, let percent):
            admin(node, ["ADMIN.DROP", "\(percent)", "SEED", "\(options.seed)"])
        case .failSync(let node): admin(node, ["ADMIN.DISK-FAULT", "FSYNC"])
        case .removeMember(let node): onLeader(["ADMIN.REMOVE-MEMBER", "\(node)"])
        case .addMember(let node): onLeader(["ADMIN.ADD-MEMBER", "\(node)"])
        }
        return action.description + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
    }

    /// Every node's link up again (network-namespace runs).
    private func restoreLinks(_ notes: inout [String]) {
        guard let namespaces else { return }
        for node in 1...options.nodes where !namespaces.isUp(node) {
            do { try namespaces.restore(node) } catch { notes.append("\(error)") }
        }
    }

    /// One ADMIN command, authenticated; nil when it answered OK, else what went wrong.
    private func adminCall(_ node: Int, _ arguments: [String], timeoutMillis: Int = 3_000) -> String? {
        guard let cluster else { return "no cluster" }
        do {
            if case .error(let text) = try cluster.client(of: node, timeoutMillis: timeoutMillis).call(arguments) { return text }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func currentLeader() -> Int? {
        guard let cluster else { return nil }
        return (1...options.nodes).lazy.filter(cluster.isRunning).compactMap(cluster.leader(seenBy:)).first
    }

    /// The leader most nodes name (a removed node may still name an old one), polled for up to
    /// `seconds`.
    private func majorityLeader(within seconds: Double) -> Int? {
        guard let cluster else { return nil }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let named = (1...options.nodes).compactMap(cluster.leader(seenBy:))
            let counts = Dictionary(named.map { ($0, 1) }, uniquingKeysWith: +)
            if let (leader, count) = counts.max(by: { $0.value < $1.value }), count > options.nodes / 2 { return leader }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }

    /// The final heal: every process running and thawed, every link rule and clock skew gone.
    private func repairEverything(on cluster: LocalCluster) {
        var notes: [String] = []
        restoreLinks(&notes)
        for node in 1...options.nodes {
            cluster.resume(node)
            if !cluster.isRunning(node) { try? cluster.restart(node) }
        }
        for node in 1...options.nodes {
            _ = adminCall(node, ["ADMIN.HEAL"])
            _ = adminCall(node, ["ADMIN.SKEW", "0"])
        }
        // A member whose re-add failed (a leader change in between) is added back now.
        if let leader = majorityLeader(within: 30), let voters = (try? cluster.client(of: leader).info("replication"))?["voters"] {
            let members = Set(voters.split(separator: ",").compactMap { Int($0) })
            for node in 1...options.nodes where !members.contains(node) {
                _ = adminCall(leader, ["ADMIN.ADD-MEMBER", "\(node)"], timeoutMillis: 35_000)
            }
        }
        faultLog.append("   end  healed: every node running and a member, no link rules, no skew"
                        + (namespaces == nil ? "" : ", every link up") + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"))
    }

    /// After the heal, a fresh client reads every key once more: an acknowledged write that was
    /// lost shows up as a read the checker cannot place.
    private func finalReads(from leader: Int) throws {
        let client = try cluster!.client(of: leader, timeoutMillis: 5_000)
        let keys = ledger.state.withLock { $0.keys }.sorted()
        var reader = ledger.newClient()
        for key in keys {
            let call = BenchClock.nanoseconds()
            var operation = HistoryOperation(client: reader, kind: .get, key: key, call: call, returnTime: nil)
            switch try client.call(["GET", key]) {
            case .bulkString(let bytes): operation.output = String(decoding: bytes, as: UTF8.self)
            case .null: operation.output = nil
            case let other: throw ValidationError("chaos: the final GET \(key) answered \(other)")
            }
            operation.returnTime = BenchClock.nanoseconds()
            ledger.record(operation)
            reader = ledger.newClient()
        }
        let counter = try client.call(["GET", "chaos:counter"])
        ledger.state.withLock { state in
            if case .bulkString(let bytes) = counter { state.finalCounter = Int64(String(decoding: bytes, as: UTF8.self)) }
            if case .null = counter { state.finalCounter = 0 }
        }
    }

    // MARK: - Checks

    private func summarize(elapsedMillis: UInt64) -> ProcessChaosSummary {
        let state = ledger.state.withLock { $0 }
        let report = LinearizabilityChecker().check(state.operations)
        let problems = ServiceChecks.counter(acknowledged: state.increments, unknown: state.unknownIncrements, final: state.finalCounter)
            + ServiceChecks.ids(state.ids)
        return ProcessChaosSummary(options: options, elapsedMillis: elapsedMillis, operations: state.operations.count,
                                   unknowns: state.unknowns, refused: state.refused, increments: state.increments.count,
                                   unknownIncrements: state.unknownIncrements, finalCounter: state.finalCounter, ids: state.ids.count,
                                   faults: faultLog, report: report, problems: problems)
    }
}

/// What a process-chaos run did and found.
struct ProcessChaosSummary: CustomStringConvertible {
    var options: ProcessChaosOptions
    var elapsedMillis: UInt64
    var operations: Int
    var unknowns: Int
    var refused: Int
    var increments: Int
    var unknownIncrements: Int
    var finalCounter: Int64?
    var ids: Int
    var faults: [String]
    var report: CheckReport
    var problems: [String]

    var passed: Bool { report.verdict == .linearizable && problems.isEmpty }

    var replay: String {
        "conclave chaos --processes \(options.nodes) --seed \(options.seed) --clients \(options.clients) "
            + "--duration \(options.durationMillis / 1_000)s --nemesis \(options.faults.isEmpty ? "none" : options.faults.map(\.rawValue).joined(separator: ","))"
            + (options.networkNamespaces ? " --netns" : "")
    }

    var description: String {
        var lines = [
            "process chaos, seed \(options.seed): \(options.nodes) node processes, \(options.clients) clients, "
                + "\(elapsedMillis / 1_000) s (fsync on, "
                + (options.networkNamespaces ? "a network namespace per node: partitions are links going down)" : "127.0.0.1)"),
            "faults (the seed's schedule):",
        ]
        lines += faults.map { "  " + $0 }
        lines.append("history: \(operations) operations, \(unknowns) with unknown outcome, \(refused) refused before taking effect")
        lines.append("counter: \(increments) acknowledged INCRs + \(unknownIncrements) unknown; final value \(finalCounter.map(String.init) ?? "?")")
        lines.append("IDs: \(ids) issued")
        lines.append("checker: \(report.verdict.rawValue) over \(report.keys.count) keys and locks")
        for key in report.keys where key.verdict != .linearizable {
            lines.append("  \(key.key): \(key.verdict.rawValue): \(key.explanation)")
        }
        lines += problems.map { "problem: " + $0 }
        lines.append(passed ? "PASS" : "FAIL — replay the schedule with: \(replay)")
        return lines.joined(separator: "\n")
    }
}
