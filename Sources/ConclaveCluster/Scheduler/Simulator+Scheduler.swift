import ConclaveCore
import ConclaveCoordination
import ConclaveResilience
import ConclaveTimers

// The delay-task scheduler on the simulated nodes: the leader says who is alive, each node
// claims its partitions' due firings and runs its callbacks; see `DelayTaskTable` for the rules
// the log enforces and `NodeScheduler` for a node's memory.
extension Simulator {
    /// Proposes an entry of the node's own (client 0). False when the node could not propose it
    /// (no leader known, down); the scheduler's wake-ups propose it again.
    @discardableResult
    func proposeNodeCommand(_ command: CoordinationCommand, at position: Int) -> Bool {
        let request = CoordinationRequest(client: 0, sequence: 0, command: command)
        return (try? nodes[position].raft?.propose(request.encoded())) != nil
    }

    /// As leader, with each clock entry: if the nodes it heard from within an election timeout
    /// differ from the scheduler's members, propose them (the partition table follows).
    func proposeSchedulerMembersIfChanged(at position: Int) {
        guard let raft = nodes[position].raft, raft.role == .leader else { return }
        let heard = raft.status().followers.filter { $0.ticksSinceHeard < config.electionTimeoutTicks }.map(\.node)
        let live = ([raft.id] + heard).sorted()
        let machine = nodes[position].stateMachine
        guard live != machine.tasks.members else {
            nodes[position].scheduler.membersProposed = nil
            return
        }
        if let last = nodes[position].scheduler.membersProposed, last.members == live,
           machine.nowMillis < last.atMillis + config.scheduler.retryMillis { return }
        if proposeNodeCommand(.task(.members(live)), at: position) {
            nodes[position].scheduler.membersProposed = (live, machine.nowMillis)
        }
    }

    /// Each tick: claims and reports that came due by this node's applied cluster time.
    func schedulerTick(at position: Int) {
        let machine = nodes[position].stateMachine
        for command in nodes[position].scheduler.due(table: machine.tasks, nowMillis: machine.nowMillis) {
            if case .finish = command { nodes[position].scheduler.counters.reportsProposed += 1 }
            proposeNodeCommand(.task(command), at: position)
        }
    }

    func resyncScheduler(at position: Int) {
        let machine = nodes[position].stateMachine
        nodes[position].scheduler.resync(table: machine.tasks, nowMillis: machine.nowMillis)
    }

    /// After an entry applied: start callbacks this node claimed, drop firings settled elsewhere,
    /// and move wake-ups.
    func schedulerApplied(_ applied: CoordinationStateMachine.Applied, at position: Int) {
        guard !applied.tasksTouched.isEmpty else { return }
        let machine = nodes[position].stateMachine
        for id in applied.tasksTouched {
            if let firing = nodes[position].scheduler.firings[id], !Self.isRunning(machine.tasks.tasks[id], fire: firing.fire) {
                nodes[position].scheduler.firings[id] = nil
            }
            if let task = machine.tasks.tasks[id], nodes[position].scheduler.claimApplied(task) {
                startTry(of: id, at: position)
            }
            nodes[position].scheduler.sync(id, table: machine.tasks, nowMillis: machine.nowMillis)
        }
    }

    private static func isRunning(_ task: DelayTask?, fire: UInt64) -> Bool {
        guard let task, task.fire == fire, case .running = task.state else { return false }
        return true
    }

    // MARK: - Callback tries on the node's worker pool

    /// One try of the firing in hand: through the target's breaker, into a free worker or the
    /// pool's queue; refused (a failed try) when the breaker is open or the queue is full.
    private func startTry(of id: UInt64, at position: Int) {
        let machine = nodes[position].stateMachine
        guard var firing = nodes[position].scheduler.firings[id], let task = machine.tasks.tasks[id],
              case .callback(let target) = task.spec.target else { return }
        firing.attempts += 1
        nodes[position].scheduler.firings[id] = firing
        let settings = config.scheduler
        var breaker = nodes[position].scheduler.breakers[target] ?? breakerFor(settings)
        let admission = breaker.acquire(nowNanos: now)
        nodes[position].scheduler.breakers[target] = breaker
        guard let permit = admission.permit else {
            // The target never saw this try: wait out the breaker's open state instead of burning
            // an attempt, as many times as there are attempts.
            nodes[position].scheduler.counters.refusedByBreaker += 1
            firing.attempts -= 1
            firing.refusals += 1
            nodes[position].scheduler.firings[id] = firing
            if firing.refusals <= task.spec.retry.attemptsMax {
                queue.push(.callbackRetry(nodes[position].id, incarnation: nodes[position].incarnation, task: id),
                           at: now + settings.breaker.waitInOpenNanos)
            } else {
                tryEnded(id, succeeded: false, reason: "breaker for '\(target)' stayed open", at: position)
            }
            return
        }
        let behavior = settings.targets[target] ?? settings.defaultTarget
        let spread = behavior.latencyMaxNanos - behavior.latencyMinNanos
        let duration = behavior.latencyMinNanos + (spread > 0 ? callbackRandom.next() % (spread + 1) : 0)
        let fails = callbackRandom.next() % 1_000 < behavior.failurePermille
        let timeoutNanos = task.spec.timeoutMillis * 1_000_000
        let timedOut = duration > timeoutNanos
        nodes[position].scheduler.lastJobTag += 1
        let tag = nodes[position].scheduler.lastJobTag
        nodes[position].scheduler.jobs[tag] = NodeScheduler.Job(
            task: id, fire: firing.fire, target: target, key: task.deliveryKey, permit: permit, timedOut: timedOut)
        let failure = timedOut ? "timed out after \(task.spec.timeoutMillis) ms" : fails ? "target failed" : nil
        let job = VirtualJob(tag: tag, durationNanos: min(duration, timeoutNanos), failure: failure)
        let (submission, results) = nodes[position].scheduler.pool.submit(job, atNanos: now)
        handle(results, at: position)
        if case .refused(let refusal) = submission {
            nodes[position].scheduler.jobs[tag] = nil
            nodes[position].scheduler.counters.refusedByPool += 1
            tryEnded(id, succeeded: false, reason: "worker pool: \(refusal)", at: position)
        }
        schedulePoolEvent(at: position)
    }

