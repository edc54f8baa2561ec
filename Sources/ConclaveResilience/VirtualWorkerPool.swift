/// A worker pool on virtual time: the same contract as the threaded `WorkerPool` (fixed workers, bounded
/// queue, per-task timeout, cancellation, back-pressure, draining or cancelling shutdown), with each job's
/// running time and outcome given as data, so a simulation can run callbacks "on workers" and replay
/// exactly from its seed.
///
/// Why it lives in the pure core and not beside the threaded pool: it has no threads, no clock and no
/// randomness — `submit(_:atNanos:)` and `advance(toNanos:)` are the only ways time enters — so the
/// replicated state machine's users and the simulator can both use it, and it is tested like every
/// other core type, by values in and values out.
///
/// Time: events happen at their own instants, not at the instant `advance` is called. A job that ends
/// at t frees its worker at t and the next queued job starts at t, even when the caller advances from
/// t − 5 to t + 100; so a slow job delays only the jobs behind it, never the caller's loop.
///
/// Timeouts and cancellation follow what threads can do: a job is *asked* to stop. One that honours
/// cancellation (`VirtualJob.stopsWhenAsked`) frees its worker at once; one that does not keeps its
/// worker busy (a zombie, shown in the snapshot) until its own running time ends — its result was
/// already reported and its late end changes nothing.
///
/// Results come back from `advance`, `cancel` and `shutdown` in a deterministic order: by the time the
/// outcome was decided, then by task ID. Every accepted task gets exactly one result.
///
/// Cost: `advance` is O((events) × workers); the queue is a ring, O(1) per job.
public struct VirtualWorkerPool: Sendable {
    public let configuration: WorkerPoolConfiguration
    public private(set) var nowNanos: UInt64 = 0
    private var slots: [Slot?]
    private var queue: [Pending] = []
    private var queueHead = 0
    private var waiters: [Waiter] = []
    private var nextID: WorkerTaskID = 1
    private var isShutDown = false
    /// Tags of `announcesStart` jobs that started since the last `takeStarted()`, in start order.
    private var startedTags: [UInt64] = []
    public private(set) var totals = WorkerPoolTotals()

    struct Pending: Sendable {
        var id: WorkerTaskID
        var job: VirtualJob
        var submittedAtNanos: UInt64
    }

    struct Waiter: Sendable {
        var pending: Pending
        var giveUpAtNanos: UInt64
    }

    /// A worker's current task. `reportAtNanos` is nil once the result was reported.
    struct Slot: Sendable {
        var pending: Pending
        var startedAtNanos: UInt64
        var reportAtNanos: UInt64?
        var outcomeAtReport: WorkerTaskOutcome
        var freeAtNanos: UInt64
    }

    public init(configuration: WorkerPoolConfiguration) {
        self.configuration = configuration
        slots = Array(repeating: nil, count: configuration.workers)
    }

    // MARK: - Submitting

    /// Offers a job at `nowNanos` (earlier than the pool's time counts as the pool's time). First
    /// advances to `nowNanos`; the results that produced come back with the answer.
    public mutating func submit(_ job: VirtualJob, atNanos nowNanos: UInt64) -> (WorkerPoolSubmission, [WorkerTaskResult]) {
        var results = advance(toNanos: nowNanos)
        let now = self.nowNanos
        guard !isShutDown else { return refuseAtSubmit(.shuttingDown, results) }
        let pending = Pending(id: nextID, job: job, submittedAtNanos: now)
        if queueDepth < configuration.queueCapacity {
            nextID += 1
            totals.accepted &+= 1
            queue.append(pending)
            startQueued(atNanos: now, into: &results)
            return (.accepted(pending.id), results)
        }
        switch configuration.whenFull {
        case .reject:
            return refuseAtSubmit(.queueFull(capacity: configuration.queueCapacity), results)
        case .wait(let maxNanos):
            guard waiters.count < configuration.queueCapacity else {
                return refuseAtSubmit(.queueFull(capacity: configuration.queueCapacity), results)
            }
            nextID += 1
            totals.accepted &+= 1
            let (giveUp, overflow) = now.addingReportingOverflow(maxNanos)
            waiters.append(Waiter(pending: pending, giveUpAtNanos: overflow ? .max : giveUp))
            return (.waiting(pending.id), results)
        }
    }

