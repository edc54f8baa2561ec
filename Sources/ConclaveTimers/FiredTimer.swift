/// A timer that `advance(toMillis:)` found due: what the caller scheduled, and when it was due.
public struct FiredTimer: Hashable, Sendable {
    /// The caller's identifier, as given to `schedule`.
    public let timerID: UInt64
    /// The deadline it was scheduled for; it fired at or after this instant.
    public let deadlineMillis: UInt64
    /// The handle `schedule` returned (now invalid).
    public let handle: TimerHandle

    public init(timerID: UInt64, deadlineMillis: UInt64, handle: TimerHandle) {
        self.timerID = timerID
        self.deadlineMillis = deadlineMillis
        self.handle = handle
    }

    /// The order every queue fires in: by deadline, then by schedule order.
    @inline(__always)
    static func firesBefore(_ left: FiredTimer, _ right: FiredTimer) -> Bool {
        left.deadlineMillis != right.deadlineMillis
            ? left.deadlineMillis < right.deadlineMillis
            : left.handle.sequence < right.handle.sequence
    }
}

extension Array where Element == FiredTimer {
    /// Sorts `self[start...]` into firing order (deadline, then schedule order).
    mutating func sortFiring(from start: Int) {
        guard count - start > 1 else { return }
        self[start...].sort(by: FiredTimer.firesBefore)
    }
}
