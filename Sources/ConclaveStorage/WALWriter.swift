import Dispatch
import Foundation

/// Group commit over a `WriteAheadLog`: any thread submits records; whoever owns the log takes
/// everything queued, writes it with one pwrite and makes it durable with one fdatasync, then
/// reports to every submitter. Whatever arrives while a sync is in progress waits for the next one
/// and shares it, so the cost of a sync is spread over as many records as arrived meanwhile.
///
/// The log is owned by one thread at a time: the writer thread, which serves the queue, or — when
/// nothing is queued and no sync is running — a thread calling the waiting `append(_:)`, which then
/// writes and syncs its records itself (the direct path). A lone writer thus pays no thread
/// hand-off per sync (two wake-ups, which cost milliseconds on a loaded machine); concurrent ones
/// queue behind it and share the next sync.
///
/// Contract:
/// - Every submission's completion is called exactly once, in submission order: `nil` once its
///   records are durable, or the error. Completions run on whichever thread owns the log; they
///   must be quick and must not submit and wait (that thread would wait for itself).
/// - The queue is bounded (`WALOptions.queuedJobsMax` submissions): a submitter blocks while it is
///   full — back-pressure instead of unbounded memory.
/// - A failed write or sync stops the WAL: that batch and every later submission fail, with the
///   first error carried in `.stopped(cause)`. A failed sync is never retried.
/// - `close()` completes what was queued, stops the thread and closes the log.
public final class WALWriter: @unchecked Sendable {
    public typealias Completion = @Sendable (DurableStorageError?) -> Void

    private enum Job {
        /// Records to append; with `sync` false they complete once written to the file (and after
        /// every earlier job's sync), and become durable with the next sync.
        case records([WALRecord], sync: Bool, Completion)
        /// Work on the log itself (cut, delete segments), run in order with the records.
        case operation((WriteAheadLog) throws(DurableStorageError) -> Void, Completion)
    }

    private let log: WriteAheadLog
    private let queuedJobsMax: Int
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    /// A thread (the writer, or a direct appender) owns the log right now.
    private var flushing = false
    private var closing = false
    /// The writer thread is in its loop (set once; `init` waits for it).
    private var started = false
    private var finished = false
    private var stoppedBy: DurableStorageError?
    /// Every sync made, timed (its count is the sync count).
    private var syncDurations = DurationBuckets()

    /// Starts the writer thread and returns once it waits for work, so a thread that starts late
    /// never takes jobs queued for `writeQueuedHere()` (the caller's sync would be split in two).
    public init(log: WriteAheadLog) {
        self.log = log
        self.queuedJobsMax = log.options.queuedJobsMax
        let thread = Thread { [self] in run() }
        thread.name = "conclave-wal-writer"
        thread.start()
        condition.lock()
        while !started { condition.wait() }
        condition.unlock()
    }

    /// The fatal error that stopped the WAL, if any.
    public var failure: DurableStorageError? {
        condition.lock()
        defer { condition.unlock() }
        return stoppedBy
    }