    private mutating func refuseAtSubmit(
        _ refusal: WorkerPoolRefusal, _ results: [WorkerTaskResult]
    ) -> (WorkerPoolSubmission, [WorkerTaskResult]) {
        totals.refusedAtSubmit &+= 1
        return (.refused(refusal), results)
    }

    // MARK: - Time

    /// Runs every event up to and including `nowNanos`, each at its own instant, and returns the results
    /// decided meanwhile. Time never moves back.
    public mutating func advance(toNanos target: UInt64) -> [WorkerTaskResult] {
        var results: [WorkerTaskResult] = []
        while let eventAt = nextEventNanos(), eventAt <= target {
            nowNanos = max(nowNanos, eventAt)
            runEvents(atNanos: nowNanos, into: &results)
        }
        nowNanos = max(nowNanos, target)
        return Self.ordered(results)
    }

    /// The earliest instant something will happen on its own (nil: nothing pending).
    public func nextEventNanos() -> UInt64? {
        var earliest: UInt64?
        func consider(_ time: UInt64) { earliest = min(earliest ?? time, time) }
        for slot in slots.compactMap({ $0 }) {
            if let report = slot.reportAtNanos { consider(report) }
            consider(slot.freeAtNanos)
        }
        for waiter in waiters { consider(waiter.giveUpAtNanos) }
        return earliest
    }

    /// At one instant: results due are reported, workers due are freed, then the queue moves up into
    /// free workers and waiting submitters into the queue — so a wait that ends exactly when room
    /// appears gets in.
    private mutating func runEvents(atNanos now: UInt64, into results: inout [WorkerTaskResult]) {
        for index in slots.indices {
            guard var slot = slots[index] else { continue }
            if let report = slot.reportAtNanos, report <= now {
                results.append(result(of: slot.pending, slot.outcomeAtReport, started: slot.startedAtNanos, at: report))
                slot.reportAtNanos = nil
            }
            slots[index] = slot.freeAtNanos <= now ? nil : slot
        }
        startQueued(atNanos: now, into: &results)
        var stillWaiting: [Waiter] = []
        for waiter in waiters {
            if waiter.giveUpAtNanos <= now {
                let waited = now - waiter.pending.submittedAtNanos
                results.append(result(of: waiter.pending, .refused(.waitedTooLong(waitedNanos: waited)), started: nil, at: now))
            } else {
                stillWaiting.append(waiter)
            }
        }
        waiters = stillWaiting
    }

    /// Fills free workers from the queue and the queue from waiting submitters (in arrival order), at `now`.
    private mutating func startQueued(atNanos now: UInt64, into results: inout [WorkerTaskResult]) {
        while true {
            while !waiters.isEmpty, queueDepth < configuration.queueCapacity {
                queue.append(waiters.removeFirst().pending)
            }
            guard queueHead < queue.count, let worker = freeWorker() else { break }
            let pending = queue[queueHead]
            queueHead += 1
            totals.started &+= 1
            if pending.job.announcesStart { startedTags.append(pending.job.tag) }
            var slot = start(pending, atNanos: now)
            if let report = slot.reportAtNanos, report <= now {
                results.append(result(of: pending, slot.outcomeAtReport, started: now, at: now))
                slot.reportAtNanos = nil
            }
            slots[worker] = slot.freeAtNanos <= now ? nil : slot
        }
        if queueHead > 0, queueHead == queue.count || queueHead * 2 > queue.count { compactQueue() }
    }

    private mutating func compactQueue() {
        queue.removeFirst(queueHead)
        queueHead = 0
    }

    private func freeWorker() -> Int? { slots.firstIndex { $0 == nil } }

