import ConclaveResilience
import Dispatch
import Foundation
import Testing
@testable import ConclaveCluster

/// The threaded pool. No test sleeps to wait for something: tasks block on semaphores the test opens,
/// and the test waits on results and snapshots through conditions, with generous bounds (10 s) that
/// only a broken pool reaches.
@Suite struct WorkerPoolTests {
    static let bound: UInt64 = 10_000_000_000

    /// Results as the pool reports them, and a way to wait for the n-th.
    final class Collector: @unchecked Sendable {
        private let condition = NSCondition()
        private var stored: [WorkerTaskResult] = []

        func add(_ result: WorkerTaskResult) {
            condition.lock()
            stored.append(result)
            condition.broadcast()
            condition.unlock()
        }

        /// The first `count` results, or nil if they did not all come within the bound.
        func wait(for count: Int) -> [WorkerTaskResult]? {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Date(timeIntervalSinceNow: Double(WorkerPoolTests.bound) / 1e9)
            while stored.count < count { if !condition.wait(until: deadline) { break } }
            return stored.count >= count ? Array(stored.prefix(count)) : nil
        }

        var all: [WorkerTaskResult] {
            condition.lock()
            defer { condition.unlock() }
            return stored
        }
    }

    /// A task that tells the test it started, then blocks until the test opens the gate.
    struct Gate: Sendable {
        let started = DispatchSemaphore(value: 0)
        let open = DispatchSemaphore(value: 0)

        var work: WorkerPool.Work {
            { [started, open] _ in
                started.signal()
                _ = open.wait(timeout: .now() + .seconds(10))
            }
        }

        func waitStarted() -> Bool { started.wait(timeout: .now() + .seconds(10)) == .success }
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String { "backend said no" }
    }

    static func pool(workers: Int = 1, capacity: Int = 4, timeoutNanos: UInt64 = bound * 3,
                     whenFull: WorkerPoolBackPressure = .reject, into collector: Collector) throws -> WorkerPool {
        WorkerPool(configuration: try WorkerPoolConfiguration(workers: workers, queueCapacity: capacity,
                                                              taskTimeoutNanos: timeoutNanos, whenFull: whenFull),
                   onResult: { collector.add($0) })
    }

