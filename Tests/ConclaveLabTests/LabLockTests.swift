import Foundation
import Synchronization
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

    @Test("a mutex waiter gives up at its deadline instead of sleeping on")
    func mutexDeadline() throws {
        let lock = MutexLock()
        #expect(lock.acquire(until: LabClock.nanoseconds() + 1_000_000) == .acquired(failedAttempts: 0))
        let start = LabClock.nanoseconds()
        #expect(lock.acquire(until: start + 20_000_000) == .timedOut(failedAttempts: 0), "held elsewhere: timed out")
        #expect(LabClock.nanoseconds() - start >= 19_000_000, "it waited until the deadline")
        #expect(lock.acquire(until: start) == .timedOut(failedAttempts: 0), "a deadline already past: a try")
        lock.release()
        #expect(lock.acquire(until: LabClock.nanoseconds() + 1_000_000) == .acquired(failedAttempts: 0))
    }

    @Test("a ticket served after the deadline is handed on at once, not worked, and the lock is free after")
    func ticketAfterDeadline() throws {
        let lock = TicketLock()
        #expect(lock.acquire(until: .max) == .acquired(failedAttempts: 0))
        let outcome = Mutex<LabAcquireOutcome?>(nil)
        let waiter = Thread { outcome.withLock { $0 = lock.acquire(until: LabClock.nanoseconds()) } }
        waiter.start()
        let deadline = LabClock.nanoseconds() + 10_000_000_000
        while lock.nextTicket.load(ordering: .acquiring) < 2, LabClock.nanoseconds() < deadline { sched_yield() }
        #expect(lock.nextTicket.load(ordering: .acquiring) == 2, "the waiter drew its ticket")
        lock.release()
        while outcome.withLock({ $0 }) == nil, LabClock.nanoseconds() < deadline { sched_yield() }
        guard case .timedOut(let failed)? = outcome.withLock({ $0 }) else {
            Issue.record("the late turn was taken: \(String(describing: outcome.withLock { $0 }))")
            return
        }
        #expect(failed > 0)
        #expect(lock.tryAcquire(), "the late turn was passed on: nobody holds the lock")
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
