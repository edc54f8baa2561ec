#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A ticket lock: a fair spin lock. A waiter draws the next ticket and spins until the lock serves
/// it, so threads hold the lock strictly in arrival order (Jain's index near 1), at a price: the
/// next in line must be running to take its turn, so on a machine with fewer cores than waiters
/// every hand-off waits for the scheduler to get round to one particular thread.
///
/// A drawn ticket cannot be given back, so `acquire` does not time out: it waits for its turn
/// (yielding the core after `spinsBeforeYield` polls, or oversubscribed runs would crawl).
public final class TicketLock: LabLock, Sendable {
    public static let spinsBeforeYield = 100

    let nextTicket = Atomic<UInt64>(0)  // internal: tests watch a waiter draw its ticket
    private let nowServing = Atomic<UInt64>(0)

    public init() {}

    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome {
        let ticket = nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        var failed = 0
        while nowServing.load(ordering: .acquiring) != ticket {
            failed += 1
            if failed >= Self.spinsBeforeYield { sched_yield() }
        }
        // A drawn ticket cannot be given back, but a turn that came after the deadline is handed
        // on at once rather than worked: the queue drains in nanoseconds once time is up. (Only
        // after a wait: an uncontended acquire reads no clock.)
        if failed > 0, LabClock.nanoseconds() >= deadlineNanos {
            release()
            return .timedOut(failedAttempts: failed)
        }
        return .acquired(failedAttempts: failed)
    }

    /// Takes a ticket only if it would be served at once (nobody holds or waits).
    public func tryAcquire() -> Bool {
        let serving = nowServing.load(ordering: .acquiring)
        return nextTicket.compareExchange(expected: serving, desired: serving &+ 1, ordering: .acquiring).exchanged
    }

    public func release() { nowServing.wrappingAdd(1, ordering: .releasing) }
}
