import ConclaveCluster
import ConclaveCore

/// A simulated cluster with a live workload, driven by virtual time: the embedded console's model.
///
/// A façade over four pieces that do not know each other: the `SimulationDriver` (the simulator,
/// virtual time, faults), the `DemoWorkload` (clients and their counters), the `ServiceModels`
/// (limiters, breakers, balancers, timer queues fed by the workload) and the
/// `ClusterObservations` (event log, timelines, rates). It routes the simulator's outputs to them
/// and `EmbeddedSnapshotBuilder` reads them into a `ClusterSnapshot`.
///
/// Deterministic: the same seed and the same calls (`advance`, `step`, `apply`) give the same
/// snapshots, which is what golden-frame tests rely on. It never reads a clock or sleeps; the live
/// console calls `advance` from its own thread against wall time × speed.
public final class EmbeddedCluster: EmbeddedEngine {
    var driver: SimulationDriver
    var workload: DemoWorkload
    var services: ServiceModels
    var observed = ClusterObservations()
    let seed: UInt64

    public var simulator: Simulator { driver.simulator }
    /// The knobs of the demo workload (the palette sets them).
    public var knobs: WorkloadKnobs { workload.knobs }
    public var speed: Double { driver.time.speed }
    public var isPaused: Bool { driver.time.isPaused }
    public var lastStep: String? { driver.lastStep }
    public var nowNanos: UInt64 { simulator.now }

    public init(seed: UInt64, nodes: Int = 5, knobs: WorkloadKnobs = WorkloadKnobs()) throws(SimulationError) {
        driver = try SimulationDriver(nodes: nodes, seed: seed)
        self.seed = seed
        workload = DemoWorkload(simulator: driver.simulator, knobs: knobs, random: SeededGenerator(seed: seed, stream: 0xC0_50_1E))
        services = ServiceModels(nodes: nodes, seed: seed)
        driver.simulator.schedule(timer: EmbeddedTimer.service.token, at: EmbeddedTimer.serviceIntervalNanos)
        record(.info, "embedded cluster of \(nodes) nodes, seed \(seed)")
    }

    /// Runs the cluster up to virtual time `deadline` (does nothing while paused).
    public func advance(until deadline: UInt64) {
        guard !isPaused else { return }
        driver.drive(until: deadline, handle)
    }

    /// Runs exactly the next event time's events (one event, almost always) and says what it was.
    /// Works paused or not; the console pauses first so the step can be read.
    @discardableResult
    public func step() -> String {
        guard let shown = driver.step(handle) else { return "nothing scheduled" }
        driver.lastStep = shown
        record(.step, "step: " + shown)
        return shown
    }

    /// The whole console model as a value. O(nodes² + locks + keys); called once per frame at most.
    public func snapshot() -> ClusterSnapshot {
        EmbeddedSnapshotBuilder(seed: seed, driver: driver, workload: workload, services: services, observed: observed).snapshot()
    }

    private func handle(_ output: Simulator.Output) {
        switch output {
        case .timer(let token):
            switch EmbeddedTimer(token: token) {
            case .client(let slot, let generation)?:
                guard workload.isCurrent(slot: slot, generation: generation) else { return }
                workload.clientTimerFired(slot, services: &services)
            case .service?:
                serviceTick()
                simulator.schedule(timer: EmbeddedTimer.service.token, at: simulator.now + EmbeddedTimer.serviceIntervalNanos)
            case nil:
                return
            }
        case .coordinationReply(let node, let client, let sequence, let result):
            workload.replied(node: node, session: client, sequence: sequence, result: result, services: &services)
        case .lockEvent(_, let event):
            workload.lockEvent(event)
        case .reply:
            return
        }
        recordWorkloadLog()
    }

    /// Every 100 ms of virtual time: the service models run, the leader timeline and rates update.
    private func serviceTick() {
        let live = simulator.nodeIDs.filter { simulator.isUp($0) }
        services.tick(nowNanos: simulator.now, simulator: simulator, liveNodes: live)
        recordServicesLog()
        observed.noteLeader(of: simulator)
        if let node = driver.viewNode {
            observed.sampleLocks(of: simulator.coordination(of: node), workload: workload, atNanos: simulator.now)
        }
        workload.taskTick(services: &services)
        workload.keepConsoleSessionsAlive()
        observed.sampleMessageRates(of: simulator)
    }

    func record(_ kind: ClusterEvent.Kind, _ text: String) {
        observed.record(kind, text, atNanos: simulator.now)
    }

    /// The workload's lines, as soon as it wrote them (virtual time has not moved since).
    private func recordWorkloadLog() {
        for (kind, text) in workload.log { record(kind, text) }
        workload.log.removeAll()
    }

    /// The service models' lines (breaker transitions, ID rollbacks), drained every service tick
    /// and after an operator's breaker action.
    func recordServicesLog() {
        for (kind, text) in services.log { record(kind, text) }
        services.log.removeAll()
    }
}

/// The embedded cluster's timers on the simulator, told apart by the token's top two bits: a
/// workload client's (its slot and timer generation below) or the 100 ms service tick.
enum EmbeddedTimer: Equatable {
    case client(slot: Int, generation: UInt64)
    case service

    static let serviceIntervalNanos: UInt64 = 100_000_000
    private static let clientTag: UInt64 = 1 << 62
    private static let serviceTag: UInt64 = 2 << 62
    private static let tagMask: UInt64 = 3 << 62

    init?(token: UInt64) {
        switch token & Self.tagMask {
        case Self.clientTag: self = .client(slot: Int((token >> 32) & 0xFFFF), generation: token & 0xFFFF_FFFF)
        case Self.serviceTag: self = .service
        default: return nil
        }
    }

    var token: UInt64 {
        switch self {
        case .client(let slot, let generation): return Self.clientTag | UInt64(slot) << 32 | generation
        case .service: return Self.serviceTag
        }
    }
}
