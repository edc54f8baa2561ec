import ConclaveCluster
import ConclaveCore

/// The simulator on the console's terms: virtual time run in slices or one event at a time,
/// paused or at a speed, and the operator's faults carried out on it. It knows nothing of the
/// workload or the snapshot: what the simulator outputs goes to the handler the caller passes.
///
/// `drive` and `step` do not mutate the driver, so a handler may read it while they run.
struct SimulationDriver {
    let simulator: Simulator
    var time = VirtualTime()
    /// What the last single step ran, for the status line.
    var lastStep: String?

    /// The longest stretch of virtual time run at once: periodic work (every 100 ms) keeps pace.
    static let sliceNanos: UInt64 = 100_000_000
    static let stepTraceLinesMax = 1_000
    static let stepEventsShownMax = 8

    init(nodes: Int, seed: UInt64) throws(SimulationError) {
        var config = SimulationConfig(nodes: nodes, seed: seed)
        config.snapshotEveryEntries = 2_000
        // Open-ended run: keep the monitor's and the deliveries' memory bounded.
        config.monitorWindowEntries = 20_000
        config.scheduler.deliveriesKept = 1_000
        simulator = try Simulator(config: config)
    }

    /// Runs to virtual time `deadline` in slices of at most `sliceNanos`, handing every output on.
    func drive(until deadline: UInt64, _ handle: (Simulator.Output) -> Void) {
        repeat {
            let slice = min(deadline, simulator.now + Self.sliceNanos)
            while let output = simulator.nextOutput(until: slice) { handle(output) }
        } while simulator.now < deadline
    }

    /// Runs exactly the next event time's events (one event, almost always) and says what they
    /// were ("1→3 append term 4 index 17; …"); nil when nothing is scheduled.
    func step(_ handle: (Simulator.Output) -> Void) -> String? {
        guard let time = simulator.nextEventTime else { return nil }
        let lines = simulator.traced(lines: Self.stepTraceLinesMax) {
            while let output = simulator.nextOutput(until: time) { handle(output) }
        }
        // Each trace line is "<time> <event>": keep the events.
        let text = lines.prefix(Self.stepEventsShownMax)
            .map { line in line.split(separator: " ", maxSplits: 1).dropFirst().joined() }
            .joined(separator: "; ")
        return text.isEmpty ? "(no event)" : text
    }

    /// The node whose state machine the console shows: the leader, else the most applied live node.
    var viewNode: NodeID? {
        if let leader = simulator.leader { return leader }
        return simulator.nodeIDs.filter { !simulator.isCrashed($0) }
            .max { simulator.coordination(of: $0).appliedIndex < simulator.coordination(of: $1).appliedIndex }
    }

    func resolve(_ reference: NodeRef) throws(ControlError) -> NodeID {
        switch reference {
        case .leader:
            guard let leader = simulator.leader else { throw ControlError("there is no leader now") }
            return leader
        case .id(let id):
            guard simulator.nodeIDs.contains(id) else {
                throw ControlError("no node \(id); nodes are \(simulator.nodeIDs.map(String.init).joined(separator: ", "))")
            }
            return id
        }
    }
}