    @Test("tasks complete or fail, and a failure's error reaches the result")
    func completesAndFails() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 2, into: collector)
        #expect(pool.submit(tag: 1) { _ in } == .accepted(1))
        #expect(pool.submit(tag: 2) { _ in throw Refusal() } == .accepted(2))
        let results = try #require(collector.wait(for: 2))
        #expect(Dictionary(uniqueKeysWithValues: results.map { ($0.tag, $0.outcome) }) == [1: .completed, 2: .failed("backend said no")])
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
    }

    @Test("no more than `workers` tasks run at once; the rest wait in the queue")
    func boundedConcurrency() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 2, into: collector)
        let gates = [Gate(), Gate(), Gate()]
        for gate in gates { pool.submit(gate.work) }
        #expect(gates[0].waitStarted() && gates[1].waitStarted())
        #expect(pool.waitForSnapshot(timeoutNanos: Self.bound) { $0.busyWorkers == 2 && $0.queueDepth == 1 })
        #expect(gates[2].started.wait(timeout: .now()) == .timedOut, "the third task must not have started")
        for gate in gates { gate.open.signal() }
        #expect(collector.wait(for: 3)?.allSatisfy { $0.outcome == .completed } == true)
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
    }

    @Test("a full queue refuses at once under .reject")
    func rejectsWhenFull() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 1, capacity: 1, into: collector)
        let gate = Gate()
        pool.submit(gate.work)
        #expect(gate.waitStarted())
        #expect(pool.submit { _ in } == .accepted(2))
        #expect(pool.submit { _ in } == .refused(.queueFull(capacity: 1)))
        #expect(pool.snapshot.totals.refusedAtSubmit == 1)
        gate.open.signal()
        #expect(collector.wait(for: 2) != nil)
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
    }

    @Test("under .wait a submitter blocks until room appears; with no room it is refused when its wait ends")
    func waitBackPressure() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 1, capacity: 1, whenFull: .wait(maxNanos: Self.bound), into: collector)
        let gate = Gate()
        pool.submit(gate.work)
        #expect(gate.waitStarted())
        pool.submit { _ in }
        let answered = DispatchSemaphore(value: 0)
        let answer = Collector()
        Thread {
            if case .accepted(let id) = pool.submit(tag: 9, { _ in }) {
                answer.add(WorkerTaskResult(id: id, tag: 9, outcome: .completed, submittedAtNanos: 0, startedAtNanos: nil, finishedAtNanos: 0))
            }
            answered.signal()
        }.start()
        #expect(pool.waitForSnapshot(timeoutNanos: Self.bound) { $0.waitingSubmitters == 1 })
        gate.open.signal()
        #expect(answered.wait(timeout: .now() + .seconds(10)) == .success)
        #expect(answer.all.map(\.id) == [3])
        #expect(collector.wait(for: 3) != nil)
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))

        let shortWait = try Self.pool(workers: 1, capacity: 1, whenFull: .wait(maxNanos: 20_000_000), into: Collector())
        let blocker = Gate()
        shortWait.submit(blocker.work)
        #expect(blocker.waitStarted())
        shortWait.submit { _ in }
        guard case .refused(.waitedTooLong(let waited)) = shortWait.submit({ _ in }) else {
            Issue.record("a submitter facing a full queue for its whole wait must be refused"); return
        }
        #expect(waited >= 20_000_000)
        blocker.open.signal()
        #expect(shortWait.shutdown(.drain, waitNanos: Self.bound))
    }

    @Test("a task past its timeout is reported timed out at once; it keeps its worker until it returns")
    func timeout() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 1, timeoutNanos: 30_000_000, into: collector)
        let gate = Gate()
        let sawCancellation = Collector()
        pool.submit(tag: 5) { context in
            try gate.work(context)
            if context.isCancelled {
                sawCancellation.add(WorkerTaskResult(id: 0, tag: 0, outcome: .cancelled, submittedAtNanos: 0, startedAtNanos: nil, finishedAtNanos: 0))
            }
        }
        let results = try #require(collector.wait(for: 1))
        #expect(results.map(\.outcome) == [.timedOut])
        #expect(results[0].finishedAtNanos - results[0].startedAtNanos! >= 30_000_000)
        #expect(pool.snapshot.zombieWorkers == 1)
        gate.open.signal()
        #expect(pool.waitForSnapshot(timeoutNanos: Self.bound) { $0.zombieWorkers == 0 && $0.busyWorkers == 0 })
        #expect(sawCancellation.all.count == 1, "the task was asked to stop")
        #expect(collector.all.count == 1, "the late return is not reported again")
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
    }

    @Test("cancel removes a queued task and stops a running one, each reported once")
    func cancel() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 1, into: collector)
        let gate = Gate()
        pool.submit(tag: 1, gate.work)
        #expect(gate.waitStarted())
        pool.submit(tag: 2) { _ in }
        #expect(pool.cancel(2))
        #expect(pool.cancel(1))
        #expect(!pool.cancel(1), "already ended")
        let results = try #require(collector.wait(for: 2))
        #expect(results.map(\.tag) == [2, 1])
        #expect(results.allSatisfy { $0.outcome == .cancelled })
        #expect(results[0].startedAtNanos == nil)
        gate.open.signal()
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
        #expect(collector.all.count == 2)
    }

    /// One worker held by a gated task, two more tasks queued behind it.
    static func busyPoolWithQueue() throws -> (WorkerPool, Collector, Gate) {
        let collector = Collector()
        let pool = try Self.pool(workers: 1, into: collector)
        let gate = Gate()
        pool.submit(gate.work)
        #expect(gate.waitStarted())
        pool.submit { _ in }
        pool.submit { _ in }
        return (pool, collector, gate)
    }

    @Test("shutdown(.drain) runs what is queued and refuses new work")
    func shutdownDrains() throws {
        let (pool, collector, gate) = try Self.busyPoolWithQueue()
        #expect(!pool.shutdown(.drain, waitNanos: 0), "a task is still running")
        #expect(pool.submit { _ in } == .refused(.shuttingDown))
        gate.open.signal()
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
        #expect(collector.all.map(\.outcome) == [.completed, .completed, .completed])
        #expect(pool.snapshot.isTerminated)
    }

    @Test("shutdown(.cancel) cancels the queue and the running task")
    func shutdownCancels() throws {
        let (pool, collector, gate) = try Self.busyPoolWithQueue()
        #expect(!pool.shutdown(.cancel, waitNanos: 0))
        #expect(collector.all.map(\.outcome) == [.cancelled, .cancelled, .cancelled])
        gate.open.signal()
        #expect(pool.waitForSnapshot(timeoutNanos: Self.bound) { $0.isTerminated })
        #expect(collector.all.count == 3)
    }

    @Test("under concurrent cancels every accepted task is reported exactly once")
    func exactlyOnceUnderRaces() throws {
        let collector = Collector()
        let pool = try Self.pool(workers: 4, capacity: 64, whenFull: .wait(maxNanos: Self.bound), into: collector)
        var accepted: [WorkerTaskID] = []
        for number in 0..<400 {
            guard case .accepted(let id) = pool.submit(tag: UInt64(number), { _ in
                if number % 7 == 0 { throw Refusal() }
            }) else { continue }
            accepted.append(id)
            if number % 3 == 0 { pool.cancel(id &- 2) }
        }
        #expect(accepted.count == 400)
        #expect(pool.shutdown(.drain, waitNanos: Self.bound))
        #expect(collector.all.map(\.id).sorted() == accepted)
        let totals = pool.snapshot.totals
        #expect(totals.completed + totals.failed + totals.cancelled + totals.timedOut == 400)
    }
}
