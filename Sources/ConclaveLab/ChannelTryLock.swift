/// The try-lock from the notes, made from a one-slot bounded queue (Go's `make(chan struct{}, 1)`):
/// locking is putting a token into the slot, unlocking is taking it out, and a try is a put that
/// gives up when the slot is full (`select` with `default`). Acquiring spins on tries, as the
/// notes' tasks did, so contention burns CPU without progress: the livelock made visible.
public final class ChannelTryLock: LabLock, Sendable {
    private let slot = OneSlotQueue<Void>()

    public init() {}

    public func acquire(until deadlineNanos: UInt64) -> LabAcquireOutcome {
        var failed = 0
        while !tryAcquire() {
            failed += 1
            if failed & 63 == 0, LabClock.nanoseconds() >= deadlineNanos { return .timedOut(failedAttempts: failed) }
        }
        return .acquired(failedAttempts: failed)
    }

    public func tryAcquire() -> Bool { slot.offer(()) }

    public func release() {
        let taken: Void? = slot.poll()
        precondition(taken != nil, "released a channel lock that was not held")
    }
}
