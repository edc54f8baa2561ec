import ConclaveCore
import ConclaveCoordination
import ConclaveResilience
import ConclaveTimers

/// One node's side of the delay-task scheduler — its memory, lost when it crashes:
/// - a 4-ary timer heap of wake-ups (`KeyedTimers`, one per task) for the tasks whose partition
///   this node is primary of (a due firing, a lapsed claim to take over, a report to send again),
///   advanced by cluster time;
/// - the callbacks it is running for firings it claimed in this life, on a bounded pool of
///   workers, each target behind its own circuit breaker.
///
/// It decides nothing alone: it proposes claims and reports, and acts on what the log applied.
struct NodeScheduler {
    /// A callback firing this node claimed and is working through (tries, backoff, report).
    struct Firing {
        var task: UInt64
        var fire: UInt64
        var attempts = 0
        /// Tries the target's open breaker turned away; they do not use up attempts (the target
        /// never saw them) but are bounded by the same count.
        var refusals = 0
        /// Set once the tries are over: the report to propose until the log shows it.
        var outcome: TaskOutcome?
    }

    /// One try of a callback, in the pool (a worker or its queue), by the tag the pool echoes.
    struct Job {
        var task: UInt64
        var fire: UInt64
        var target: String
        var key: String
        var permit: CircuitBreakerPermit
        /// The target would take longer than the task's timeout: the try is cut off there.
        var timedOut: Bool
        /// The driver makes the call (`NodeOutput.callback`) once a worker takes it; it times out
        /// unless answered first.
        var request: CallbackRequest?
        var answered = false
    }

    let node: NodeID
    let settings: SchedulerSettings
    var wakeUps: KeyedTimers
    var firings: [UInt64: Firing] = [:]
    /// Claims proposed in this life, by (task, firing): only these start callbacks here, so
    /// replaying the log after a restart runs nothing again.
    var claimsProposed: Set<TaskFiring> = []
    /// Callback tries run here so a slow target holds a worker, never the timer loop.
    var pool: VirtualWorkerPool
    var jobs: [UInt64: Job] = [:]
    var lastJobTag: UInt64 = 0
    /// When the driver was last asked to advance the pool (`NodeOutput.callbackPoolDue`; nil: no
    /// call pending).
    var poolEventAtNanos: UInt64?
    var breakers: [String: CircuitBreaker] = [:]
    var parsedCrons: [String: CronExpression] = [:]
    var zones: [String: FoundationTimeZone] = [:]
    var counters = NodeSchedulerCounters()
    /// The leader's last membership proposal, so it is not proposed again every interval.
    var membersProposed: (members: [NodeID], atMillis: UInt64)?

    init(node: NodeID, settings: SchedulerSettings) {
        self.node = node
        self.settings = settings
        do {
            wakeUps = try KeyedTimers(capacity: TaskLimits.tasksMax)
            pool = VirtualWorkerPool(configuration: try settings.poolConfiguration())
        } catch {
            preconditionFailure("scheduler settings passed validation but were refused: \(error)")
        }
    }

    // MARK: - Wake-ups

    /// When this node must next look at task `id`: nil when it is not the task's primary or the
    /// task needs nothing from it.
    func wakeTime(of id: UInt64, in table: DelayTaskTable, nowMillis: UInt64) -> UInt64? {
        if let firing = firings[id], firing.outcome != nil { return nowMillis }
        guard let task = table.tasks[id], table.primary(of: task.partition) == node else { return nil }
        switch task.state {
        case .scheduled:
            return task.fireAtMillis
        case .running(let claimer, _, let lease, _):
            if claimer == node, firings[id]?.fire == task.fire { return nil }
            return table.members.contains(claimer) ? lease : nowMillis
        }
    }

    /// Brings task `id`'s wake-up in line with the table.
    mutating func sync(_ id: UInt64, table: DelayTaskTable, nowMillis: UInt64) {
        let wake = wakeTime(of: id, in: table, nowMillis: nowMillis)
        guard wakeUps.deadline(of: id) != wake else { return }
        if let wake { setWakeUp(id, at: wake) } else { wakeUps.remove(id) }
    }

