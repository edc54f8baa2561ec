import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// What the console measures of the embedded cluster as it runs: the event log, the leader
/// timeline, per-lock token timelines and rates, contention rates, and message rates per link and
/// in all. Rates are sampled every second of virtual time from counters (the simulator's
/// `linkArrivals` and `statistics`, the workload's lock and contention counts), never from text.
struct ClusterObservations {
    var events: [ClusterEvent] = []
    /// Events recorded so far: each one's sequence number.
    var eventsRecorded: UInt64 = 0
    var timeline: [LeaderSpan] = []
    var lockTimelines: [String: [UInt64]] = [:]
    var lockRates: [String: (acquires: Int, refusals: Int, perSecond: (Double, Double))] = [:]
    /// Every lock name seen, so a free lock keeps its row, statistics and timeline.
    var knownLocks: [String] = []
    var contentionMark = ContentionCounts()
    var contention = ContentionStats()
    var lastRateSampleNanos: UInt64 = 0
    var lastDelivered = 0
    var messagesPerSecond = 0.0
    /// The simulator's per-link arrival counters at the last sample, and the rates since, by
    /// `source << 32 | target`.
    var arrivalsMark: [UInt64: Int] = [:]
    var pairRates: [UInt64: Double] = [:]

    static let knownLocksMax = 10_000
    static let lockTimelineMax = 32
    static let sampleIntervalNanos: UInt64 = 1_000_000_000

    mutating func record(_ kind: ClusterEvent.Kind, _ text: String, atNanos now: UInt64) {
        eventsRecorded += 1
        events.append(ClusterEvent(nanos: now, kind: kind, text: text, sequence: eventsRecorded))
        if events.count > ClusterSnapshot.eventsMax { events.removeFirst(events.count - ClusterSnapshot.eventsMax) }
    }

    /// Whether a second of virtual time has passed since the last sample of rates.
    func isSampleDue(atNanos now: UInt64) -> Bool { now - lastRateSampleNanos >= Self.sampleIntervalNanos }

    /// Opens a new span of the leader timeline when the leader or its term changed.
    mutating func noteLeader(of simulator: Simulator) {
        let leader = simulator.leader
        let term = leader.map { simulator.term(of: $0) } ?? simulator.nodeIDs.map { simulator.term(of: $0) }.max() ?? 0
        if let last = timeline.last, last.leader == leader, last.leader == nil || last.term == term { return }
        timeline.append(LeaderSpan(startNanos: simulator.now, leader: leader, term: term))
        if timeline.count > ClusterSnapshot.timelineMax { timeline.removeFirst(timeline.count - ClusterSnapshot.timelineMax) }
        record(.election, leader.map { "node \($0) leads term \(term)" } ?? "no leader (term \(term))", atNanos: simulator.now)
    }

    /// Every service tick: new lock names and holders' tokens from `machine`; once a second, lock
    /// and contention rates from the workload's counters.
    mutating func sampleLocks(of machine: CoordinationStateMachine, workload: DemoWorkload, atNanos now: UInt64) {
        for name in machine.locks.locks.keys.sorted() {
            let lock = machine.locks.locks[name]!
            if !knownLocks.contains(name) && knownLocks.count < Self.knownLocksMax {
                knownLocks.append(name)
                knownLocks.sort()
            }
            if let token = lock.holders.map(\.token).max(), lockTimelines[name]?.last != token {
                lockTimelines[name, default: []].append(token)
                if lockTimelines[name]!.count > Self.lockTimelineMax { lockTimelines[name]!.removeFirst() }
            }
        }
        guard isSampleDue(atNanos: now) else { return }
        let seconds = Double(now - lastRateSampleNanos) / 1e9
        for name in knownLocks {
            let counts = workload.lockCounts[name] ?? (0, 0)
            let previous = lockRates[name] ?? (counts.acquires, counts.refusals, (0, 0))
            lockRates[name] = (counts.acquires, counts.refusals,
                               (Double(counts.acquires - previous.acquires) / seconds, Double(counts.refusals - previous.refusals) / seconds))
        }
        contention = workload.contentionCounts.rates(since: contentionMark, seconds: seconds)
        contentionMark = workload.contentionCounts
    }

    /// Once a second: messages per second in all and per link, from the simulator's counters.
    mutating func sampleMessageRates(of simulator: Simulator) {
        let now = simulator.now
        guard isSampleDue(atNanos: now) else { return }
        let delivered = simulator.statistics.messagesDelivered
        messagesPerSecond = Double(delivered - lastDelivered) * 1e9 / Double(now - lastRateSampleNanos)
        lastDelivered = delivered
        let seconds = Double(now - lastRateSampleNanos) / 1e9
        let arrivals = simulator.linkArrivals
        pairRates = arrivals.mapValues { Double($0) / seconds }
        for (link, count) in arrivalsMark { pairRates[link, default: 0] -= Double(count) / seconds }
        arrivalsMark = arrivals
        lastRateSampleNanos = now
    }
}
