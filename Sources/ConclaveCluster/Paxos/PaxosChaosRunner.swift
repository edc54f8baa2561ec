import ConclaveCore
import ConclavePaxos

/// `conclave chaos --engine paxos`: KV clients against a simulated Multi-Paxos cluster under the
/// nemesis, the history recorded in the format Raft runs write (../shared/HISTORY.md) and judged
/// by the same `LinearizabilityChecker`.
///
/// Virtual time advances a millisecond per step; nodes tick every `tickMillis`. Messages go
/// through the simulator's `SimulatedNetwork` (latency, drop, duplicate, delay, partitions).
/// Crashes lose everything but each acceptor's persisted state; pauses stop a node's ticks and
/// hold its messages. Safety is checked as the run goes: a slot chosen (a majority of acceptors
/// persisted one ballot's value) never gets a second value, and every learner applies, per slot,
/// the value chosen there. Faults stop at 80% of the run; the cluster must then make progress.
public struct PaxosChaosRunner {
    public static let supportedNemesis: [NemesisKind] = [.partition, .crash, .pause, .drop, .duplicate, .delay]

    let options: ChaosOptions
    let durationText: String
    let tickMillis: UInt64 = 10
    let requestTimeoutMillis: UInt64 = 1_000

    public init(options: ChaosOptions, durationText: String) throws(ChaosError) {
        guard options.nodes >= 3 else {
            throw .invalid("--engine paxos needs at least 3 acceptors (--nodes \(options.nodes)): with fewer, one failure leaves no majority")
        }
        let unsupported = options.nemesis.filter { !Self.supportedNemesis.contains($0) }
        guard unsupported.isEmpty else {
            throw .invalid("--engine paxos supports the nemesis \(Self.supportedNemesis.map(\.rawValue).joined(separator: ",")); not \(unsupported.map(\.rawValue).joined(separator: ","))")
        }
        guard options.workload == .kv else { throw .invalid("--engine paxos runs the kv workload only, not \(options.workload.rawValue)") }
        self.options = options
        self.durationText = durationText
    }

    /// The acceptors' quorum and fault tolerance, for the operator (an even count is allowed).
    public var faultToleranceNote: String {
        PaxosConfig(id: 1, acceptors: (1...options.nodes).map { NodeID($0) }).faultToleranceDescription
    }

    /// Runs the whole simulation; the same options give the same run.
    public func run() -> (summary: ChaosSummary, history: [HistoryOperation], trace: SimulationTrace) {
        var world = PaxosChaosWorld(options: options, tickMillis: tickMillis, requestTimeoutMillis: requestTimeoutMillis)
        let durationMillis = max(1, options.durationNanos / 1_000_000)
        let faultsEndMillis = durationMillis * 8 / 10
        while world.nowMillis < durationMillis {
            world.step(faultsActive: world.nowMillis < faultsEndMillis)
            if world.nowMillis == faultsEndMillis { world.healEverything() }
        }
        world.finish()
        let check = LinearizabilityChecker().check(world.history)
        var summary = ChaosSummary(
            seed: options.seed, nodes: options.nodes, clients: options.clients, nemesis: options.nemesis.map(\.rawValue),
            virtualNanos: world.nowMillis * 1_000_000, check: check, invariantViolations: world.violations,
            replicasAgree: world.replicasAgree, durationText: durationText)
        summary.engine = "paxos"
        summary.operations = world.history.count
        summary.succeeded = world.history.filter { $0.returnTime != nil && $0.ok }.count
        summary.failed = world.history.filter { $0.returnTime != nil && !$0.ok }.count
        summary.unknown = world.history.filter { $0.returnTime == nil }.count
        summary.succeededAfterHeal = world.history.filter { ($0.returnTime ?? 0) > faultsEndMillis * 1_000_000 && $0.ok }.count
        summary.leaderChanges = world.leaderChanges
        summary.faults = world.faultCounts
        summary.events = world.events
        summary.traceHash = world.trace.hash
        return (summary, world.history, world.trace)
    }
}
