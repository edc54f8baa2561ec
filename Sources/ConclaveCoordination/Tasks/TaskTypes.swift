import ConclaveCore

/// When a delay task fires, in cluster time (see `SessionTable` for what cluster time is).
public enum TaskTiming: Equatable, Sendable {
    /// `millis` after the cluster time the schedule request is applied at.
    case after(millis: UInt64)
    /// At cluster time `millis`; a time already past fires at once (at the owner's next look).
    case at(millis: UInt64)
    /// Recurring, by a five-field cron expression read in a time zone.
    case cron(CronTiming)
}

/// A cron schedule as the log carries it. The state machine cannot resolve time zones (that needs
/// zone data, which replicas might not share), so the node that proposes a schedule or a claim
/// computes the next firing time and the log carries the result — as cluster time carries the
/// leader's clock. `wallOffsetMillis` ties cluster time to the wall clock of the node that took the
/// schedule request: wall = cluster + offset.
public struct CronTiming: Equatable, Sendable {
    public var expression: String
    public var zone: String
    public var wallOffsetMillis: Int64
    /// The first firing, in cluster time; 0 until the proposing node fills it in.
    public var firstFireMillis: UInt64

    public init(expression: String, zone: String, wallOffsetMillis: Int64 = 0, firstFireMillis: UInt64 = 0) {
        self.expression = expression
        self.zone = zone
        self.wallOffsetMillis = wallOffsetMillis
        self.firstFireMillis = firstFireMillis
    }
}

/// Where a firing goes.
public enum TaskTarget: Equatable, Sendable {
    /// Appended to a durable in-cluster queue that consumers pull and acknowledge.
    case queue(String)
    /// A named callback run by the owning node on its bounded worker pool, with the task's timeout.
    case callback(String)

    public var name: String {
        switch self {
        case .queue(let name), .callback(let name): return name
        }
    }
}

/// How often a failed callback is tried again before the firing counts as failed.
public struct RetryPolicy: Equatable, Sendable {
    /// Tries in all, the first included: 1…`TaskLimits.attemptsMax`.
    public var attemptsMax: Int
    /// Wait between tries.
    public var backoffMillis: UInt64

    public init(attemptsMax: Int = 3, backoffMillis: UInt64 = 100) {
        self.attemptsMax = attemptsMax
        self.backoffMillis = backoffMillis
    }
}

/// What a client asks to schedule.
public struct TaskSpec: Equatable, Sendable {
    public var name: String
    public var timing: TaskTiming
    public var payload: String
    public var target: TaskTarget
    /// How long one callback try may run before it counts as failed.
    public var timeoutMillis: UInt64
    public var retry: RetryPolicy
    /// Scheduling again with a key already used within `TaskLimits.idempotencyWindowMillis` returns
    /// the first task instead of making a second one. Every firing carries it to its consumer (nil:
    /// `task-<id>`; recurring tasks add `#<firing number>`).
    public var idempotencyKey: String?

    public init(name: String, timing: TaskTiming, payload: String = "", target: TaskTarget,
                timeoutMillis: UInt64 = 1_000, retry: RetryPolicy = RetryPolicy(), idempotencyKey: String? = nil) {
        self.name = name
        self.timing = timing
        self.payload = payload
        self.target = target
        self.timeoutMillis = timeoutMillis
        self.retry = retry
        self.idempotencyKey = idempotencyKey
    }
}

/// A scheduled task in the replicated table.
public struct DelayTask: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        /// Waiting for `fireAtMillis`.
        case scheduled
        /// Claimed by `node` (a callback is running there) until `leaseUntilMillis`; after that, or
        /// once `node` leaves the scheduler's members, the partition's primary may claim it again.
        case running(node: NodeID, claimedAtMillis: UInt64, leaseUntilMillis: UInt64, deliveries: Int)
    }

    public var id: UInt64
    public var spec: TaskSpec
    public var partition: Int
    /// The current firing's due time and number (1 for the first).
    public var fireAtMillis: UInt64
    public var fire: UInt64
    public var state: State
    public var createdAtMillis: UInt64
    /// Firings delivered and firings whose callback failed every try.
    public var succeeded: Int
    public var failed: Int
    /// A recurring task's next firing after the running one, computed by the claiming node.
    public var nextFireMillis: UInt64?

    /// The key this firing's consumer sees.
    public var deliveryKey: String {
        let base = spec.idempotencyKey ?? "task-\(id)"
        if case .cron = spec.timing { return "\(base)#\(fire)" }
        return base
    }

    public var isRecurring: Bool {
        if case .cron = spec.timing { return true }
        return false
    }
}

