import Histogram

/// What one worker (a thread, or a task for the async lock) did in a run.
public struct LabWorkerRecord: Equatable, Sendable {
    public var operations = 0
    public var failedAttempts = 0
    /// The worker thread's CPU time over the run; 0 for tasks, whose CPU is counted for the run as a whole.
    public var cpuNanos: UInt64 = 0
    /// The longest stretch between two of its acquisitions (the run's start and end count as ends).
    public var longestGapNanos: UInt64 = 0

    public init(operations: Int = 0, failedAttempts: Int = 0, cpuNanos: UInt64 = 0, longestGapNanos: UInt64 = 0) {
        self.operations = operations
        self.failedAttempts = failedAttempts
        self.cpuNanos = cpuNanos
        self.longestGapNanos = longestGapNanos
    }
}

/// The measurements of one run and the figures the lab reports from them.
public struct LabResult: Sendable {
    public let configuration: LabConfiguration
    /// From the moment the workers were let go until the last one finished.
    public let elapsedNanos: UInt64
    public let workers: [LabWorkerRecord]
    /// Acquire latency, nanoseconds: from wanting the lock to holding it.
    public let latency: Histogram<UInt64>
    /// CPU used by all workers over the run.
    public let cpuNanos: UInt64
    /// The shared counter's final value; each operation incremented it once.
    public let counter: Int

    public var operations: Int { workers.reduce(0) { $0 + $1.operations } }
    public var operationsPerSecond: Double { elapsedNanos == 0 ? 0 : Double(operations) / (Double(elapsedNanos) / 1e9) }
    /// Increments the counter does not show: a lock that failed to exclude (or no lock).
    public var lostUpdates: Int { operations - counter }
    public var failedAttemptsPerSuccess: Double {
        operations == 0 ? 0 : Double(workers.reduce(0) { $0 + $1.failedAttempts }) / Double(operations)
    }
    /// The work the operations asked for: each one's critical section and think time.
    public var usefulNanos: UInt64 { UInt64(operations) * (configuration.criticalNanos + configuration.thinkNanos) }
    public var wastedShare: Double { LabMetrics.wastedShare(cpuNanos: cpuNanos, usefulNanos: usefulNanos) }
    public var fairness: Double { LabMetrics.jainIndex(workers.map { Double($0.operations) }) }
    public var longestStarvationNanos: UInt64 { workers.map(\.longestGapNanos).max() ?? 0 }

    public init(configuration: LabConfiguration, elapsedNanos: UInt64, workers: [LabWorkerRecord],
                latency: Histogram<UInt64>, cpuNanos: UInt64, counter: Int) {
        self.configuration = configuration
        self.elapsedNanos = elapsedNanos
        self.workers = workers
        self.latency = latency
        self.cpuNanos = cpuNanos
        self.counter = counter
    }
}
