import Foundation
import Synchronization
import Testing
@testable import ConclaveLab

/// Whole runs on real threads, short and one at a time (the thread count below must see only
/// this suite's threads).
@Suite(.serialized) struct LabRunnerTests {
    static let excluding: [LabStrategy] = LabStrategy.allCases.filter(\.excludes)

    @Test("every lock keeps the counter equal to the increments, 8 threads", arguments: excluding)
    func mutualExclusion(strategy: LabStrategy) {
        let result = LabRunner.run(LabConfiguration(strategy: strategy, threads: 8, criticalNanos: 500, thinkNanos: 0,
                                                    durationNanos: 40_000_000))
        #expect(result.operations > 0)
        #expect(result.counter == result.operations)
        #expect(result.lostUpdates == 0)
        #expect(result.workers.count == 8)
        #expect(result.latency.totalCount == UInt64(result.operations))
    }

    @Test("the unlocked run reports the counter it reached: exact alone, never above the increments together")
    func unlockedIsReportedHonestly() {
        let alone = LabRunner.run(LabConfiguration(strategy: .unlocked, threads: 1, criticalNanos: 100, thinkNanos: 0,
                                                   durationNanos: 20_000_000))
        #expect(alone.operations > 0)
        #expect(alone.counter == alone.operations)
        // Lost updates are likely here (each increment is a read, 20 µs of work, a write) but
        // the scheduler may keep the threads apart, so only the bound is certain.
        let together = LabRunner.run(LabConfiguration(strategy: .unlocked, threads: 4, criticalNanos: 20_000, thinkNanos: 0,
                                                      durationNanos: 40_000_000))
        #expect(together.counter <= together.operations)
        #expect(together.lostUpdates == together.operations - together.counter)
    }

    @Test("a run stops by its duration and joins every thread it started", arguments: [LabStrategy.spin, .ticket, .mutex])
    func stopsAndJoins(strategy: LabStrategy) throws {
        let duration: UInt64 = 30_000_000
        let before = LabClock.nanoseconds()
        let result = LabRunner.run(LabConfiguration(strategy: strategy, threads: 16, criticalNanos: 1_000, thinkNanos: 0,
                                                    durationNanos: duration))
        let took = LabClock.nanoseconds() - before
        #expect(result.elapsedNanos >= duration)
        // Generous: 16 threads on a shared 2-core machine; a run that ignored its deadline would go on forever.
        #expect(took < duration + 2_000_000_000)
        #expect(try Self.liveLabThreads() == 0)
    }

    @Test("each worker's CPU is its own thread's: together never more than threads × elapsed")
    func threadCPU() {
        let result = LabRunner.run(LabConfiguration(strategy: .spin, threads: 4, criticalNanos: 1_000, thinkNanos: 1_000,
                                                    durationNanos: 40_000_000))
        #expect(result.cpuNanos > 0)
        // Process CPU read by each worker would add up to ~threads × cores × elapsed.
        for worker in result.workers { #expect(worker.cpuNanos <= result.elapsedNanos + 5_000_000) }
        #expect(result.cpuNanos <= 4 * (result.elapsedNanos + 5_000_000))
    }

    @Test("the thread CPU clock counts only the calling thread")
    func threadClockIsPerThread() {
        let mainBefore = LabClock.threadCPUNanoseconds()
        let burned = LabThreadProbe.burnOnAnotherThread(cpuNanos: 20_000_000)
        let mainSpent = LabClock.threadCPUNanoseconds() - mainBefore
        #expect(burned >= 20_000_000)
        #expect(mainSpent < 10_000_000)  // joining sleeps
    }

    @Test("a lab thread is visible by its name while it runs and gone once joined")
    func threadNameIsCountable() throws {
        let release = Atomic<Bool>(false)
        let running = LabThread { while !release.load(ordering: .acquiring) { sched_yield() } }
        let deadline = LabClock.nanoseconds() + 5_000_000_000
        while try Self.liveLabThreads() == 0, LabClock.nanoseconds() < deadline { sched_yield() }
        #expect(try Self.liveLabThreads() == 1)
        release.store(true, ordering: .releasing)
        running.join()
        #expect(try Self.liveLabThreads() == 0)
    }

    /// Threads named as the lab names its workers, now alive in this process.
    static func liveLabThreads() throws -> Int {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        return tasks.filter { task in
            let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            return name?.trimmingCharacters(in: .whitespacesAndNewlines) == LabThread.name
        }.count
    }
}

enum LabThreadProbe {
    /// Runs a thread until its own CPU clock shows `cpuNanos`, joins it and returns what it showed.
    static func burnOnAnotherThread(cpuNanos: UInt64) -> UInt64 {
        final class Box: @unchecked Sendable { var spent: UInt64 = 0 }
        let box = Box()
        let thread = LabThread {
            let start = LabClock.threadCPUNanoseconds()
            while LabClock.threadCPUNanoseconds() - start < cpuNanos {}
            box.spent = LabClock.threadCPUNanoseconds() - start
        }
        thread.join()
        return box.spent
    }
}

@Suite struct LabUncontendedTests {
    @Test("uncontended pairs are measured per batch", arguments: LabStrategy.allCases)
    func uncontended(strategy: LabStrategy) throws {
        let means = LabRunner.uncontendedPairNanos(strategy, batches: 3, pairs: 1_000)
        #expect(means.count == 3)
        #expect(means.allSatisfy { $0 > 0 && $0 < 1_000_000 })
    }
}
