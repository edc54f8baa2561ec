/// How a worker pool runs: fixed workers, a bounded queue, a timeout per task and what a full queue does
/// to a submitter. One type for both pools — `VirtualWorkerPool` (pure, virtual time) and the threaded
/// `WorkerPool` in ConclaveCluster — so a configuration tried in simulation runs unchanged for real.
///
/// Every field is validated here, at construction, and cannot change afterwards: a pool never sees a
/// configuration that would divide by zero, never start a task, or allocate without bound.
public struct WorkerPoolConfiguration: Sendable, Equatable {
    /// Tasks run at once.
    public let workers: Int
    /// Tasks waiting for a worker. Past this the pool pushes back (`whenFull`).
    public let queueCapacity: Int
    /// A task not finished this long after it started is reported timed out and asked to stop.
    public let taskTimeoutNanos: UInt64
    public let whenFull: WorkerPoolBackPressure

    public static let workersMax = 1_024
    public static let queueCapacityMax = 1 << 20

    /// - Throws: `ResilienceConfigurationError` naming the first field outside its range: `workers`
    ///   1…1024, `queueCapacity` 1…2²⁰, `taskTimeoutNanos` at least 1, a `wait` of at least 1 ns.
    public init(
        workers: Int, queueCapacity: Int, taskTimeoutNanos: UInt64, whenFull: WorkerPoolBackPressure = .reject
    ) throws(ResilienceConfigurationError) {
        try Require.positive(workers, "workers", maximum: Self.workersMax)
        try Require.positive(queueCapacity, "queueCapacity", maximum: Self.queueCapacityMax)
        try Require.positive(taskTimeoutNanos, "taskTimeoutNanos")
        if case .wait(let maxNanos) = whenFull { try Require.positive(maxNanos, "whenFull.wait.maxNanos") }
        self.workers = workers
        self.queueCapacity = queueCapacity
        self.taskTimeoutNanos = taskTimeoutNanos
        self.whenFull = whenFull
    }
}

/// What a submitter meets when the queue is full.
public enum WorkerPoolBackPressure: Sendable, Equatable {
    /// Refused at once (`WorkerPoolRefusal.queueFull`): the caller sheds or retries.
    case reject
    /// The submitter waits up to `maxNanos` for room, then is refused (`waitedTooLong`). At most
    /// `queueCapacity` submitters wait at once; more are refused at once.
    case wait(maxNanos: UInt64)
}

/// The pool's number for a task it accepted, in submission order from 1.
public typealias WorkerTaskID = UInt64

/// How a task ended. Every task a pool accepts ends in exactly one of these, reported once.
public enum WorkerTaskOutcome: Sendable, Equatable {
    case completed
    /// The task reported an error; its description is kept (never swallowed).
    case failed(String)
    /// Still running `taskTimeoutNanos` after it started; it was asked to stop.
    case timedOut
    /// Cancelled by `cancel` or by a cancelling shutdown, queued or running.
    case cancelled
    /// Never ran: a waiting submitter's wait ended without room, or the pool shut down meanwhile.
    case refused(WorkerPoolRefusal)
}

/// Why a pool did not take a task.
public enum WorkerPoolRefusal: Sendable, Equatable, CustomStringConvertible {
    case queueFull(capacity: Int)
    case waitedTooLong(waitedNanos: UInt64)
    case shuttingDown

    public var description: String {
        switch self {
        case .queueFull(let capacity): return "queue full (\(capacity) tasks waiting)"
        case .waitedTooLong(let waited): return "no room in the queue within \(waited) ns"
        case .shuttingDown: return "the pool is shutting down"
        }
    }
}

/// The report of one task: reported exactly once for every accepted task.
public struct WorkerTaskResult: Sendable, Equatable {
    public var id: WorkerTaskID
    /// The caller's own label for the task, echoed back (a timer ID, a request number).
    public var tag: UInt64
    public var outcome: WorkerTaskOutcome
    public var submittedAtNanos: UInt64
    /// `nil` when the task never started (cancelled or refused while waiting).
    public var startedAtNanos: UInt64?
    /// When the outcome was decided (for a timeout: the deadline, not when the task gave up).
    public var finishedAtNanos: UInt64

    public init(id: WorkerTaskID, tag: UInt64, outcome: WorkerTaskOutcome, submittedAtNanos: UInt64,
                startedAtNanos: UInt64?, finishedAtNanos: UInt64) {
        self.id = id
        self.tag = tag
        self.outcome = outcome
        self.submittedAtNanos = submittedAtNanos
        self.startedAtNanos = startedAtNanos
        self.finishedAtNanos = finishedAtNanos
    }
}

/// How to shut a pool down.
public enum WorkerPoolShutdown: Sendable, Equatable {
    /// Accept nothing new; run what is queued; end when the queue is empty and the workers idle.
    case drain
    /// Accept nothing new; cancel what is queued and what is running.
    case cancel
}

/// What the console shows of a pool, either kind.
public struct WorkerPoolSnapshot: Sendable, Equatable {
    public var workers: Int
    /// Workers occupied, including those still held by a task that timed out or was cancelled but has
    /// not stopped yet (`zombieWorkers`).
    public var busyWorkers = 0
    public var zombieWorkers = 0
    public var queueDepth = 0
    public var queueCapacity: Int
    /// Submitters blocked on a full queue (`.wait` back-pressure).
    public var waitingSubmitters = 0
    public var isShutDown = false
    /// Shut down, queue empty, every worker idle.
    public var isTerminated = false
    public var totals = WorkerPoolTotals()

    public init(workers: Int, queueCapacity: Int) {
        self.workers = workers
        self.queueCapacity = queueCapacity
    }
}

/// Counts over a pool's life. `accepted` = `completed + failed + timedOut + cancelled + refusedLater`
/// + tasks not yet ended.
public struct WorkerPoolTotals: Sendable, Equatable {
    public var accepted: UInt64 = 0
    /// Refused at submission (full queue with `.reject`, too many waiting submitters, shut down).
    public var refusedAtSubmit: UInt64 = 0
    /// Accepted as a waiting submitter, then refused (wait ran out, or shutdown).
    public var refusedLater: UInt64 = 0
    public var started: UInt64 = 0
    public var completed: UInt64 = 0
    public var failed: UInt64 = 0
    public var timedOut: UInt64 = 0
    public var cancelled: UInt64 = 0

    public init() {}

    /// Counts one reported outcome.
    public mutating func count(_ outcome: WorkerTaskOutcome) {
        switch outcome {
        case .completed: completed &+= 1
        case .failed: failed &+= 1
        case .timedOut: timedOut &+= 1
        case .cancelled: cancelled &+= 1
        case .refused: refusedLater &+= 1
        }
    }
}
