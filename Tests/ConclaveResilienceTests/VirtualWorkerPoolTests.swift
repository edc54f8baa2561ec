import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct VirtualWorkerPoolTests {
    static let ms: UInt64 = 1_000_000

    static func pool(workers: Int = 2, capacity: Int = 2, timeoutMillis: UInt64 = 100,
                     whenFull: WorkerPoolBackPressure = .reject) throws -> VirtualWorkerPool {
        VirtualWorkerPool(configuration: try WorkerPoolConfiguration(
            workers: workers, queueCapacity: capacity, taskTimeoutNanos: timeoutMillis * ms, whenFull: whenFull))
    }

    /// Submits and keeps whatever results the submission's advance produced.
    static func submit(_ pool: inout VirtualWorkerPool, _ job: VirtualJob, atMillis: UInt64,
                       into results: inout [WorkerTaskResult]) -> WorkerPoolSubmission {
        let (answer, produced) = pool.submit(job, atNanos: atMillis * ms)
        results += produced
        return answer
    }

    @Test("a queued job starts the instant a worker frees, not when the caller next advances")
    func startsAtTheFreeingInstant() throws {
        var pool = try Self.pool(workers: 1, capacity: 2)
        var results: [WorkerTaskResult] = []
        #expect(Self.submit(&pool, VirtualJob(tag: 1, durationNanos: 30 * Self.ms), atMillis: 0, into: &results) == .accepted(1))
        #expect(Self.submit(&pool, VirtualJob(tag: 2, durationNanos: 20 * Self.ms), atMillis: 5, into: &results) == .accepted(2))
        #expect(pool.snapshot.busyWorkers == 1)
        #expect(pool.snapshot.queueDepth == 1)
        results += pool.advance(toNanos: 500 * Self.ms)
        #expect(results.map(\.tag) == [1, 2])
        #expect(results.map(\.outcome) == [.completed, .completed])
        #expect(results[1].startedAtNanos == 30 * Self.ms)
        #expect(results[1].finishedAtNanos == 50 * Self.ms)
        #expect(results[1].submittedAtNanos == 5 * Self.ms)
        #expect(pool.snapshot.busyWorkers == 0)
    }

    @Test("a full queue refuses at once under .reject, and the refusal says the capacity")
    func rejectsWhenFull() throws {
        var pool = try Self.pool(workers: 1, capacity: 1)
        var results: [WorkerTaskResult] = []
        let long = VirtualJob(tag: 0, durationNanos: 50 * Self.ms)
        #expect(Self.submit(&pool, long, atMillis: 0, into: &results) == .accepted(1))
        #expect(Self.submit(&pool, long, atMillis: 0, into: &results) == .accepted(2))
        #expect(Self.submit(&pool, long, atMillis: 0, into: &results) == .refused(.queueFull(capacity: 1)))
        #expect(pool.snapshot.totals.refusedAtSubmit == 1)
        #expect(pool.snapshot.totals.accepted == 2)
        // Room again once the first job ends.
        #expect(Self.submit(&pool, long, atMillis: 50, into: &results) == .accepted(3))
        #expect(results.map(\.id) == [1])
    }

    @Test("a job past its timeout is reported timed out at the deadline; one that stops frees its worker then")
    func timeoutFreesACooperativeWorker() throws {
        var pool = try Self.pool(workers: 1, capacity: 4, timeoutMillis: 100)
        var results: [WorkerTaskResult] = []
        _ = Self.submit(&pool, VirtualJob(tag: 1, durationNanos: 10_000 * Self.ms), atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 2, durationNanos: 10 * Self.ms), atMillis: 0, into: &results)
        results += pool.advance(toNanos: 1_000 * Self.ms)
        #expect(results.map(\.outcome) == [.timedOut, .completed])
        #expect(results[0].finishedAtNanos == 100 * Self.ms)
        #expect(results[1].startedAtNanos == 100 * Self.ms)
        #expect(pool.snapshot.totals.timedOut == 1)
    }

    @Test("a job that ignores the stop request keeps its worker (a zombie) until its own end")
    func uncooperativeJobIsAZombie() throws {
        var pool = try Self.pool(workers: 1, capacity: 4, timeoutMillis: 100)
        var results: [WorkerTaskResult] = []
        _ = Self.submit(&pool, VirtualJob(tag: 1, durationNanos: 300 * Self.ms, stopsWhenAsked: false), atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 2, durationNanos: 10 * Self.ms), atMillis: 0, into: &results)
        results += pool.advance(toNanos: 150 * Self.ms)
        #expect(results.map(\.outcome) == [.timedOut])
        #expect(pool.snapshot.zombieWorkers == 1)
        #expect(pool.snapshot.queueDepth == 1)
        results += pool.advance(toNanos: 1_000 * Self.ms)
        #expect(results.map(\.tag) == [1, 2])
        #expect(results[1].startedAtNanos == 300 * Self.ms)
        #expect(pool.snapshot.zombieWorkers == 0)
    }

    @Test("a failing job's message is reported, never swallowed")
    func failuresAreReported() throws {
        var pool = try Self.pool()
        var results: [WorkerTaskResult] = []
        _ = Self.submit(&pool, VirtualJob(tag: 7, durationNanos: 5 * Self.ms, failure: "callback returned 503"), atMillis: 0, into: &results)
        results += pool.advance(toNanos: 5 * Self.ms)
        #expect(results.map(\.outcome) == [.failed("callback returned 503")])
        #expect(pool.snapshot.totals.failed == 1)
    }

    @Test("cancel removes a queued job and stops a running one, each reported once")
    func cancelQueuedAndRunning() throws {
        var pool = try Self.pool(workers: 1, capacity: 4)
        var results: [WorkerTaskResult] = []
        _ = Self.submit(&pool, VirtualJob(tag: 1, durationNanos: 50 * Self.ms), atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 2, durationNanos: 50 * Self.ms), atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 3, durationNanos: 50 * Self.ms), atMillis: 0, into: &results)
        results += pool.cancel(2, atNanos: 10 * Self.ms)
        #expect(results.map(\.tag) == [2])
        #expect(results[0].startedAtNanos == nil)
        results += pool.cancel(1, atNanos: 20 * Self.ms)
        #expect(results.map(\.tag) == [2, 1])
        #expect(results[1].outcome == .cancelled)
        #expect(pool.cancel(1, atNanos: 21 * Self.ms).isEmpty, "a second cancel reports nothing")
        results += pool.advance(toNanos: 1_000 * Self.ms)
        #expect(results.map(\.tag) == [2, 1, 3])
        #expect(results[2].startedAtNanos == 20 * Self.ms, "the cancelled job's worker went to the next job at once")
    }

    @Test("cancelling a job that ignores the request reports it at once but leaves its worker busy until its end")
    func cancelUncooperative() throws {
        var pool = try Self.pool(workers: 1, capacity: 4, timeoutMillis: 1_000)
        var results: [WorkerTaskResult] = []
        _ = Self.submit(&pool, VirtualJob(tag: 1, durationNanos: 80 * Self.ms, stopsWhenAsked: false), atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 2, durationNanos: 10 * Self.ms), atMillis: 0, into: &results)
        results += pool.cancel(1, atNanos: 10 * Self.ms)
        #expect(results.map(\.outcome) == [.cancelled])
        #expect(pool.snapshot.zombieWorkers == 1)
        results += pool.advance(toNanos: 1_000 * Self.ms)
        #expect(results.first { $0.tag == 2 }?.startedAtNanos == 80 * Self.ms)
    }

    @Test("under .wait a submitter waits for room and gets in when it appears, or is refused when its wait ends")
    func waitBackPressure() throws {
        var pool = try Self.pool(workers: 1, capacity: 1, whenFull: .wait(maxNanos: 40 * Self.ms))
        var results: [WorkerTaskResult] = []
        let job = VirtualJob(tag: 0, durationNanos: 30 * Self.ms)
        _ = Self.submit(&pool, job, atMillis: 0, into: &results)
        _ = Self.submit(&pool, VirtualJob(tag: 0, durationNanos: 100 * Self.ms), atMillis: 0, into: &results)
        #expect(Self.submit(&pool, job, atMillis: 0, into: &results) == .waiting(3))
        #expect(Self.submit(&pool, job, atMillis: 20, into: &results) == .refused(.queueFull(capacity: 1)),
                "at most queueCapacity submitters wait")
        #expect(pool.snapshot.waitingSubmitters == 1)
        results += pool.advance(toNanos: 30 * Self.ms)
        #expect(pool.snapshot.waitingSubmitters == 0, "job 1 ended at 30 ms, job 2 started, job 3 entered the queue")
        #expect(Self.submit(&pool, job, atMillis: 31, into: &results) == .waiting(4))
        results += pool.advance(toNanos: 1_000 * Self.ms)
        let refused = results.filter { $0.id == 4 }
        #expect(refused.map(\.outcome) == [.refused(.waitedTooLong(waitedNanos: 40 * Self.ms))])
        #expect(results.first { $0.id == 3 }?.startedAtNanos == 130 * Self.ms)
    }

    @Test("shutdown(.drain) runs the queue and refuses new work; shutdown(.cancel) cancels everything")
    func shutdownModes() throws {
        for mode in [WorkerPoolShutdown.drain, .cancel] {
            var pool = try Self.pool(workers: 1, capacity: 4)
            var results: [WorkerTaskResult] = []
            for tag in 1...3 { _ = Self.submit(&pool, VirtualJob(tag: UInt64(tag), durationNanos: 10 * Self.ms), atMillis: 0, into: &results) }
            results += pool.shutdown(mode, atNanos: 5 * Self.ms)
            #expect(Self.submit(&pool, VirtualJob(tag: 9, durationNanos: 1), atMillis: 6, into: &results) == .refused(.shuttingDown))
            results += pool.advance(toNanos: 1_000 * Self.ms)
            let expected: [WorkerTaskOutcome] = mode == .drain ? [.completed, .completed, .completed] : [.cancelled, .cancelled, .cancelled]
            #expect(results.sorted { $0.tag < $1.tag }.map(\.outcome) == expected, "\(mode)")
            #expect(pool.snapshot.isTerminated)
        }
    }

    @Test("random traffic: every accepted task is reported exactly once, in FIFO start order, within the bounds",
          arguments: [1, 2, 3, 4] as [UInt64])
    func everyTaskReportedOnce(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var pool = try Self.pool(workers: 3, capacity: 5, timeoutMillis: 40,
                                 whenFull: seed % 2 == 0 ? .reject : .wait(maxNanos: 25 * Self.ms))
        var results: [WorkerTaskResult] = []
        var accepted: [WorkerTaskID] = []
        var now: UInt64 = 0
        for step in 0..<2_000 {
            now += random.next(upperBound: 8) * Self.ms
            let roll = random.next(upperBound: 10 as UInt64)
            if roll < 6 {
                let job = VirtualJob(tag: UInt64(step), durationNanos: random.next(upperBound: 60) * Self.ms,
                                     failure: roll == 0 ? "boom" : nil, stopsWhenAsked: roll != 1)
                switch Self.submit(&pool, job, atMillis: now / Self.ms, into: &results) {
                case .accepted(let id), .waiting(let id): accepted.append(id)
                case .refused: break
                }
            } else if roll < 7, let victim = accepted.randomElement(using: &random) {
                results += pool.cancel(victim, atNanos: now)
            } else {
                results += pool.advance(toNanos: now)
            }
            let snapshot = pool.snapshot
            #expect(snapshot.busyWorkers <= 3 && snapshot.queueDepth <= 5 && snapshot.waitingSubmitters <= 5)
        }
        results += pool.shutdown(.drain, atNanos: now)
        results += pool.advance(toNanos: now + 10_000 * Self.ms)
        #expect(results.map(\.id).sorted() == accepted.sorted(), "every accepted task once, no other")
        let starts = results.filter { $0.startedAtNanos != nil }.sorted { $0.id < $1.id }
        for (earlier, later) in zip(starts, starts.dropFirst()) {
            #expect(earlier.startedAtNanos! <= later.startedAtNanos!, "FIFO: task \(later.id) started before \(earlier.id)")
        }
        for result in results {
            #expect(result.finishedAtNanos >= (result.startedAtNanos ?? result.submittedAtNanos))
            if let started = result.startedAtNanos { #expect(result.finishedAtNanos - started <= 40 * Self.ms) }
        }
        #expect(pool.snapshot.isTerminated)
    }

    @Test("a job whose end comes from outside: announced when it gets a worker, ended by finish, its queue moves up at once")
    func jobsFinishedFromOutside() throws {
        var pool = try Self.pool(workers: 1, capacity: 2, timeoutMillis: 1_000)
        var results: [WorkerTaskResult] = []
        let open = { (tag: UInt64) in VirtualJob(tag: tag, durationNanos: 100 * Self.ms, failure: "timed out", announcesStart: true) }
        _ = Self.submit(&pool, open(1), atMillis: 0, into: &results)
        _ = Self.submit(&pool, open(2), atMillis: 0, into: &results)
        #expect(pool.takeStarted() == [1], "only the job with a worker starts")
        #expect(pool.takeStarted() == [], "each start is handed out once")
        results += pool.finish(tag: 2, failure: nil, atNanos: 5 * Self.ms)
        #expect(results.isEmpty, "a queued job cannot finish")
        results += pool.finish(tag: 1, failure: "HTTP 503", atNanos: 10 * Self.ms)
        #expect(results.map(\.tag) == [1])
        #expect(results.first?.outcome == .failed("HTTP 503"))
        #expect(results.first?.finishedAtNanos == 10 * Self.ms)
        #expect(pool.takeStarted() == [2], "the queued job got the worker at the finishing instant")
        // Never finished: it ends as its job says, at its duration.
        results += pool.advance(toNanos: 500 * Self.ms)
        #expect(results.map(\.tag) == [1, 2])
        #expect(results.last?.outcome == .failed("timed out"))
        #expect(results.last?.finishedAtNanos == 110 * Self.ms)
        // A late answer changes nothing.
        #expect(pool.finish(tag: 2, failure: nil, atNanos: 600 * Self.ms).isEmpty)
        #expect(pool.snapshot.totals.completed == 0)
        #expect(pool.snapshot.busyWorkers == 0)
    }

    @Test("bad configurations are refused with the field named")
    func badConfiguration() {
        #expect(throws: ResilienceConfigurationError(parameter: "workers", value: "0", accepted: "an integer from 1 to 1024")) {
            try WorkerPoolConfiguration(workers: 0, queueCapacity: 1, taskTimeoutNanos: 1)
        }
        #expect(throws: ResilienceConfigurationError(parameter: "queueCapacity", value: "0", accepted: "an integer from 1 to 1048576")) {
            try WorkerPoolConfiguration(workers: 1, queueCapacity: 0, taskTimeoutNanos: 1)
        }
        #expect(throws: ResilienceConfigurationError(parameter: "taskTimeoutNanos", value: "0", accepted: "a value of at least 1")) {
            try WorkerPoolConfiguration(workers: 1, queueCapacity: 1, taskTimeoutNanos: 0)
        }
        #expect(throws: ResilienceConfigurationError(parameter: "whenFull.wait.maxNanos", value: "0", accepted: "a value of at least 1")) {
            try WorkerPoolConfiguration(workers: 1, queueCapacity: 1, taskTimeoutNanos: 1, whenFull: .wait(maxNanos: 0))
        }
    }
}
