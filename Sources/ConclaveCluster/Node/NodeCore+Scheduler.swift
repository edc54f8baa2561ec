import ConclaveCore
import ConclaveCoordination
import ConclaveResilience
import ConclaveTimers

// The delay-task scheduler on a node: the leader says who is alive, each node claims its
// partitions' due firings and runs its callbacks; see `DelayTaskTable` for the rules the log
// enforces and `NodeScheduler` for a node's memory.
extension NodeCore {
    /// Proposes an entry of the node's own (client 0). False when the node could not propose it
    /// (no leader known); the scheduler's wake-ups propose it again.
    @discardableResult
    mutating func proposeNodeCommand(_ command: CoordinationCommand) -> Bool {
        let request = CoordinationRequest(client: 0, sequence: 0, command: command)
        return (try? raft.propose(request.encoded())) != nil
    }

    /// As leader, with each clock entry: if the nodes it heard from within an election timeout
    /// differ from the scheduler's members, propose them (the partition table follows).
    mutating func proposeSchedulerMembersIfChanged() {
        guard raft.role == .leader else { return }
        let heard = raft.status().followers.filter { $0.ticksSinceHeard < config.raft.electionTimeoutTicks }.map(\.node)
        let live = ([raft.id] + heard).sorted()
        guard live != stateMachine.tasks.members else {
            scheduler.membersProposed = nil
            return
        }
        if let last = scheduler.membersProposed, last.members == live,
           stateMachine.nowMillis < last.atMillis + config.scheduler.retryMillis { return }
        if proposeNodeCommand(.task(.members(live))) {
            scheduler.membersProposed = (live, stateMachine.nowMillis)
        }
    }

    /// Each tick: claims and reports that came due by this node's applied cluster time.
    mutating func schedulerTick() {
        for command in scheduler.due(table: stateMachine.tasks, nowMillis: stateMachine.nowMillis) {
            if case .finish = command { scheduler.counters.reportsProposed += 1 }
            proposeNodeCommand(.task(command))
        }
    }

    mutating func resyncScheduler() {
        scheduler.resync(table: stateMachine.tasks, nowMillis: stateMachine.nowMillis)
    }

    /// After an entry applied: start callbacks this node claimed, drop firings settled elsewhere,
    /// and move wake-ups.
    mutating func schedulerApplied(_ applied: CoordinationStateMachine.Applied) {
        for id in applied.tasksTouched {
            if let firing = scheduler.firings[id], !Self.isRunning(stateMachine.tasks.tasks[id], fire: firing.fire) {
                scheduler.firings[id] = nil
            }
            if let task = stateMachine.tasks.tasks[id], scheduler.claimApplied(task) {
                startTry(of: id)
            }
            scheduler.sync(id, table: stateMachine.tasks, nowMillis: stateMachine.nowMillis)
        }
    }

    private static func isRunning(_ task: DelayTask?, fire: UInt64) -> Bool {
        guard let task, task.fire == fire, case .running = task.state else { return false }
        return true
    }

    // MARK: - Timers the outputs asked for

    /// The worker pool has something due (`NodeOutput.callbackPoolDue`): a try ends, a queued one
    /// starts. Runs while the node is running, paused or not.
    public mutating func callbackPoolDue(at time: NodeTime) {
        guard begin(at: time) else { return }
        scheduler.poolEventAtNanos = nil
        let results = scheduler.pool.advance(toNanos: time.timerNanos)
        handle(results)
        poolMoved()
    }

    /// A try's backoff ended, or the target's breaker may have closed (`NodeOutput.callbackRetryDue`).
    public mutating func retryCallback(task id: UInt64, at time: NodeTime) {
        guard begin(at: time) else { return }
        startTry(of: id)
    }

    // MARK: - Callback tries on the node's worker pool

    /// One try of the firing in hand: through the target's breaker, into a free worker or the
    /// pool's queue; refused (a failed try) when the breaker is open or the queue is full.
    private mutating func startTry(of id: UInt64) {
        guard var firing = scheduler.firings[id], let task = stateMachine.tasks.tasks[id],
              case .callback(let target) = task.spec.target else { return }
        firing.attempts += 1
        scheduler.firings[id] = firing
        var breaker = scheduler.breakers[target] ?? newBreaker()
        let admission = breaker.acquire(nowNanos: time.timerNanos)
        scheduler.breakers[target] = breaker
        guard let permit = admission.permit else {
            // The target never saw this try: wait out the breaker's open state instead of burning
            // an attempt, as many times as there are attempts.
            scheduler.counters.refusedByBreaker += 1
            firing.attempts -= 1
            firing.refusals += 1
            scheduler.firings[id] = firing
            if firing.refusals <= task.spec.retry.attemptsMax {
                outputs.append(.callbackRetryDue(task: id, atNanos: time.timerNanos + config.scheduler.breaker.waitInOpenNanos))
            } else {
                tryEnded(id, succeeded: false, reason: "breaker for '\(target)' stayed open")
            }
            return
        }
        let timeoutNanos = task.spec.timeoutMillis * 1_000_000
        let timeout = "timed out after \(task.spec.timeoutMillis) ms"
        scheduler.lastJobTag += 1
        let tag = scheduler.lastJobTag
        var entry = NodeScheduler.Job(task: id, fire: firing.fire, target: target, key: task.deliveryKey, permit: permit, timedOut: false)
        let job: VirtualJob
        if let call = callbackTargets.call(target) {
            entry.timedOut = call.durationNanos > timeoutNanos
            job = VirtualJob(tag: tag, durationNanos: min(call.durationNanos, timeoutNanos), failure: entry.timedOut ? timeout : call.failure)
        } else {
            entry.request = CallbackRequest(tag: tag, node: self.id, task: id, name: task.spec.name, fire: firing.fire,
                                            attempt: firing.attempts, target: target, key: task.deliveryKey,
                                            payload: task.spec.payload, timeoutNanos: timeoutNanos)
            job = VirtualJob(tag: tag, durationNanos: timeoutNanos, failure: timeout, announcesStart: true)
        }
        scheduler.jobs[tag] = entry
        let (submission, results) = scheduler.pool.submit(job, atNanos: time.timerNanos)
        handle(results)
        if case .refused(let refusal) = submission {
            scheduler.jobs[tag] = nil
            scheduler.counters.refusedByPool += 1
            tryEnded(id, succeeded: false, reason: "worker pool: \(refusal)")
        }
        poolMoved()
    }

