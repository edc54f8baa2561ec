import Testing
@testable import ConclaveLab

/// Each lock on one thread, where the answers are certain: a held lock refuses a try, a released
/// one grants it, and a spinner gives up at its deadline.
@Suite struct LabLockTests {
    static let excluding: [LabStrategy] = LabStrategy.allCases.filter { $0.excludes && !$0.runsOnTasks }

    @Test("a held lock refuses a try until it is released", arguments: excluding)
    func tryWhileHeld(strategy: LabStrategy) throws {
        let lock = try #require(strategy.makeLock())
        #expect(lock.tryAcquire())
        #expect(!lock.tryAcquire())
        lock.release()
        #expect(lock.acquire(until: LabClock.nanoseconds() + 1_000_000) == .acquired(failedAttempts: 0))
        #expect(!lock.tryAcquire())
        lock.release()
    }

    @Test("the unlocked strategy lets two holders in at once")
    func unlockedExcludesNobody() {
        let lock = UnlockedLock()
        #expect(lock.tryAcquire())
        #expect(lock.tryAcquire())
        #expect(!LabStrategy.unlocked.excludes)
    }

    @Test("a spinning acquire gives up at its deadline, having failed", arguments: [LabStrategy.channel, .spin, .spinBackoff, .spinYield])
    func spinnerTimesOut(strategy: LabStrategy) throws {
        let lock = try #require(strategy.makeLock())
        #expect(lock.tryAcquire())
        let deadline = LabClock.nanoseconds() + 2_000_000
        guard case .timedOut(let failed) = lock.acquire(until: deadline) else {
            Issue.record("acquired a lock this thread holds")
            return
        }
        #expect(failed > 0)
        #expect(LabClock.nanoseconds() >= deadline)
        lock.release()
        #expect(lock.tryAcquire())
    }

    @Test("the async lock hands itself to a waiting task on release")
    func asyncHandOff() async throws {
        let lock = AsyncLock()
        #expect(lock.tryAcquire())
        let waiter = Task { await lock.acquire(); return true }
        lock.release()
        #expect(await waiter.value)
        #expect(!lock.tryAcquire())
        lock.release()
        #expect(lock.tryAcquire())
    }

    @Test("the one-slot queue holds one element")
    func oneSlot() {
        let queue = OneSlotQueue<Int>()
        #expect(queue.offer(1))
        #expect(!queue.offer(2))
        #expect(queue.poll() == 1)
        #expect(queue.poll() == nil)
    }
}
