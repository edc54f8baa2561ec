/// A queue of pending timers with time passed in: the one interface over the d-ary heap, the hashed
/// wheel and the hierarchical wheel, so a scheduler (or a benchmark) can swap one for another.
///
/// Contract shared by every implementation:
/// - `advance(toMillis:)` fires every timer whose deadline has come, in firing order: by deadline, ties
///   in schedule order. It never fires a timer before its deadline. A heap fires a timer at the first
///   advance with `now ≥ deadline`; a wheel fires it at the first advance that reaches the end of the
///   tick holding its deadline, `now ≥ ⌈deadline / tickMillis⌉ × tickMillis`, so at most one tick
///   (`tickMillis − 1` ms) after its deadline. When every advance lands on a multiple of the tick, all
///   three fire exactly the same timers at each advance.
/// - A deadline at or before the queue's clock (`nowMillis`) is accepted and fires at the next
///   advance, whatever time that advance is given.
/// - Time never runs backwards: an advance to an earlier instant than `nowMillis` leaves the clock
///   where it is (and still fires timers scheduled in the past).
/// - No delay is too long: deadlines up to `UInt64.max` are kept (a hierarchical wheel grows overflow
///   levels on demand) and fire when their time comes; none is dropped. Advancing to `UInt64.max`
///   fires everything pending.
/// - A queue holds at most `capacity` timers; `schedule` on a full queue throws `.full`.
public protocol TimerQueue {
    /// Pending timers (scheduled, neither fired nor cancelled).
    var count: Int { get }
    /// The most timers it holds at once.
    var capacity: Int { get }
    /// The queue's clock: the latest instant it was advanced to (or its start).
    var nowMillis: UInt64 { get }
    /// The earliest pending deadline, or `nil` when nothing is pending. A wheel fires that timer
    /// when its clock reaches the deadline rounded up to a whole tick.
    var nextDeadlineMillis: UInt64? { get }
    /// Bytes its storage occupies, counted from the capacity of its arrays (what is allocated, not
    /// just what is used); divide by `count` for bytes per pending timer.
    var memoryFootprintBytes: Int { get }

    /// Adds a timer for `timerID` (the caller's identifier; need not be unique) due at `deadlineMillis`.
    mutating func schedule(timerID: UInt64, deadlineMillis: UInt64) throws(TimerQueueError) -> TimerHandle
    /// Removes a pending timer; `false` (and no change) when the handle's timer already fired, was
    /// cancelled, or belongs to another queue.
    mutating func cancel(_ handle: TimerHandle) -> Bool
    /// Whether the handle's timer is still pending.
    func isPending(_ handle: TimerHandle) -> Bool
    /// Moves the clock to `nowMillis` and appends every timer that came due to `fired`, in firing order.
    mutating func advance(toMillis nowMillis: UInt64, into fired: inout [FiredTimer])
    /// A bounded picture of the contents for the console.
    func snapshot(entriesMax: Int) -> TimerQueueSnapshot
}

extension TimerQueue {
    /// Moves the clock to `nowMillis` and returns every timer that came due, in firing order.
    public mutating func advance(toMillis nowMillis: UInt64) -> [FiredTimer] {
        var fired: [FiredTimer] = []
        advance(toMillis: nowMillis, into: &fired)
        return fired
    }

    /// Schedules `delayMillis` after the queue's clock; a delay past `UInt64.max` saturates there
    /// (kept, never dropped).
    public mutating func schedule(timerID: UInt64, delayMillis: UInt64) throws(TimerQueueError) -> TimerHandle {
        let (deadline, overflow) = nowMillis.addingReportingOverflow(delayMillis)
        return try schedule(timerID: timerID, deadlineMillis: overflow ? UInt64.max : deadline)
    }
}