    /// The driver's answer to a callback try it made (`NodeOutput.callback`): nil, the target
    /// succeeded; otherwise why it failed. An answer after the try timed out changes nothing.
    /// Runs while the node is running, paused or not.
    public mutating func callbackAnswered(tag: UInt64, failure: String?, at time: NodeTime) {
        guard begin(at: time) else { return }
        guard scheduler.jobs[tag]?.request != nil else { return }
        scheduler.jobs[tag]?.answered = true
        handle(scheduler.pool.finish(tag: tag, failure: failure, atNanos: time.timerNanos))
        poolMoved()
    }

    /// The configuration was checked when the node's settings were validated.
    private func newBreaker() -> CircuitBreaker {
        do {
            return try CircuitBreaker(configuration: config.scheduler.breaker, nowNanos: time.timerNanos)
        } catch {
            preconditionFailure("scheduler breaker configuration passed validation but was refused: \(error)")
        }
    }

    /// After the pool moved: the driver makes the real calls that just got a worker, and is asked
    /// back at the pool's next instant.
    private mutating func poolMoved() {
        for tag in scheduler.pool.takeStarted() {
            if let request = scheduler.jobs[tag]?.request { outputs.append(.callback(request)) }
        }
        schedulePoolEvent()
    }

    /// Asks the driver for a call at the pool's next instant (a try ending, a queued one starting).
    private mutating func schedulePoolEvent() {
        guard let next = scheduler.pool.nextEventNanos() else { return }
        if let queued = scheduler.poolEventAtNanos, queued <= next, queued >= time.timerNanos { return }
        scheduler.poolEventAtNanos = next
        outputs.append(.callbackPoolDue(atNanos: max(next, time.timerNanos)))
    }

    /// Tries that ended: the target received each one that started (a delivery, with its key);
    /// the breaker hears how it went; the firing moves on.
    private mutating func handle(_ results: [WorkerTaskResult]) {
        for result in results {
            guard let job = scheduler.jobs.removeValue(forKey: result.tag) else { continue }
            let succeeded = result.outcome == .completed
            if let started = result.startedAtNanos {
                outputs.append(.callbackDelivered(CallbackDelivery(node: id, task: job.task, fire: job.fire, key: job.key,
                                                                   atNanos: started, succeeded: succeeded)))
                scheduler.counters.callbacksStarted += 1
                _ = scheduler.breakers[job.target]?.record(
                    succeeded ? .success : .failure, permit: job.permit, durationNanos: result.finishedAtNanos - started,
                    nowNanos: time.timerNanos)
            }
            if job.timedOut || (job.request != nil && !job.answered && result.outcome != .cancelled) {
                scheduler.counters.callbacksTimedOut += 1
            }
            if succeeded {
                scheduler.counters.callbacksSucceeded += 1
            } else {
                scheduler.counters.callbacksFailed += 1
            }
            let reason: String
            switch result.outcome {
            case .failed(let why): reason = why
            default: reason = "\(result.outcome)"
            }
            tryEnded(job.task, succeeded: succeeded, reason: reason)
        }
    }

    /// A try ended: report success; after a failure, try again after the backoff while tries
    /// remain, else report the failure.
    private mutating func tryEnded(_ id: UInt64, succeeded: Bool, reason: String) {
        guard var firing = scheduler.firings[id] else { return }
        let retry = stateMachine.tasks.tasks[id]?.spec.retry ?? RetryPolicy(attemptsMax: 1)
        if !succeeded, firing.attempts < retry.attemptsMax, firing.refusals <= retry.attemptsMax {
            outputs.append(.callbackRetryDue(task: id, atNanos: time.timerNanos + retry.backoffMillis * 1_000_000))
            return
        }
        firing.outcome = succeeded ? .succeeded(attempts: firing.attempts) : .failed(attempts: firing.attempts, reason: reason)
        scheduler.firings[id] = firing
        // Reported at the node's next tick (its wake-up is due now), and again until the log shows it.
        scheduler.setWakeUp(id, at: stateMachine.nowMillis)
    }

    /// The breaker in front of each callback target this node has called in this life, by target.
    public var callbackBreakers: [String: CircuitBreaker] { scheduler.breakers }

    /// What this node's scheduler did in this life: firings, callback tries and how they ended.
    public var schedulerCounters: NodeSchedulerCounters { scheduler.counters }

    /// This node's delay-task wake-up heap (for status reports): its tree, the first `entriesMax`.
    public func wakeUpHeap(entriesMax: Int) -> TimerQueueSnapshot { scheduler.wakeUps.snapshot(entriesMax: entriesMax) }
}