    mutating func setWakeUp(_ id: UInt64, at millis: UInt64) {
        do {
            try wakeUps.set(id, at: millis)
        } catch {
            counters.wakeUpsDropped += 1
        }
    }

    /// Everything again (after a restart or a snapshot install).
    mutating func resync(table: DelayTaskTable, nowMillis: UInt64) {
        wakeUps.removeAll()
        for id in table.tasks.keys { sync(id, table: table, nowMillis: nowMillis) }
    }

    /// What to propose now that cluster time is `nowMillis`: claims for due firings and reports
    /// not yet in the log. Each gets a wake-up again in case the proposal is lost.
    mutating func due(table: DelayTaskTable, nowMillis: UInt64) -> [TaskCommand] {
        var commands: [TaskCommand] = []
        for id in wakeUps.advance(toMillis: nowMillis) {
            if let firing = firings[id], let outcome = firing.outcome {
                guard let task = table.tasks[id], task.fire == firing.fire, case .running = task.state else {
                    firings[id] = nil
                    continue
                }
                commands.append(.finish(id: id, fire: firing.fire, node: node, outcome: outcome))
                setWakeUp(id, at: nowMillis + settings.retryMillis)
                continue
            }
            guard let wake = wakeTime(of: id, in: table, nowMillis: nowMillis), let task = table.tasks[id] else { continue }
            guard wake <= nowMillis else {
                setWakeUp(id, at: wake)
                continue
            }
            var next: UInt64?
            if case .cron(let cron) = task.spec.timing {
                next = nextFire(after: task.fireAtMillis, cron)
                guard next != nil else { counters.cronUnresolved += 1; continue }
            }
            claimsProposed.insert(TaskFiring(task: id, fire: task.fire))
            commands.append(.claim(id: id, fire: task.fire, node: node, nextFireMillis: next))
            counters.claimsProposed += 1
            setWakeUp(id, at: nowMillis + settings.retryMillis)
        }
        return commands
    }

    /// A cron task's next firing after cluster time `millis`, in cluster time.
    mutating func nextFire(after millis: UInt64, _ cron: CronTiming) -> UInt64? {
        guard let expression = parsed(cron.expression), let zone = zone(cron.zone) else { return nil }
        return Self.nextFire(after: millis, wallOffsetMillis: cron.wallOffsetMillis, expression, in: zone)
    }

    /// The expression's next firing after cluster time `millis`, read on the wall clock that is
    /// `wallOffsetMillis` ahead of cluster time; nil when it never fires again.
    static func nextFire(after millis: UInt64, wallOffsetMillis: Int64, _ expression: CronExpression,
                         in zone: some TimeZoneRules) -> UInt64? {
        let wall = Int64(clamping: millis) &+ wallOffsetMillis
        guard wall >= 0, let nextWall = expression.nextFireMillis(afterMillis: UInt64(wall), in: zone) else { return nil }
        let next = Int64(clamping: nextWall) &- wallOffsetMillis
        return next > Int64(clamping: millis) ? UInt64(next) : nil
    }

    private mutating func parsed(_ text: String) -> CronExpression? {
        if let expression = parsedCrons[text] { return expression }
        guard let expression = try? CronExpression(text) else { return nil }
        if parsedCrons.count < 1_024 { parsedCrons[text] = expression }
        return expression
    }

    mutating func zone(_ identifier: String) -> FoundationTimeZone? {
        if let zone = zones[identifier] { return zone }
        guard let zone = try? FoundationTimeZone(identifier: identifier) else { return nil }
        if zones.count < 256 { zones[identifier] = zone }
        return zone
    }

    // MARK: - Callbacks

    /// The log says this node claimed the task's current firing: start it if the claim was made
    /// in this life and it is not already in hand.
    mutating func claimApplied(_ task: DelayTask) -> Bool {
        guard case .running(let claimer, _, _, _) = task.state, claimer == node, case .callback = task.spec.target,
              claimsProposed.remove(TaskFiring(task: task.id, fire: task.fire)) != nil,
              firings[task.id]?.fire != task.fire else { return false }
        firings[task.id] = Firing(task: task.id, fire: task.fire)
        return true
    }

