import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft

/// A simulated cluster with a live workload, driven by virtual time: the embedded console's model.
///
/// Deterministic: the same seed and the same calls (`advance`, `step`, `apply`) give the same
/// snapshots, which is what golden-frame tests rely on. It never reads a clock or sleeps; the live
/// console calls `advance` from its own thread against wall time × speed.
public final class EmbeddedCluster {
    public let simulator: Simulator
    /// The knobs of the demo workload (the palette sets them).
    public var knobs: WorkloadKnobs { workload.knobs }
    public internal(set) var speed = 1.0
    public internal(set) var isPaused = false
    public internal(set) var lastStep: String?
    /// The demo workload: its clients, the console's own lock clients, their counters.
    var workload: DemoWorkload
    var services: ServiceModels
    /// What the console measures of the running cluster (rates, timelines, the event log).
    var observed = ClusterObservations()
    static let knownLocksMax = 10_000
    static let stepTraceLinesMax = 1_000
    let seed: UInt64

    static let clientTimerTag: UInt64 = 1 << 62
    static let serviceTimerTag: UInt64 = 2 << 62
    static let tagMask: UInt64 = 3 << 62
    static let serviceIntervalNanos: UInt64 = 100_000_000
    static let lockTimelineMax = 32

    public init(seed: UInt64, nodes: Int = 5, knobs: WorkloadKnobs = WorkloadKnobs()) throws(SimulationError) {
        var config = SimulationConfig(nodes: nodes, seed: seed)
        config.snapshotEveryEntries = 2_000
        // Open-ended run: keep the monitor's and the deliveries' memory bounded.
        config.monitorWindowEntries = 20_000
        config.scheduler.deliveriesKept = 1_000
        simulator = try Simulator(config: config)
        self.seed = seed
        workload = DemoWorkload(knobs: knobs, random: SeededGenerator(seed: seed, stream: 0xC0_50_1E))
        services = ServiceModels(nodes: nodes, seed: seed)
        resizeWorkload()
        simulator.schedule(timer: Self.serviceTimerTag, at: Self.serviceIntervalNanos)
        record(.info, "embedded cluster of \(nodes) nodes, seed \(seed)")
    }

    public var nowNanos: UInt64 { simulator.now }

    /// Runs the cluster up to virtual time `deadline` (does nothing while paused).
    public func advance(until deadline: UInt64) {
        guard !isPaused else { return }
        drive(until: deadline)
    }

    /// Runs exactly the next event time's events (one event, almost always) and says what it was.
    /// Works paused or not; the console pauses first so the step can be read.
    @discardableResult
    public func step() -> String {
        guard let time = simulator.nextEventTime else { return "nothing scheduled" }
        let lines = simulator.traced(lines: Self.stepTraceLinesMax) { driveOutputs(until: time) }
        let text = lines.prefix(8).map { line in line.split(separator: " ", maxSplits: 1).dropFirst().joined() }.joined(separator: "; ")
        let shown = text.isEmpty ? "(no event)" : text
        lastStep = shown
        record(.step, "step: " + shown)
        return shown
    }

    /// Runs to `deadline` in slices of at most 100 ms of virtual time.
    func drive(until deadline: UInt64) {
        repeat {
            driveOutputs(until: min(deadline, simulator.now + Self.serviceIntervalNanos))
        } while simulator.now < deadline
    }

    func driveOutputs(until deadline: UInt64) {
        while let output = simulator.nextOutput(until: deadline) {
            switch output {
            case .timer(let token): timerFired(token)
            case .coordinationReply(let node, let client, let sequence, let result):
                coordinationReplied(node: node, session: client, sequence: sequence, result: result)
            case .lockEvent(_, let event): lockEvent(event)
            case .reply: break
            }
        }
    }

    private func timerFired(_ token: UInt64) {
        switch token & Self.tagMask {
        case Self.clientTimerTag:
            let slot = Int((token >> 32) & 0xFFFF)
            guard slot < workload.clients.count, workload.clients[slot].timerGeneration == token & 0xFFFF_FFFF else { return }
            clientTimerFired(slot)
        case Self.serviceTimerTag:
            serviceTick()
            simulator.schedule(timer: Self.serviceTimerTag, at: simulator.now + Self.serviceIntervalNanos)
        default:
            break
        }
    }