    /// The configuration was checked by `SimulationConfig.validate`.
    private func breakerFor(_ settings: SchedulerSettings) -> CircuitBreaker {
        do {
            return try CircuitBreaker(configuration: settings.breaker, nowNanos: now)
        } catch {
            preconditionFailure("scheduler breaker configuration passed validation but was refused: \(error)")
        }
    }

    /// Queues a simulator event for the pool's next instant (a try ending, a queued one starting).
    private func schedulePoolEvent(at position: Int) {
        guard let next = nodes[position].scheduler.pool.nextEventNanos() else { return }
        if let queued = nodes[position].scheduler.poolEventAtNanos, queued <= next, queued >= now { return }
        nodes[position].scheduler.poolEventAtNanos = next
        queue.push(.callbackPool(nodes[position].id, incarnation: nodes[position].incarnation), at: max(next, now))
    }

    func callbackPoolDue(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation else { return }
        nodes[position].scheduler.poolEventAtNanos = nil
        let results = nodes[position].scheduler.pool.advance(toNanos: now)
        handle(results, at: position)
        schedulePoolEvent(at: position)
    }

    /// Tries that ended: the target received each one that started (a delivery, with its key);
    /// the breaker hears how it went; the firing moves on.
    private func handle(_ results: [WorkerTaskResult], at position: Int) {
        for result in results {
            guard let job = nodes[position].scheduler.jobs.removeValue(forKey: result.tag) else { continue }
            let succeeded = result.outcome == .completed
            if let started = result.startedAtNanos {
                recordDelivery(CallbackDelivery(node: nodes[position].id, task: job.task, fire: job.fire, key: job.key,
                                                atNanos: started, succeeded: succeeded))
                nodes[position].scheduler.counters.callbacksStarted += 1
                _ = nodes[position].scheduler.breakers[job.target]?.record(
                    succeeded ? .success : .failure, permit: job.permit, durationNanos: result.finishedAtNanos - started,
                    nowNanos: now)
            }
            if job.timedOut { nodes[position].scheduler.counters.callbacksTimedOut += 1 }
            if succeeded {
                nodes[position].scheduler.counters.callbacksSucceeded += 1
            } else {
                nodes[position].scheduler.counters.callbacksFailed += 1
            }
            let reason: String
            switch result.outcome {
            case .failed(let why): reason = why
            default: reason = "\(result.outcome)"
            }
            tryEnded(job.task, succeeded: succeeded, reason: reason, at: position)
        }
    }

    private func recordDelivery(_ delivery: CallbackDelivery) {
        callbackDeliveriesTotal += 1
        if callbackDeliveries.count >= config.scheduler.deliveriesKept { callbackDeliveries.removeFirst() }
        callbackDeliveries.append(delivery)
    }

    func callbackRetry(_ node: NodeID, incarnation: Int, task: UInt64) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health != .crashed else { return }
        startTry(of: task, at: position)
    }

    /// A try ended: report success; after a failure, try again after the backoff while tries
    /// remain, else report the failure.
    private func tryEnded(_ id: UInt64, succeeded: Bool, reason: String, at position: Int) {
        guard var firing = nodes[position].scheduler.firings[id] else { return }
        let task = nodes[position].stateMachine.tasks.tasks[id]
        let retry = task?.spec.retry ?? RetryPolicy(attemptsMax: 1)
        if !succeeded, firing.attempts < retry.attemptsMax, firing.refusals <= retry.attemptsMax {
            queue.push(.callbackRetry(nodes[position].id, incarnation: nodes[position].incarnation, task: id),
                       at: now + retry.backoffMillis * 1_000_000)
            return
        }
        firing.outcome = succeeded ? .succeeded(attempts: firing.attempts) : .failed(attempts: firing.attempts, reason: reason)
        nodes[position].scheduler.firings[id] = firing
        // Reported at the node's next tick (its wake-up is due now), and again until the log shows it.
        nodes[position].scheduler.setWakeUp(id, at: nodes[position].stateMachine.nowMillis)
    }
}