    private func start(_ pending: Pending, atNanos now: UInt64) -> Slot {
        let job = pending.job
        let (deadline, deadlineOverflow) = now.addingReportingOverflow(configuration.taskTimeoutNanos)
        let (end, endOverflow) = now.addingReportingOverflow(job.durationNanos)
        let endsAt = endOverflow ? UInt64.max : end
        let timeoutAt = deadlineOverflow ? UInt64.max : deadline
        if endsAt <= timeoutAt {
            let outcome: WorkerTaskOutcome = job.failure.map { .failed($0) } ?? .completed
            return Slot(pending: pending, startedAtNanos: now, reportAtNanos: endsAt, outcomeAtReport: outcome, freeAtNanos: endsAt)
        }
        return Slot(pending: pending, startedAtNanos: now, reportAtNanos: timeoutAt, outcomeAtReport: .timedOut,
                    freeAtNanos: job.stopsWhenAsked ? timeoutAt : endsAt)
    }

    private mutating func result(
        of pending: Pending, _ outcome: WorkerTaskOutcome, started: UInt64?, at time: UInt64
    ) -> WorkerTaskResult {
        totals.count(outcome)
        return WorkerTaskResult(id: pending.id, tag: pending.job.tag, outcome: outcome,
                                submittedAtNanos: pending.submittedAtNanos, startedAtNanos: started, finishedAtNanos: time)
    }

    private var queueDepth: Int { queue.count - queueHead }

    private static func ordered(_ results: [WorkerTaskResult]) -> [WorkerTaskResult] {
        results.sorted { ($0.finishedAtNanos, $0.id) < ($1.finishedAtNanos, $1.id) }
    }

    // MARK: - Jobs that end from outside

    /// The tags of `announcesStart` jobs that got a worker since the last call, in start order: the
    /// caller starts the real work for each now.
    public mutating func takeStarted() -> [UInt64] {
        defer { startedTags.removeAll(keepingCapacity: true) }
        return startedTags
    }

    /// The running job tagged `tag` ended at `nowNanos` (after advancing to it): completed, or failed
    /// with `failure`. For work whose end is known only when it happens (a real call); the job's own
    /// `durationNanos` and `failure` are what happens if it never ends this way (typically its
    /// timeout). A job not running, or whose result was already reported (timed out, cancelled),
    /// is left alone: a late answer changes nothing.
    public mutating func finish(tag: UInt64, failure: String?, atNanos nowNanos: UInt64) -> [WorkerTaskResult] {
        var results = advance(toNanos: nowNanos)
        let now = self.nowNanos
        guard let worker = slots.firstIndex(where: { $0?.pending.job.tag == tag && $0?.reportAtNanos != nil }) else {
            return results
        }
        var slot = slots[worker]!
        slot.outcomeAtReport = failure.map { .failed($0) } ?? .completed
        slot.reportAtNanos = now
        slot.freeAtNanos = now
        slots[worker] = slot
        runEvents(atNanos: now, into: &results)
        return Self.ordered(results)
    }

    // MARK: - Cancelling and shutting down

    /// Cancels task `id` at `nowNanos` (after advancing to it): a queued or waiting task is removed, a
    /// running one is asked to stop (its worker frees now if it honours that). Returns the results
    /// decided, the cancellation last; an unknown or already-ended task yields no cancellation.
    public mutating func cancel(_ id: WorkerTaskID, atNanos nowNanos: UInt64) -> [WorkerTaskResult] {
        var results = advance(toNanos: nowNanos)
        let now = self.nowNanos
        if let position = queue[queueHead...].firstIndex(where: { $0.id == id }) {
            results.append(result(of: queue.remove(at: position), .cancelled, started: nil, at: now))
        } else if let position = waiters.firstIndex(where: { $0.pending.id == id }) {
            results.append(result(of: waiters.remove(at: position).pending, .cancelled, started: nil, at: now))
        } else if let worker = slots.firstIndex(where: { $0?.pending.id == id && $0?.reportAtNanos != nil }) {
            results.append(stopRunning(worker, outcome: .cancelled, atNanos: now))
        } else {
            return results
        }
        startQueued(atNanos: now, into: &results)
        return Self.ordered(results)
    }

