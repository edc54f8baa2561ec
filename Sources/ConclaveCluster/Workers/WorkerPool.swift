import ConclaveResilience
import Dispatch
import Foundation

/// A pool of real threads: `configuration.workers` worker threads take tasks from a bounded FIFO queue;
/// one supervisor thread enforces each task's timeout. The same configuration and result vocabulary as
/// `VirtualWorkerPool`, which is this pool on virtual time.
///
/// Contract:
/// - Every accepted task is reported exactly once to `onResult` — completed, failed (with the error's
///   description), timed out or cancelled — so no error is lost. `onResult` runs on a pool thread (a
///   worker, the supervisor, or whoever called `cancel`/`shutdown`), never under the pool's lock, so it
///   may call back into the pool. It must be quick: a worker reporting a result is not taking tasks.
/// - Timeout and cancellation *ask* a task to stop (`WorkerTaskContext.isCancelled`) and report it at
///   once; a thread cannot be killed, so a task that ignores the request keeps its worker until it
///   returns (a zombie, counted in the snapshot), and what it returns then is dropped.
/// - A full queue refuses at once (`.reject`) or blocks the submitting thread up to the stated wait
///   (`.wait`); at most `queueCapacity` submitters block at once, more are refused.
/// - `shutdown(.drain)` runs what is queued; `shutdown(.cancel)` cancels the queue and the running
///   tasks. Either way nothing new is accepted. Threads hold the pool until it is shut down: call
///   `shutdown` before dropping it.
public final class WorkerPool: @unchecked Sendable {
    /// The work of one task: return to complete, throw to fail. Check `context.isCancelled` in long work.
    public typealias Work = @Sendable (WorkerTaskContext) throws -> Void

    public let configuration: WorkerPoolConfiguration
    // Everything below is guarded by `condition`; every change is followed by a broadcast, and every
    // wait re-checks its predicate, so one condition serves workers, submitters, supervisor and shutdown.
    private let condition = NSCondition()
    private var queue: [Queued] = []
    private var queueHead = 0
    private var running: [WorkerTaskID: Running] = [:]
    private var zombies = 0
    private var blockedSubmitters = 0
    private var liveWorkers = 0
    private var isShutDown = false
    private var nextID: WorkerTaskID = 1
    private var totals = WorkerPoolTotals()
    private let onResult: @Sendable (WorkerTaskResult) -> Void
    private let clockNanos: @Sendable () -> UInt64

    private struct Queued {
        var id: WorkerTaskID
        var tag: UInt64
        var work: Work
        var submittedAtNanos: UInt64
    }

    private struct Running {
        var tag: UInt64
        var context: WorkerTaskContext
        var submittedAtNanos: UInt64
        var startedAtNanos: UInt64
        var deadlineNanos: UInt64
    }