// MARK: - What the console and tests see

/// One node's scheduler as an observer sees it.
public struct NodeSchedulerStatus: Equatable, Sendable {
    public var node: NodeID
    /// The node's timer heap of wake-ups (top levels, for drawing).
    public var timers: TimerQueueSnapshot
    /// Partitions this node is primary of, and replica of.
    public var primaryOf: [Int]
    public var replicaOf: [Int]
    /// The earliest wake-ups: (task, cluster time).
    public var nextWakeUps: [(task: UInt64, atMillis: UInt64)]
    public var busyWorkers: Int
    public var queuedTries: Int
    public var firingsInHand: Int
    public var breakers: [String: CircuitBreakerState]
    public var counters: NodeSchedulerCounters

    public static func == (left: Self, right: Self) -> Bool {
        left.node == right.node && left.timers == right.timers && left.primaryOf == right.primaryOf
            && left.replicaOf == right.replicaOf && left.nextWakeUps.map(\.task) == right.nextWakeUps.map(\.task)
            && left.nextWakeUps.map(\.atMillis) == right.nextWakeUps.map(\.atMillis)
            && left.busyWorkers == right.busyWorkers && left.queuedTries == right.queuedTries
            && left.firingsInHand == right.firingsInHand && left.breakers == right.breakers && left.counters == right.counters
    }

    /// The partition letters the way the issue draws them: primary upper case, replica lower
    /// case, in partition order (`A b d E`).
    public var ownershipLetters: String {
        (0..<TaskLimits.partitions).compactMap { partition -> String? in
            let letter = String(UnicodeScalar(UInt8(65 + partition)))
            if primaryOf.contains(partition) { return letter }
            if replicaOf.contains(partition) { return letter.lowercased() }
            return nil
        }.joined(separator: " ")
    }
}

extension Simulator {
    public func schedulerStatus(of node: NodeID, entriesMax: Int = 16) -> NodeSchedulerStatus {
        let simulated = nodes[index(of: node)]
        let table = simulated.stateMachine.tasks
        var primary: [Int] = []
        var replica: [Int] = []
        for (partition, owners) in table.owners.enumerated() {
            if owners.first == node { primary.append(partition) } else if owners.contains(node) { replica.append(partition) }
        }
        let scheduler = simulated.scheduler
        let pool = scheduler.pool.snapshot
        let next = scheduler.wakeUps.deadlines.map { (task: $0.key, atMillis: $0.deadlineMillis) }
            .sorted { ($0.atMillis, $0.task) < ($1.atMillis, $1.task) }.prefix(entriesMax)
        return NodeSchedulerStatus(
            node: node, timers: scheduler.wakeUps.snapshot(entriesMax: entriesMax), primaryOf: primary, replicaOf: replica,
            nextWakeUps: Array(next), busyWorkers: pool.busyWorkers, queuedTries: pool.queueDepth,
            firingsInHand: scheduler.firings.count, breakers: scheduler.breakerSnapshot(), counters: scheduler.counters)
    }
}

/// Why a node turned a schedule request away before proposing it.
struct ScheduleRefusal: Error {
    var reason: String
}

extension Simulator {
    /// A cron task arrives without its first firing: the receiving node resolves the expression
    /// in the task's zone against its own wall clock and ties the two clocks together (the log
    /// then carries the result; see `CronTiming`). Other specs pass unchanged.
    func resolveFirstFiring(of spec: TaskSpec, at position: Int) -> Result<TaskSpec, ScheduleRefusal> {
        guard case .cron(var cron) = spec.timing, cron.firstFireMillis == 0 else { return .success(spec) }
        let expression: CronExpression
        let zone: FoundationTimeZone
        do throws(CronError) {
            expression = try CronExpression(cron.expression)
            zone = try FoundationTimeZone(identifier: cron.zone)
        } catch {
            return .failure(ScheduleRefusal(reason: error.description))
        }
        let clusterNow = nodes[position].stateMachine.nowMillis
        let wallNow = wallClockMillis(of: nodes[position].id)
        cron.wallOffsetMillis = Int64(clamping: wallNow) - Int64(clamping: clusterNow)
        guard let first = NodeScheduler.nextFire(after: clusterNow, wallOffsetMillis: cron.wallOffsetMillis, expression, in: zone)
        else {
            return .failure(ScheduleRefusal(reason: "cron '\(cron.expression)' never fires after now in \(cron.zone)"))
        }
        cron.firstFireMillis = first
        var resolved = spec
        resolved.timing = .cron(cron)
        return .success(resolved)
    }
}
