/// No lock at all, labelled as such: every acquire succeeds at once, so threads race through the
/// critical section together and the shared counter loses updates. The lab runs it to show what
/// the others are preventing.
public final class UnlockedLock: LabLock, Sendable {
    public init() {}
    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome { .acquired(failedAttempts: 0) }
    public func tryAcquire() -> Bool { true }
    public func release() {}
}
