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

    /// Sleeps until held; the deadline is not consulted (the wait is bounded by the threads ahead).
    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome {
        pthread_mutex_lock(mutex)
        return .acquired(failedAttempts: 0)
    }

    public func tryAcquire() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    public func release() { pthread_mutex_unlock(mutex) }
}
