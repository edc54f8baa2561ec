import ConclaveCore
import ConclaveCoordination

/// Runs clients against a simulated cluster while a nemesis injects faults, records the history,
/// then heals everything, reads every key back, and checks: linearizability of the history,
/// Raft's invariants throughout, replicas converged, and progress after healing.
///
/// Phases: [0, healAt) clients + nemesis; [healAt, duration) clients on a healed cluster;
/// then in-flight operations finish (or time out), a final client reads every key, and the
/// replicas are compared.
public final class ChaosRunner {
    public let options: ChaosOptions
    public let simulator: Simulator
    public internal(set) var history: [HistoryOperation] = []
    var clients: [ChaosClient] = []
    var random: SeededGenerator
    var nextHistoryNumber: Int
    var keyEpochs: [Int]
    var keyOperations: [Int]
    var lastSeenValue: [String: String] = [:]
    var pendingUndo: [UInt64: NemesisUndo] = [:]
    var nextUndoID: UInt64 = 0
    var faultCounts: [String: Int] = [:]
    var healed = false
    var stopping = false
    var succeededAfterHeal = 0
    var issuedIDs: [IssuedID] = []
    var idViolations: [String] = []
    var idsAfterHeal = 0
    var nextLeaseEpoch = 0
    var feeder = TaskFeeder()
    /// Breakers and retry orders of the clients' calls to nodes (ChaosRunner+Routing).
    var router: NodeRouter
    let healAt: UInt64

    static let clientTimerTag: UInt64 = 1 << 62
    static let nemesisTimerTag: UInt64 = 2 << 62
    static let undoTimerTag: UInt64 = 3 << 62
    static let tagMask: UInt64 = 3 << 62

    public init(options: ChaosOptions, durationText: String = "") throws(ChaosError) {
        try options.validate()
        self.options = options
        var config = SimulationConfig(nodes: options.nodes, seed: options.seed)
        config.recordApplied = false
        config.snapshotEveryEntries = options.snapshotEveryEntries
        config.compactionKeepEntries = min(config.compactionKeepEntries, options.snapshotEveryEntries / 2)
        config.snapshotChunkBytes = options.snapshotChunkBytes
        config.traceLinesMax = options.traceLinesMax
        config.leaseReads = options.leaseReads
        config.clockDriftTicksMax = Self.skewDriftTicks(electionTimeoutTicks: config.electionTimeoutTicks)
        do {
            simulator = try Simulator(config: config)
        } catch {
            throw .invalid(error.description)
        }
        random = SeededGenerator(seed: options.seed, stream: 0xC4A05)
        do {
            router = try NodeRouter(nodes: simulator.nodeIDs, configuration: Self.routerConfiguration(options),
                                    random: SeededGenerator(seed: options.seed, stream: 0x20073), nowNanos: 0)
        } catch {
            throw .invalid(error.description)
        }
        nextHistoryNumber = options.clients
        keyEpochs = Array(repeating: 0, count: options.keysLive)
        keyOperations = Array(repeating: 0, count: options.keysLive)
        // The last quarter of the run (at least 2 s) has no faults: liveness is checked there.
        healAt = options.durationNanos - max(options.durationNanos / 4, min(2_000_000_000, options.durationNanos / 2))
        self.durationText = durationText.isEmpty ? "\(options.durationNanos / 1_000_000)ms" : durationText
        for slot in 0..<options.clients {
            let node = NodeID(1 + random.next() % UInt64(options.nodes))
            var client = ChaosClient(slot: slot, historyNumber: slot, preferredNode: node)
            client.isLockClient = options.workload == .locks || options.workload == .ids || (options.workload == .mixed && slot % 2 == 1)
            client.isIDClient = options.workload == .ids
            client.hostNode = NodeID(slot % options.nodes + 1)
            clients.append(client)
        }
    }

    let durationText: String

    /// Runs the whole scenario and returns its summary (the history is in `history`).
    public func run() -> ChaosSummary {
        start()
        advance(until: options.durationNanos)
        stopping = true
        advance(until: options.durationNanos + options.operationTimeoutNanos + options.attemptTimeoutNanos + 100_000_000)
        abandonInFlight()
        finalReads()
        simulator.run(for: 2_000_000_000)
        return summarize()
    }

    /// Starts the clients and the nemesis (for callers that drive the run themselves).
    public func start() {
        for slot in clients.indices { scheduleClient(slot, after: random.next() % 50_000_000) }
        startTaskFeeder()
        if !options.nemesis.isEmpty {
            simulator.schedule(timer: Self.nemesisTimerTag, at: nextNemesisTime())
        }
    }

    /// Runs the simulation up to `deadline` (virtual ns), healing everything when it passes the
    /// start of the fault-free phase.
    public func advance(until deadline: UInt64) {
        if !healed && deadline >= healAt {
            drive(until: healAt)
            simulator.healAll()
            healed = true
            pendingUndo.removeAll()
        }
        drive(until: deadline)
    }

    /// Outcomes of the operations finished so far (kept even when the history is not).
    public struct Tally: Sendable {
        public var succeeded = 0
        public var failed = 0
        public var unknown = 0
    }

    public internal(set) var tally = Tally()

    /// Faults injected so far, by kind.
    public var faultsInjected: [String: Int] { faultCounts }

    private func drive(until deadline: UInt64) {
        while let output = simulator.nextOutput(until: deadline) {
            switch output {
            case .reply(let node, let applied):
                handleReply(from: node, applied)
            case .coordinationReply(let node, let client, let sequence, let result):
                if handleTaskReply(client: client, sequence: sequence, result: result) { continue }
                handleCoordinationReply(from: node, client: client, sequence: sequence, result: result)
            case .lockEvent:
                break  // lock clients already treat their lease conservatively (see ChaosRunner+Locks)
            case .timer(let token):
                handleTimer(token)
            }
        }
    }

    private func handleTimer(_ token: UInt64) {
        switch token & Self.tagMask {
        case Self.clientTimerTag:
            let slot = Int((token >> 32) & 0xFFFF)
            guard clients[slot].timerGeneration == token & 0xFFFF_FFFF else { return }
            clientTimerFired(slot)
        case Self.nemesisTimerTag:
            guard !healed else { return }
            nemesisAct()
            simulator.schedule(timer: Self.nemesisTimerTag, at: nextNemesisTime())
        case Self.undoTimerTag:
            guard !healed, let undo = pendingUndo.removeValue(forKey: token & ~Self.tagMask) else { return }
            switch undo {
            case .fault(let fault): try? simulator.inject(fault)
            case .heal: try? simulator.inject(.heal)
            }
        default:
            if token == TaskFeeder.timerToken { taskFeederFired() }
        }
    }

    private func nextNemesisTime() -> UInt64 {
        simulator.now + options.nemesisIntervalNanos / 2 + random.next() % max(1, options.nemesisIntervalNanos)
    }

    func scheduleClient(_ slot: Int, after nanos: UInt64) {
        clients[slot].timerGeneration = (clients[slot].timerGeneration + 1) & 0xFFFF_FFFF
        let token = Self.clientTimerTag | UInt64(slot) << 32 | clients[slot].timerGeneration
        simulator.schedule(timer: token, at: simulator.now + nanos)
    }
}
