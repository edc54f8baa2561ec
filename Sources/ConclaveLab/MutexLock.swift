#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking mutex: a pthread mutex, which spins briefly in user space and then sleeps on a
/// futex. Waiters cost no CPU while they sleep, but every hand-off to a sleeper is a wake-up.
///
/// Not `Synchronization.Mutex`: that one only offers `withLock`, and the lab needs acquire and
/// release as separate calls (and a try).
public final class MutexLock: LabLock, @unchecked Sendable {
    // A pthread mutex must not move once used: it lives in its own allocation.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Sleeps until held or the deadline passes (`pthread_mutex_timedlock`, whose deadline is on
    /// the real-time clock: the monotonic one is translated), so a run never outlasts its duration
    /// waiting here.
    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome {
        // Free: taken with no clock read (the uncontended cost the lab reports stays the mutex's).
        if pthread_mutex_trylock(mutex) == 0 { return .acquired(failedAttempts: 0) }
        guard deadlineNanos != .max else {
            pthread_mutex_lock(mutex)
            return .acquired(failedAttempts: 0)
        }
        let now = LabClock.nanoseconds()
        guard deadlineNanos > now else { return .timedOut(failedAttempts: 0) }
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let (absolute, overflow) = (UInt64(realtime.tv_sec) * 1_000_000_000 + UInt64(realtime.tv_nsec))
            .addingReportingOverflow(deadlineNanos - now)
        guard !overflow else {
            pthread_mutex_lock(mutex)
            return .acquired(failedAttempts: 0)
        }
        var deadline = timespec(tv_sec: Int(absolute / 1_000_000_000), tv_nsec: Int(absolute % 1_000_000_000))
        return pthread_mutex_timedlock(mutex, &deadline) == 0 ? .acquired(failedAttempts: 0) : .timedOut(failedAttempts: 0)
    }

    public func tryAcquire() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    public func release() { pthread_mutex_unlock(mutex) }
}
