import ConclaveCore

/// What a chaos run did and whether the cluster behaved.
public struct ChaosSummary: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var nodes: Int
    public var clients: Int
    public var nemesis: [String]
    public var virtualNanos: UInt64
    public var operations = 0
    public var succeeded = 0
    /// Answered, but did not take effect as asked (a compare-and-swap that did not swap).
    public var failed = 0
    public var unknown = 0
    public var leaderChanges = 0
    public var faults: [String: Int] = [:]
    public var events = 0
    public var traceHash: UInt64 = 0
    public var check: CheckReport
    public var invariantViolations: [String]
    /// Every node ended with the same state machine.
    public var replicasAgree: Bool
    /// Operations that succeeded after the nemesis stopped and the cluster healed.
    public var succeededAfterHeal = 0
    /// The ID workload: IDs issued, problems found (duplicates, order), IDs issued after healing.
    public var idsIssued = 0
    public var idViolations: [String] = []
    public var idsAfterHeal = 0
    /// The delay-task workload: tasks scheduled, firings claimed, problems found.
    public var tasksScheduled = 0
    public var tasksFired = 0
    public var taskViolations: [String] = []

    /// Linearizable, safe, converged and live after healing.
    public var passed: Bool {
        check.verdict == .linearizable && invariantViolations.isEmpty && replicasAgree && idViolations.isEmpty
            && taskViolations.isEmpty
            && (succeededAfterHeal > 0 || idsAfterHeal > 0)
    }

    /// The workload the clients ran and whether leaders served lease reads (part of the replay command).
    public var workload = "kv"
    public var leaseReads = false
    /// The consensus engine the cluster ran: raft (the default) or paxos.
    public var engine = "raft"

    public var replayCommand: String {
        "conclave chaos --seed \(seed) --nodes \(nodes) --clients \(clients) --duration \(durationText) --workload \(workload) --nemesis \(nemesis.isEmpty ? "none" : nemesis.joined(separator: ","))\(leaseReads ? " --lease-reads" : "")\(engine == "raft" ? "" : " --engine \(engine)")"
    }

    /// The requested duration, for the replay command.
    public var durationText: String

    public var description: String {
        let faultText = faults.isEmpty ? "none" : faults.keys.sorted().map { "\($0) \(faults[$0]!)" }.joined(separator: ", ")
        var lines: [String?] = [
            "seed \(seed): \(nodes) nodes, \(clients) clients, \(virtualNanos / 1_000_000) ms simulated, \(events) events",
            "operations \(operations): ok \(succeeded), failed \(failed), unknown \(unknown); ok after heal \(succeededAfterHeal)",
            "leader changes \(leaderChanges); faults injected: \(faultText)",
            "invariants: \(invariantViolations.isEmpty ? "held" : "\(invariantViolations.count) violated")",
            "replicas: \(replicasAgree ? "agree" : "DIVERGED")",
            idsIssued == 0 ? nil : "ids: \(idsIssued) issued (\(idsAfterHeal) after heal), \(idViolations.isEmpty ? "unique and ordered per worker" : "\(idViolations.count) problems")",
            tasksScheduled == 0 ? nil : "tasks: \(tasksScheduled) scheduled, \(tasksFired) fired, \(taskViolations.isEmpty ? "none lost" : "\(taskViolations.count) problems")",
            "linearizability: \(check.verdict.rawValue) (\(check.keys.count) keys)",
        ]
        lines += invariantViolations.prefix(5).map { "  violation: \($0)" }
        lines += idViolations.prefix(5).map { "  ids: \($0)" }
        lines += taskViolations.prefix(5).map { "  tasks: \($0)" }
        if check.verdict != .linearizable { lines.append(check.description) }
        lines.append("verdict: \(passed ? "PASS" : "FAIL") — replay: \(replayCommand)")
        return lines.compactMap { $0 }.joined(separator: "\n")
    }
}