    /// Every 100 ms of virtual time: the service models run, the leader timeline and rates update.
    private func serviceTick() {
        let now = simulator.now
        let live = simulator.nodeIDs.filter { simulator.isUp($0) }
        services.tick(nowNanos: now, simulator: simulator, liveNodes: live)
        for (kind, text) in services.log { record(kind, text) }
        services.log.removeAll()
        noteLeader()
        sampleLocks()
        taskTick()
        keepConsoleSessionsAlive()
        if now - observed.lastRateSampleNanos >= 1_000_000_000 {
            let delivered = simulator.statistics.messagesDelivered
            observed.messagesPerSecond = Double(delivered - observed.lastDelivered) * 1e9 / Double(now - observed.lastRateSampleNanos)
            observed.lastDelivered = delivered
            let seconds = Double(now - observed.lastRateSampleNanos) / 1e9
            let arrivals = simulator.linkArrivals
            observed.pairRates = arrivals.mapValues { Double($0) / seconds }
            for (link, count) in observed.arrivalsMark { observed.pairRates[link, default: 0] -= Double(count) / seconds }
            observed.arrivalsMark = arrivals
            observed.lastRateSampleNanos = now
        }
    }

    func noteLeader() {
        let leader = simulator.leader
        let term = leader.map { simulator.term(of: $0) } ?? simulator.nodeIDs.map { simulator.term(of: $0) }.max() ?? 0
        if let last = observed.timeline.last, last.leader == leader, last.leader == nil || last.term == term { return }
        observed.timeline.append(LeaderSpan(startNanos: simulator.now, leader: leader, term: term))
        if observed.timeline.count > ClusterSnapshot.timelineMax { observed.timeline.removeFirst(observed.timeline.count - ClusterSnapshot.timelineMax) }
        record(.election, leader.map { "node \($0) leads term \(term)" } ?? "no leader (term \(term))")
    }

    func record(_ kind: ClusterEvent.Kind, _ text: String) {
        observed.eventsRecorded += 1
        observed.events.append(ClusterEvent(nanos: simulator.now, kind: kind, text: text, sequence: observed.eventsRecorded))
        if observed.events.count > ClusterSnapshot.eventsMax { observed.events.removeFirst(observed.events.count - ClusterSnapshot.eventsMax) }
    }

    /// The node whose state machine the console shows: the leader, else the most applied live node.
    var viewNode: NodeID? {
        if let leader = simulator.leader { return leader }
        return simulator.nodeIDs.filter { !simulator.isCrashed($0) }
            .max { simulator.coordination(of: $0).appliedIndex < simulator.coordination(of: $1).appliedIndex }
    }

    private func sampleLocks() {
        guard let node = viewNode else { return }
        let machine = simulator.coordination(of: node)
        let now = simulator.now
        let sampleDue = now - observed.lastRateSampleNanos >= 1_000_000_000
        for name in machine.locks.locks.keys.sorted() {
            let lock = machine.locks.locks[name]!
            if !observed.knownLocks.contains(name) && observed.knownLocks.count < Self.knownLocksMax {
                observed.knownLocks.append(name)
                observed.knownLocks.sort()
            }
            if let token = lock.holders.map(\.token).max(), observed.lockTimelines[name]?.last != token {
                observed.lockTimelines[name, default: []].append(token)
                if observed.lockTimelines[name]!.count > Self.lockTimelineMax { observed.lockTimelines[name]!.removeFirst() }
            }
        }
        guard sampleDue else { return }
        let seconds = Double(now - observed.lastRateSampleNanos) / 1e9
        for name in observed.knownLocks {
            let counts = workload.lockCounts[name] ?? (0, 0)
            let previous = observed.lockRates[name] ?? (counts.acquires, counts.refusals, (0, 0))
            observed.lockRates[name] = (counts.acquires, counts.refusals,
                               (Double(counts.acquires - previous.acquires) / seconds, Double(counts.refusals - previous.refusals) / seconds))
        }
        let counts = workload.contentionCounts
        observed.contention = ContentionStats()
        observed.contention.fairAttempts = Double(counts.fairAttempts - observed.contentionMark.fairAttempts) / seconds
        observed.contention.fairGrants = Double(counts.fairGrants - observed.contentionMark.fairGrants) / seconds
        observed.contention.spinAttempts = Double(counts.spinAttempts - observed.contentionMark.spinAttempts) / seconds
        observed.contention.spinGrants = Double(counts.spinGrants - observed.contentionMark.spinGrants) / seconds
        observed.contentionMark = counts
    }
}
