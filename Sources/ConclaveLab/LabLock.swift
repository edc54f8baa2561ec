/// One way to guard a critical section inside one process: the shape every strategy in the lab
/// shares, so the workload runs them all the same way.
///
/// Contract: `acquire(until:)` returns `.acquired` only when the caller holds the lock, and the
/// caller must then call `release()` exactly once. A strategy that spins gives up at the deadline
/// (`.timedOut`, not held) so a run never outlives its duration; one that sleeps in the kernel or
/// holds a ticket may overrun the deadline by the time the threads ahead of it hold the lock.
public protocol LabLock: AnyObject, Sendable {
    /// Takes the lock, spinning or sleeping as the strategy does, unless `deadlineNanos`
    /// (on `LabClock.nanoseconds()`) passes first.
    func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome
    /// Takes the lock if it is free right now, never waiting.
    func tryAcquire() -> Bool
    func release()
}

public enum LabAcquireOutcome: Equatable, Sendable {
    /// Held, after `failedAttempts` attempts that found the lock taken (0 for a lock that sleeps).
    case acquired(failedAttempts: Int)
    /// The deadline passed first; the lock is not held.
    case timedOut(failedAttempts: Int)
}