    func breakerSnapshot() -> [String: CircuitBreakerState] { breakers.mapValues(\.state) }
}

/// A task's firing: the pair a claim and a report name.
struct TaskFiring: Hashable {
    var task: UInt64
    var fire: UInt64
}

/// What one node's scheduler did since it last started.
public struct NodeSchedulerCounters: Equatable, Sendable {
    public var claimsProposed = 0
    public var callbacksStarted = 0
    public var callbacksSucceeded = 0
    public var callbacksFailed = 0
    public var callbacksTimedOut = 0
    /// Tries refused before running: breaker open, or pool queue full.
    public var refusedByBreaker = 0
    public var refusedByPool = 0
    public var reportsProposed = 0
    public var cronUnresolved = 0
    public var wakeUpsDropped = 0
}

/// How a node runs delay tasks (workers, queue, retry interval, breakers), and — for the
/// simulator's `SimulatedCallbackTargets` only — how the simulated targets behave and how many
/// deliveries the simulator keeps.
public struct SchedulerSettings: Sendable {
    /// Callback workers per node, and tries that may wait for one (1…); past that a try is refused.
    public var workers = 4
    public var queueMax = 64
    /// Cluster time after which a claim or report that did not make it into the log is proposed again.
    public var retryMillis: UInt64 = 300
    /// How long a callback takes (uniform in this range) and how often it fails, per target;
    /// `defaultTarget` for targets not named.
    public var targets: [String: CallbackBehavior] = [:]
    public var defaultTarget = CallbackBehavior()
    /// Per target, the breaker its calls go through.
    public var breaker = CircuitBreakerConfiguration(
        window: .countBased(calls: 20), minimumCalls: 10, failureRateThresholdPercent: 50,
        slowCallRateThresholdPercent: 100, slowCallDurationNanos: 1_000_000_000, waitInOpenNanos: 2_000_000_000,
        halfOpenProbes: 3)
    /// Callback deliveries kept for inspection (tests and the console); older ones are dropped.
    public var deliveriesKept = 100_000

    public init() {}
}

/// A simulated callback target.
public struct CallbackBehavior: Sendable, Equatable {
    public var latencyMinNanos: UInt64 = 1_000_000
    public var latencyMaxNanos: UInt64 = 20_000_000
    /// Tries that fail, per thousand.
    public var failurePermille: UInt64 = 0

    public init(latencyMinNanos: UInt64 = 1_000_000, latencyMaxNanos: UInt64 = 20_000_000, failurePermille: UInt64 = 0) {
        self.latencyMinNanos = latencyMinNanos
        self.latencyMaxNanos = max(latencyMinNanos, latencyMaxNanos)
        self.failurePermille = failurePermille
    }
}

/// A callback run: the call a target received, with the key its consumer deduplicates by.
public struct CallbackDelivery: Equatable, Sendable {
    public var node: NodeID
    public var task: UInt64
    public var fire: UInt64
    public var key: String
    public var atNanos: UInt64
    public var succeeded: Bool
}

extension SchedulerSettings {
    /// The pool every node runs callbacks on: `workers`, `queueMax`, refusing when full. Each try
    /// is cut off at its task's own timeout; the pool's timeout is only the longest a task may set.
    func poolConfiguration() throws(ResilienceConfigurationError) -> WorkerPoolConfiguration {
        try WorkerPoolConfiguration(workers: workers, queueCapacity: queueMax,
                                    taskTimeoutNanos: TaskLimits.timeoutMillisRange.upperBound * 1_000_000, whenFull: .reject)
    }

    func validate() throws(SimulationError) {
        do {
            _ = try poolConfiguration()
        } catch {
            throw .invalid("scheduler pool: \(error)")
        }
        guard retryMillis > 0 else { throw .invalid("scheduler retryMillis must be > 0") }
        guard deliveriesKept > 0 else { throw .invalid("scheduler deliveriesKept must be > 0") }
        do {
            _ = try CircuitBreaker(configuration: breaker, nowNanos: 0)
        } catch {
            throw .invalid("scheduler breaker: \(error)")
        }
    }
}