    /// Starts the worker threads and the supervisor.
    /// - Parameters:
    ///   - clockNanos: a monotonic clock in nanoseconds (the default is the system's uptime clock).
    ///   - onResult: told of every accepted task's end, exactly once.
    public init(
        configuration: WorkerPoolConfiguration,
        clockNanos: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds },
        onResult: @escaping @Sendable (WorkerTaskResult) -> Void
    ) {
        self.configuration = configuration
        self.clockNanos = clockNanos
        self.onResult = onResult
        liveWorkers = configuration.workers
        for number in 0..<configuration.workers {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "conclave-worker-\(number)"
            thread.start()
        }
        let supervisor = Thread { [self] in supervisorLoop() }
        supervisor.name = "conclave-worker-supervisor"
        supervisor.start()
    }

    // MARK: - Submitting

    /// Queues `work`. Returns `.accepted` or `.refused`; with `.wait` back-pressure the calling thread
    /// blocks (up to the configured wait) while the queue is full. Never `.waiting`.
    @discardableResult
    public func submit(tag: UInt64 = 0, _ work: @escaping Work) -> WorkerPoolSubmission {
        condition.lock()
        defer { condition.unlock() }
        guard !isShutDown else { return refuse(.shuttingDown) }
        if queueDepth >= configuration.queueCapacity {
            guard case .wait(let maxNanos) = configuration.whenFull else {
                return refuse(.queueFull(capacity: configuration.queueCapacity))
            }
            guard blockedSubmitters < configuration.queueCapacity else {
                return refuse(.queueFull(capacity: configuration.queueCapacity))
            }
            let startNanos = clockNanos()
            blockedSubmitters += 1
            condition.broadcast()
            while queueDepth >= configuration.queueCapacity, !isShutDown, clockNanos() - startNanos < maxNanos {
                wait(untilNanos: startNanos &+ maxNanos)
            }
            blockedSubmitters -= 1
            condition.broadcast()
            if isShutDown { return refuse(.shuttingDown) }
            if queueDepth >= configuration.queueCapacity {
                return refuse(.waitedTooLong(waitedNanos: clockNanos() - startNanos))
            }
        }
        let id = nextID
        nextID += 1
        totals.accepted &+= 1
        queue.append(Queued(id: id, tag: tag, work: work, submittedAtNanos: clockNanos()))
        condition.broadcast()
        return .accepted(id)
    }

    private func refuse(_ refusal: WorkerPoolRefusal) -> WorkerPoolSubmission {
        totals.refusedAtSubmit &+= 1
        condition.broadcast()
        return .refused(refusal)
    }

    // MARK: - Threads

    private func workerLoop() {
        condition.lock()
        while true {
            while queueDepth == 0, !isShutDown { condition.wait() }
            guard queueDepth > 0 else { break }
            let task = queue[queueHead]
            queueHead += 1
            compactQueueIfWorthIt()
            let started = clockNanos()
            let context = WorkerTaskContext(id: task.id)
            running[task.id] = Running(tag: task.tag, context: context, submittedAtNanos: task.submittedAtNanos,
                                       startedAtNanos: started,
                                       deadlineNanos: started &+ configuration.taskTimeoutNanos)
            totals.started &+= 1
            condition.broadcast()
            condition.unlock()
            let outcome: WorkerTaskOutcome
            do {
                try task.work(context)
                outcome = .completed
            } catch {
                outcome = .failed(String(describing: error))
            }
            condition.lock()
            if let report = finish(task.id, outcome, atNanos: clockNanos()) {
                deliver([report])
            } else {
                zombies -= 1
            }
            condition.broadcast()
        }
        liveWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Times out running tasks at their deadlines; exits once the pool is shut down and every worker
    /// thread has ended.
    private func supervisorLoop() {
        condition.lock()
        while !(isShutDown && liveWorkers == 0) {
            guard let earliest = running.values.map(\.deadlineNanos).min() else {
                condition.wait()
                continue
            }
            let now = clockNanos()
            guard earliest <= now else {
                wait(untilNanos: earliest)
                continue
            }
            let due = running.filter { $0.value.deadlineNanos <= now }.keys.sorted()
            deliver(due.compactMap { stop($0, .timedOut, atNanos: now) })
        }
        condition.unlock()
    }

    /// Records the outcome of a running task if none was reported yet (caller holds the lock).
    private func finish(_ id: WorkerTaskID, _ outcome: WorkerTaskOutcome, atNanos now: UInt64) -> WorkerTaskResult? {
        guard let task = running.removeValue(forKey: id) else { return nil }
        totals.count(outcome)
        return WorkerTaskResult(id: id, tag: task.tag, outcome: outcome, submittedAtNanos: task.submittedAtNanos,
                                startedAtNanos: task.startedAtNanos, finishedAtNanos: now)
    }

    /// Asks a running task to stop and reports `outcome` for it now; its worker stays a zombie until
    /// the task returns (caller holds the lock).
    private func stop(_ id: WorkerTaskID, _ outcome: WorkerTaskOutcome, atNanos now: UInt64) -> WorkerTaskResult? {
        guard let context = running[id]?.context, let report = finish(id, outcome, atNanos: now) else { return nil }
        context.requestCancellation()
        zombies += 1
        return report
    }

    /// Hands results to `onResult` with the lock released (caller holds the lock; holds it again after).
    private func deliver(_ results: [WorkerTaskResult]) {
        guard !results.isEmpty else { return }
        condition.broadcast()
        condition.unlock()
        for result in results { onResult(result) }
        condition.lock()
    }

    private func wait(untilNanos deadline: UInt64) {
        let now = clockNanos()
        guard deadline > now else { return }
        _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
    }

    private var queueDepth: Int { queue.count - queueHead }

    private func compactQueueIfWorthIt() {
        if queueHead == queue.count || (queueHead > 64 && queueHead * 2 > queue.count) {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    // MARK: - Cancelling and shutting down

    /// Cancels task `id`: removed if queued, asked to stop if running; reported `.cancelled` (on this
    /// thread) unless it had already ended. Returns whether this call cancelled it.
    @discardableResult
    public func cancel(_ id: WorkerTaskID) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let now = clockNanos()
        if let position = queue[queueHead...].firstIndex(where: { $0.id == id }) {
            deliver([cancelQueued(queue.remove(at: position), atNanos: now)])
            return true
        }
        guard let report = stop(id, .cancelled, atNanos: now) else { return false }
        deliver([report])
        return true
    }

    /// The report of a task cancelled before it started (caller holds the lock and removes it).
    private func cancelQueued(_ task: Queued, atNanos now: UInt64) -> WorkerTaskResult {
        totals.count(.cancelled)
        return WorkerTaskResult(id: task.id, tag: task.tag, outcome: .cancelled, submittedAtNanos: task.submittedAtNanos,
                                startedAtNanos: nil, finishedAtNanos: now)
    }

    /// Stops accepting and drains or cancels as asked, then waits up to `waitNanos` for every worker
    /// thread to end. Returns whether they all did (false: some task is still running, e.g. one that
    /// ignores cancellation). Calling it again is allowed, e.g. `.drain` then `.cancel`.
    @discardableResult
    public func shutdown(_ mode: WorkerPoolShutdown, waitNanos: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        isShutDown = true
        let now = clockNanos()
        if mode == .cancel {
            var reports = queue[queueHead...].map { cancelQueued($0, atNanos: now) }
            queue.removeAll()
            queueHead = 0
            reports += running.keys.sorted().compactMap { stop($0, .cancelled, atNanos: now) }
            deliver(reports)
        }
        condition.broadcast()
        while liveWorkers > 0, clockNanos() - now < waitNanos { wait(untilNanos: now &+ waitNanos) }
        return liveWorkers == 0
    }

    // MARK: - Observing

    /// Blocks until `predicate` holds for the pool's snapshot or `timeoutNanos` pass; returns whether it
    /// held. No polling: every change to the pool wakes the waiter, which checks again.
    @discardableResult
    public func waitForSnapshot(timeoutNanos: UInt64, _ predicate: (WorkerPoolSnapshot) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let start = clockNanos()
        while !predicate(lockedSnapshot()) {
            guard clockNanos() - start < timeoutNanos else { return false }
            wait(untilNanos: start &+ timeoutNanos)
        }
        return true
    }

    public var snapshot: WorkerPoolSnapshot {
        condition.lock()
        defer { condition.unlock() }
        return lockedSnapshot()
    }

    private func lockedSnapshot() -> WorkerPoolSnapshot {
        var snapshot = WorkerPoolSnapshot(workers: configuration.workers, queueCapacity: configuration.queueCapacity)
        snapshot.busyWorkers = running.count + zombies
        snapshot.zombieWorkers = zombies
        snapshot.queueDepth = queueDepth
        snapshot.waitingSubmitters = blockedSubmitters
        snapshot.isShutDown = isShutDown
        snapshot.isTerminated = isShutDown && liveWorkers == 0
        snapshot.totals = totals
        return snapshot
    }
}

/// What a running task can see of its own fate: whether the pool asked it to stop (timeout, cancel,
/// cancelling shutdown). Long work should check `isCancelled` and return early.
public final class WorkerTaskContext: @unchecked Sendable {
    public let id: WorkerTaskID
    private let lock = NSLock()
    private var cancelled = false

    init(id: WorkerTaskID) { self.id = id }

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    func requestCancellation() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}