/// A task that left the table, kept (a bounded number) for inspection.
public struct FinishedTask: Equatable, Sendable {
    public enum Ending: String, Sendable { case done, failed, cancelled }
    public var task: DelayTask
    public var ending: Ending
    public var atMillis: UInt64
}

/// A message in an in-cluster queue.
public struct QueueMessage: Equatable, Sendable {
    public var id: UInt64
    public var task: UInt64
    public var key: String
    public var payload: String
    public var enqueuedAtMillis: UInt64
    /// Times it was handed to a consumer (more than 1: redelivered after its visibility lapsed).
    public var deliveries: Int
    /// Hidden from pulls until then (cluster time).
    public var invisibleUntilMillis: UInt64
}

/// How a claimed callback firing ended.
public enum TaskOutcome: Equatable, Sendable {
    case succeeded(attempts: Int)
    case failed(attempts: Int, reason: String)
}

/// Requests to the delay-task scheduler. `members`, `claim` and `finish` are the nodes' own
/// (client 0, like the leader's clock): the leader says which nodes are alive, a partition's
/// primary claims a due firing, the claimer reports how its callback ended.
public enum TaskCommand: Equatable, Sendable {
    case schedule(TaskSpec)
    case cancel(id: UInt64)
    case inspect(id: UInt64)
    /// Tasks with an ID above `afterID`, in ID order, at most `limit`.
    case list(afterID: UInt64, limit: Int)
    case members([NodeID])
    /// `nextFireMillis`: a recurring task's next firing, computed by the claimer.
    case claim(id: UInt64, fire: UInt64, node: NodeID, nextFireMillis: UInt64?)
    case finish(id: UInt64, fire: UInt64, node: NodeID, outcome: TaskOutcome)
    /// Up to `max` visible messages, hidden from other pulls for `visibilityMillis`.
    case pull(queue: String, max: Int, visibilityMillis: UInt64)
    case ack(queue: String, message: UInt64)

    /// Whether only nodes (client 0) may send it.
    public var isNodeCommand: Bool {
        switch self {
        case .members, .claim, .finish: return true
        case .schedule, .cancel, .inspect, .list, .pull, .ack: return false
        }
    }
}

/// Answers of the delay-task scheduler.
public enum TaskResult: Equatable, Sendable {
    /// `existing`: the idempotency key was already used; `id` is the first task's.
    case scheduled(id: UInt64, existing: Bool)
    case task(DelayTask)
    case finished(FinishedTask)
    case tasks([DelayTask])
    case messages([QueueMessage])
}

/// Limits of the scheduler (each tested at its boundary).
public enum TaskLimits {
    public static let tasksMax = 100_000
    public static let payloadBytesMax = 4_096
    public static let timeoutMillisRange: ClosedRange<UInt64> = 1...600_000
    public static let attemptsMax = 20
    public static let backoffMillisMax: UInt64 = 600_000
    /// A key used to schedule is remembered this long (cluster time).
    public static let idempotencyWindowMillis: UInt64 = 86_400_000
    /// Keys remembered at most; past this the oldest go before their window closes.
    public static let idempotencyKeysMax = 100_000
    public static let queuesMax = 1_000
    public static let queueMessagesMax = 100_000
    public static let pullMax = 1_000
    public static let listMax = 1_000
    /// Finished tasks kept for inspection.
    public static let finishedKept = 1_024
    /// Partitions tasks are hashed to, and owners per partition (primary + replicas).
    public static let partitions = 12
    /// Nodes the scheduler spreads partitions over.
    public static let membersMax = 1_000
    public static let ownersPerPartition = 2
    /// A claim's lease beyond the time its tries may take.
    public static let leaseSlackMillis: UInt64 = 500
    /// Lateness bucket upper bounds (ms) of the lateness histogram; the last bucket is open.
    public static let latenessBucketsMillis: [UInt64] = [10, 50, 100, 250, 500, 1_000, 2_500, 10_000]
    /// A firing later than this counts as late.
    public static let lateMillis: UInt64 = 250
}