    /// How many group syncs the writer has made (each fdatasync covering one or more submissions).
    public var syncCount: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return syncDurations.count
    }

    /// How long the writer's syncs took (each fdatasync, whichever thread made it).
    public var syncLatency: DurationBuckets {
        condition.lock()
        defer { condition.unlock() }
        return syncDurations
    }

    /// Queues `records` (written in order, after everything queued before); `completion` is called
    /// once they are durable or have failed. A record over the size limit fails the submission at
    /// once, before anything of it is queued.
    public func append(_ records: [WALRecord], completion: @escaping Completion) {
        for record in records where record.payloadBytes > log.options.recordBytesMax {
            completion(.recordTooLarge(bytes: record.payloadBytes, limit: log.options.recordBytesMax))
            return
        }
        submit(.records(records, sync: true, completion))
    }

    /// Queues `records` like `append(_:completion:)` but leaves the writer thread asleep: the
    /// caller promises to call `writeQueuedHere()` soon (the same event-loop turn, once it has sent
    /// what should overlap the sync). That call writes and syncs on the caller's thread when the log
    /// is free — no wake-up of the writer and no hop back — and hands the queue to the writer
    /// otherwise.
    public func appendQueued(_ records: [WALRecord], completion: @escaping Completion) {
        for record in records where record.payloadBytes > log.options.recordBytesMax {
            completion(.recordTooLarge(bytes: record.payloadBytes, limit: log.options.recordBytesMax))
            return
        }
        submit(.records(records, sync: true, completion), wake: false)
    }

    /// Writes and syncs everything queued on this thread if the log is free; otherwise wakes the
    /// writer (whoever holds the log hands the queue on when it is done).
    public func writeQueuedHere() {
        condition.lock()
        guard !queue.isEmpty else { return condition.unlock() }
        guard !flushing, !closing, stoppedBy == nil else {
            condition.broadcast()
            return condition.unlock()
        }
        flushing = true
        let batch = queue
        queue.removeAll(keepingCapacity: true)
        if batch.count >= queuedJobsMax { condition.broadcast() }  // submitters blocked on a full queue
        condition.unlock()
        process(batch)
        condition.lock()
        finishFlush()
        condition.unlock()
    }

    /// Appends `records` without a sync of their own: they are written to the file in order with
    /// everything else (a crash of the process keeps them) and become durable with the next sync — etcd's rule for a hard state whose only change is the commit index, which a
    /// node relearns from its leader if a power loss drops it. `completion` reports the write (nil
    /// once written). Written on the calling thread when the log is free (a pwrite, no hand-off);
    /// queued behind the others otherwise.
    public func appendWithoutSync(_ records: [WALRecord], completion: @escaping Completion) {
        for record in records where record.payloadBytes > log.options.recordBytesMax {
            completion(.recordTooLarge(bytes: record.payloadBytes, limit: log.options.recordBytesMax))
            return
        }
        let job = Job.records(records, sync: false, completion)
        if !runIfFree(job) { submit(job) }
    }

    /// Appends `records` and waits until they are durable; on the calling thread when nothing else
    /// is queued or syncing.
    public func append(_ records: [WALRecord]) throws(DurableStorageError) {
        for record in records where record.payloadBytes > log.options.recordBytesMax {
            throw .recordTooLarge(bytes: record.payloadBytes, limit: log.options.recordBytesMax)
        }
        if let error = submitAndWait({ .records(records, sync: true, $0) }) { throw error }
    }

    /// Appends `records` and suspends until they are durable. (The calling thread may block briefly
    /// if the queue is full.)
    public func append(_ records: [WALRecord]) async throws(DurableStorageError) {
        let error = await withCheckedContinuation { (continuation: CheckedContinuation<DurableStorageError?, Never>) in
            append(records) { continuation.resume(returning: $0) }
        }
        if let error { throw error }
    }

    /// Runs `operation` on the log after everything queued before it is durable, and waits.
    func perform(_ operation: @escaping (WriteAheadLog) throws(DurableStorageError) -> Void) throws(DurableStorageError) {
        if let error = submitAndWait({ .operation(operation, $0) }) { throw error }
    }

    /// Completes everything queued, stops the writer thread and closes the log. Later submissions
    /// fail with `.closed`.
    public func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Runs `job` on this thread if the log is free and nothing is queued (no hand-off, no wake-up);
    /// otherwise queues it and waits for its completion.
    private func submitAndWait(_ job: (@escaping Completion) -> Job) -> DurableStorageError? {
        let outcome = Outcome()
        if runIfFree(job({ outcome.error = $0 })) { return outcome.error }
        let waiter = Waiter()
        submit(job { error in
            waiter.error = error
            waiter.done.signal()
        })
        waiter.done.wait()
        return waiter.error
    }

    /// Runs `job` on this thread and returns true if the log is free and nothing is queued;
    /// false (nothing done) otherwise.
    private func runIfFree(_ job: Job) -> Bool {
        condition.lock()
        guard !flushing, queue.isEmpty, !closing, stoppedBy == nil else {
            condition.unlock()
            return false
        }
        flushing = true
        condition.unlock()
        process([job])
        condition.lock()
        finishFlush()
        condition.unlock()
        return true
    }

    /// A completion's result, set on one thread and read after a hand-over (the semaphore, or
    /// the same thread).
    private class Outcome: @unchecked Sendable {
        var error: DurableStorageError?
    }

    private final class Waiter: Outcome, @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
    }

    private func submit(_ job: Job, wake: Bool = true) {
        condition.lock()
        while queue.count >= queuedJobsMax, !closing {
            condition.broadcast()  // a full queue is the writer's to empty, queued quietly or not
            condition.wait()
        }
        if closing || stoppedBy != nil {
            let error: DurableStorageError = closing ? .closed : .stopped(stoppedBy!)
            condition.unlock()
            complete(job, error)
            return
        }
        queue.append(job)
        if wake { condition.broadcast() }
        condition.unlock()
    }

    /// After a flush (caller holds the lock): frees the log. Wakes the writer thread only if it has
    /// something to do: a direct append on an idle writer costs no context switch.
    private func finishFlush() {
        flushing = false
        if !queue.isEmpty || closing { condition.broadcast() }
    }

    // MARK: - The writer thread

    private func run() {
        var batch: [Job] = []
        condition.lock()
        started = true
        condition.broadcast()
        while true {
            while queue.isEmpty ? !closing || flushing : flushing { condition.wait() }
            if queue.isEmpty { break }
            flushing = true
            swap(&batch, &queue)
            condition.broadcast()
            condition.unlock()
            process(batch)
            batch.removeAll(keepingCapacity: true)
            condition.lock()
            finishFlush()
        }
        log.close()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Appends the batch's records, syncing once before each operation and once at the end, and
    /// completes every job.
    private func process(_ batch: [Job]) {
        var waiting: [Completion] = []
        func syncWaiting() {
            guard !waiting.isEmpty else { return }
            let started = DispatchTime.now().uptimeNanoseconds
            let error = attempt { () throws(DurableStorageError) in try log.sync() }
            if error == nil {
                let took = DispatchTime.now().uptimeNanoseconds - started
                // Counted before anyone hears of it, so a submitter that saw its completion sees the sync.
                condition.lock()
                syncDurations.record(nanos: took)
                condition.unlock()
            }
            for completion in waiting { completion(error) }
            waiting.removeAll()
        }
        for job in batch {
            switch job {
            case .records(let records, let sync, let completion):
                if let error = attempt({ () throws(DurableStorageError) in for record in records { try log.append(record) } }) {
                    completion(error)
                } else if sync || !waiting.isEmpty {
                    waiting.append(completion)  // in order: after the earlier jobs' sync
                } else {
                    completion(attempt { () throws(DurableStorageError) in try log.write() })
                }
            case .operation(let operation, let completion):
                syncWaiting()
                completion(attempt { () throws(DurableStorageError) in try operation(log) })
            }
        }
        syncWaiting()
    }

    /// Runs `body` on the log; on failure, records a fatal error before any submitter hears of it.
    private func attempt(_ body: () throws(DurableStorageError) -> Void) -> DurableStorageError? {
        do throws(DurableStorageError) {
            try body()
            return nil
        } catch {
            condition.lock()
            if stoppedBy == nil, let failure = log.failure { stoppedBy = failure }
            condition.unlock()
            return error
        }
    }

    private func complete(_ job: Job, _ error: DurableStorageError) {
        switch job {
        case .records(_, _, let completion), .operation(_, let completion): completion(error)
        }
    }
}
