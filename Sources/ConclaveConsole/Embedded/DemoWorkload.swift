import ConclaveCore

/// The embedded cluster's demo workload, as state: lock clients and config writers with their
/// sessions, the console's own lock clients (the palette's `lock …` commands), and what they
/// counted. Driven by `EmbeddedCluster+Workload` on the simulator's timers; deterministic from its
/// generator.
struct DemoWorkload {
    var knobs: WorkloadKnobs
    var random: SeededGenerator
    var clients: [WorkloadClient] = []
    var consoleSessions: [Int: UInt64] = [:]
    var consoleSequence: UInt64 = 0
    var taskSequence: UInt64 = 0
    var nextTaskName: UInt64 = 0
    /// The lock each console client last asked for, and the tokens it was granted (for fenced writes).
    var consoleAsked: [Int: String] = [:]
    var consoleTokens: [String: UInt64] = [:]
    /// Grants and refusals the workload saw per lock (the table forgets a lock once it is free).
    var lockCounts: [String: (acquires: Int, refusals: Int)] = [:]
    /// Attempts and grants of fair (queued) and spinning (try-lock) clients, since the start.
    var contentionCounts = (fairAttempts: 0, fairGrants: 0, spinAttempts: 0, spinGrants: 0)

    init(knobs: WorkloadKnobs, random: SeededGenerator) {
        self.knobs = knobs
        self.random = random
    }
}

/// What the console measures of the embedded cluster as it runs, sampled every second of virtual
/// time: the event log, the leader timeline, per-lock token timelines and rates, contention rates,
/// and message rates per link and in all.
struct ClusterObservations {
    var events: [ClusterEvent] = []
    /// Events recorded so far: each one's sequence number.
    var eventsRecorded: UInt64 = 0
    var timeline: [LeaderSpan] = []
    var lockTimelines: [String: [UInt64]] = [:]
    var lockRates: [String: (acquires: Int, refusals: Int, perSecond: (Double, Double))] = [:]
    /// Every lock name seen, so a free lock keeps its row, statistics and timeline.
    var knownLocks: [String] = []
    var contentionMark = (fairAttempts: 0, fairGrants: 0, spinAttempts: 0, spinGrants: 0)
    var contention = ContentionStats()
    var lastRateSampleNanos: UInt64 = 0
    var lastDelivered = 0
    var messagesPerSecond = 0.0
    /// The simulator's per-link arrival counters at the last sample, and the rates since, by
    /// `source << 32 | target`.
    var arrivalsMark: [UInt64: Int] = [:]
    var pairRates: [UInt64: Double] = [:]
}
