#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A compare-and-swap spin lock on one atomic flag: cheapest of all when uncontended (one CAS to
/// take, one store to give back), and the most wasteful under contention, where every waiter
/// burns its core, and on an oversubscribed machine burns the quantum the holder needed.
public final class SpinLock: LabLock, Sendable {
    /// What a waiter does after a CAS that found the lock taken.
    public enum Backoff: Sendable, Equatable {
        /// Try again at once.
        case none
        /// Spin on a plain load for a random number of rounds below a limit that doubles after
        /// every failure (up to `exponentialLimitMax`): the jitter keeps waiters from retrying in step.
        case exponential
        /// Give the core away (`sched_yield`).
        case yield
    }

    public static let exponentialLimitMax = 1 << 12

    private let held = Atomic<Bool>(false)
    public let backoff: Backoff

    public init(backoff: Backoff) { self.backoff = backoff }

    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome {
        var failed = 0
        var limit = 4
        var jitter: UInt64 = 0
        while !tryAcquire() {
            failed += 1
            if failed & 63 == 0, LabClock.nanoseconds() >= deadlineNanos { return .timedOut(failedAttempts: failed) }
            switch backoff {
            case .none:
                continue
            case .yield:
                sched_yield()
            case .exponential:
                // xorshift: a waiter's own cheap jitter, no shared generator to contend on; seeded
                // from the clock on the first failure only, so the uncontended path reads no clock.
                if jitter == 0 { jitter = LabClock.nanoseconds() | 1 }
                jitter ^= jitter << 13
                jitter ^= jitter >> 7
                jitter ^= jitter << 17
                let rounds = Int(jitter % UInt64(limit))
                for _ in 0..<rounds { _ = held.load(ordering: .relaxed) }
                limit = min(limit * 2, Self.exponentialLimitMax)
            }
        }
        return .acquired(failedAttempts: failed)
    }

    public func tryAcquire() -> Bool {
        held.compareExchange(expected: false, desired: true, successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    public func release() { held.store(false, ordering: .releasing) }
}
