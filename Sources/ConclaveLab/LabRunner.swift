import Dispatch
import Histogram
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Runs one lab configuration: N real threads (or N tasks for the async lock) take the lock, do
/// their critical section on a shared counter, release, think, and go again until the duration
/// is up. The runner lets them all go at once, waits for every one to finish (threads are joined,
/// tasks awaited) and returns what they measured.
public enum LabRunner {
    /// Precondition: `configuration` is in range (`validated()`): the thread count bounds what a
    /// run may start.
    public static func run(_ configuration: LabConfiguration) -> LabResult {
        precondition((try? configuration.validated()) != nil, "lab configuration out of range: \(configuration)")
        if configuration.strategy.runsOnTasks { return runTasks(configuration) }
        guard let lock = configuration.strategy.makeLock() else { preconditionFailure("\(configuration.strategy) has no thread lock") }
        let shared = SharedRun(workers: configuration.threads)
        var threads: [LabThread] = []
        for index in 0..<configuration.threads {
            threads.append(LabThread {
                shared.ready.add(1, ordering: .releasing)
                while !shared.go.load(ordering: .acquiring) { sched_yield() }
                let cpuStart = LabClock.threadCPUNanoseconds()
                var worker = Worker(configuration: configuration, start: shared.startNanos)
                worker.loop(counter: shared.counter, lock: lock)
                worker.record.cpuNanos = LabClock.threadCPUNanoseconds() - cpuStart
                shared.finish(index, worker)
            })
        }
        let start = shared.letGo(waitingFor: configuration.threads)
        while let thread = threads.popLast() { thread.join() }
        return shared.result(configuration: configuration, elapsedNanos: LabClock.nanoseconds() - start, cpuNanos: nil)
    }

    /// The cost of one acquire+release pair on a lock nobody else wants, in nanoseconds: one
    /// thread, `pairs` pairs per batch, no clock read inside a batch. Returns each batch's mean,
    /// so the spread of the batches is visible too. The async lock is measured by its try path
    /// (what `acquire()` does first, without suspending).
    public static func uncontendedPairNanos(_ strategy: LabStrategy, batches: Int, pairs: Int) -> [Double] {
        precondition(batches > 0 && pairs > 0)
        let lock = strategy.makeLock()
        let asyncLock = AsyncLock()
        return (0..<batches).map { _ in
            let start = LabClock.nanoseconds()
            if let lock {
                for _ in 0..<pairs {
                    _ = lock.acquire(until: .max)
                    lock.release()
                }
            } else {
                for _ in 0..<pairs where asyncLock.tryAcquire() { asyncLock.release() }
            }
            return Double(LabClock.nanoseconds() - start) / Double(pairs)
        }
    }

    /// The async lock's run: tasks on the cooperative pool; the calling thread waits for the group.
    private static func runTasks(_ configuration: LabConfiguration) -> LabResult {
        let lock = AsyncLock()
        let shared = SharedRun(workers: configuration.threads)
        let cpuStart = processCPUNanoseconds()
        let start = shared.letGo(waitingFor: 0)
        let done = DispatchSemaphore(value: 0)
        Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<configuration.threads {
                    group.addTask {
                        var worker = Worker(configuration: configuration, start: shared.startNanos)
                        await worker.loop(counter: shared.counter, lock: lock)
                        shared.finish(index, worker)
                    }
                }
            }
            done.signal()
        }
        done.wait()
        return shared.result(configuration: configuration, elapsedNanos: LabClock.nanoseconds() - start,
                             cpuNanos: processCPUNanoseconds() - cpuStart)
    }

    private static func processCPUNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// One worker's loop and tallies.
private struct Worker {
    let configuration: LabConfiguration
    let deadline: UInt64
    var record = LabWorkerRecord()
    var latency = LabMetrics.latencyHistogram()
    var lastAcquired: UInt64

    init(configuration: LabConfiguration, start: UInt64) {
        self.configuration = configuration
        deadline = start + configuration.durationNanos
        lastAcquired = start
    }

    mutating func loop(counter: UnsafeMutablePointer<Int>, lock: any LabLock) {
        while true {
            let before = LabClock.nanoseconds()
            guard before < deadline else { break }
            switch lock.acquire(until: deadline) {
            case .timedOut(let failed):
                record.failedAttempts += failed
                finish()
                return
            case .acquired(let failed):
                record.failedAttempts += failed
                acquired(waitedSince: before)
                criticalSection(counter)
                lock.release()
                LabClock.spin(for: configuration.thinkNanos)
            }
        }
        finish()
    }

    mutating func loop(counter: UnsafeMutablePointer<Int>, lock: AsyncLock) async {
        while true {
            let before = LabClock.nanoseconds()
            guard before < deadline else { break }
            await lock.acquire()
            acquired(waitedSince: before)
            criticalSection(counter)
            lock.release()
            LabClock.spin(for: configuration.thinkNanos)
        }
        finish()
    }

    private mutating func acquired(waitedSince before: UInt64) {
        let now = LabClock.nanoseconds()
        latency.record(now - before)
        record.longestGapNanos = max(record.longestGapNanos, now - lastAcquired)
        lastAcquired = now
        record.operations += 1
    }

    /// Read, work, write back: a read-modify-write stretched over the section's length, so that
    /// without exclusion two workers overlap and one's increment is lost.
    private func criticalSection(_ counter: UnsafeMutablePointer<Int>) {
        let value = counter.pointee
        LabClock.spin(for: configuration.criticalNanos)
        counter.pointee = value + 1
    }

    private mutating func finish() {
        let end = min(LabClock.nanoseconds(), deadline)
        record.longestGapNanos = max(record.longestGapNanos, end - min(end, lastAcquired))
    }
}

/// What the workers share: the start signal, the counter and their results. The counter is
/// deliberately plain memory (the locks under test guard it); results are written by each worker
/// into its own slot and read after it has been joined or awaited.
private final class SharedRun: @unchecked Sendable {
    let ready = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
    let counter: UnsafeMutablePointer<Int>
    private(set) var startNanos: UInt64 = 0
    private let results = Mutex<[(record: LabWorkerRecord, latency: Histogram<UInt64>)?]>([])

    init(workers: Int) {
        counter = .allocate(capacity: 1)
        counter.initialize(to: 0)
        results.withLock { $0 = Array(repeating: nil, count: workers) }
    }

    deinit { counter.deallocate() }

    /// Waits until `threads` workers are ready (0 for tasks, made after this), fixes the start and
    /// lets them go.
    func letGo(waitingFor threads: Int) -> UInt64 {
        while ready.load(ordering: .acquiring) < threads { sched_yield() }
        startNanos = LabClock.nanoseconds()
        go.store(true, ordering: .releasing)
        return startNanos
    }

    fileprivate func finish(_ index: Int, _ worker: Worker) {
        results.withLock { $0[index] = (worker.record, worker.latency) }
    }

    func result(configuration: LabConfiguration, elapsedNanos: UInt64, cpuNanos: UInt64?) -> LabResult {
        let finished = results.withLock { $0.compactMap { $0 } }
        precondition(finished.count == configuration.threads, "a worker did not finish")
        var latency = LabMetrics.latencyHistogram()
        for worker in finished { latency.add(worker.latency) }
        let records = finished.map(\.record)
        return LabResult(configuration: configuration, elapsedNanos: elapsedNanos, workers: records, latency: latency,
                         cpuNanos: cpuNanos ?? records.reduce(0) { $0 + $1.cpuNanos }, counter: counter.pointee)
    }
}