    /// Reports a running task's outcome now and frees its worker if the job stops when asked.
    private mutating func stopRunning(_ worker: Int, outcome: WorkerTaskOutcome, atNanos now: UInt64) -> WorkerTaskResult {
        var slot = slots[worker]!
        let reported = result(of: slot.pending, outcome, started: slot.startedAtNanos, at: now)
        slot.reportAtNanos = nil
        if slot.pending.job.stopsWhenAsked { slot.freeAtNanos = now }
        slots[worker] = slot.freeAtNanos <= now ? nil : slot
        return reported
    }

    /// Stops accepting at `nowNanos`. Waiting submitters are refused either way; `.drain` lets the
    /// queue run, `.cancel` cancels the queue and every running task.
    public mutating func shutdown(_ mode: WorkerPoolShutdown, atNanos nowNanos: UInt64) -> [WorkerTaskResult] {
        var results = advance(toNanos: nowNanos)
        let now = self.nowNanos
        isShutDown = true
        for waiter in waiters { results.append(result(of: waiter.pending, .refused(.shuttingDown), started: nil, at: now)) }
        waiters.removeAll()
        if mode == .cancel {
            for pending in queue[queueHead...] { results.append(result(of: pending, .cancelled, started: nil, at: now)) }
            queue.removeAll()
            queueHead = 0
            for worker in slots.indices where slots[worker]?.reportAtNanos != nil {
                results.append(stopRunning(worker, outcome: .cancelled, atNanos: now))
            }
        }
        return Self.ordered(results)
    }

    // MARK: - Observing

    public var snapshot: WorkerPoolSnapshot {
        var snapshot = WorkerPoolSnapshot(workers: configuration.workers, queueCapacity: configuration.queueCapacity)
        for slot in slots.compactMap({ $0 }) {
            snapshot.busyWorkers += 1
            if slot.reportAtNanos == nil { snapshot.zombieWorkers += 1 }
        }
        snapshot.queueDepth = queueDepth
        snapshot.waitingSubmitters = waiters.count
        snapshot.isShutDown = isShutDown
        snapshot.isTerminated = isShutDown && snapshot.busyWorkers == 0 && queueDepth == 0
        snapshot.totals = totals
        return snapshot
    }
}

/// A job for `VirtualWorkerPool`: how long it would run and how it would end, decided by the caller
/// (from a seed, in simulation).
public struct VirtualJob: Sendable, Equatable {
    /// The caller's label, echoed in the result.
    public var tag: UInt64
    public var durationNanos: UInt64
    /// `nil`: the job completes; otherwise it fails with this message.
    public var failure: String?
    /// Whether the job stops at once when asked (timeout, cancel), freeing its worker; otherwise it runs
    /// its whole `durationNanos`.
    public var stopsWhenAsked: Bool
    /// The pool lists the job's tag in `takeStarted()` when it gets a worker: real work starts then
    /// and may end sooner than `durationNanos` through `finish(tag:failure:atNanos:)`.
    public var announcesStart: Bool

    public init(tag: UInt64, durationNanos: UInt64, failure: String? = nil, stopsWhenAsked: Bool = true,
                announcesStart: Bool = false) {
        self.tag = tag
        self.durationNanos = durationNanos
        self.failure = failure
        self.stopsWhenAsked = stopsWhenAsked
        self.announcesStart = announcesStart
    }
}

/// The answer to a submission.
public enum WorkerPoolSubmission: Sendable, Equatable {
    /// Queued (or started at once).
    case accepted(WorkerTaskID)
    /// The queue was full and back-pressure is `.wait`: the submitter waits; the task enters the queue
    /// when room appears or is refused (`waitedTooLong`) when the wait runs out. The threaded pool
    /// blocks the submitting thread instead and never answers this.
    case waiting(WorkerTaskID)
    case refused(WorkerPoolRefusal)
}
