/// At most one pending timer per key, on a 4-ary `DaryHeap`: setting a key's timer again replaces
/// it. For callers that think in "when must I next look at X" (a session's expiry, a task's
/// wake-up) rather than in handles.
///
/// Costs: `set` and `remove` O(log n); `advance` O(log n) per key that comes due.
public struct KeyedTimers: Sendable {
    private var heap: DaryHeap
    private var pending: [UInt64: (handle: TimerHandle, deadlineMillis: UInt64)] = [:]

    /// - Throws: `TimerQueueError.invalidParameter` when `capacity` is out of range.
    public init(capacity: Int = TimerQueueLimits.capacityDefault) throws(TimerQueueError) {
        heap = try DaryHeap(arity: 4, capacity: capacity)
    }

    public var count: Int { pending.count }

    /// The deadline of `key`'s pending timer.
    public func deadline(of key: UInt64) -> UInt64? { pending[key]?.deadlineMillis }

    /// Every pending (key, deadline), in no particular order.
    public var deadlines: [(key: UInt64, deadlineMillis: UInt64)] {
        pending.map { (key: $0.key, deadlineMillis: $0.value.deadlineMillis) }
    }

    /// Sets `key`'s timer to `deadlineMillis`, replacing any it had.
    /// - Throws: `.full` when the heap holds `capacity` timers (the key then has none).
    public mutating func set(_ key: UInt64, at deadlineMillis: UInt64) throws(TimerQueueError) {
        remove(key)
        pending[key] = (try heap.schedule(timerID: key, deadlineMillis: deadlineMillis), deadlineMillis)
    }

    public mutating func remove(_ key: UInt64) {
        if let current = pending.removeValue(forKey: key) { _ = heap.cancel(current.handle) }
    }

    public mutating func removeAll() {
        for key in Array(pending.keys) { remove(key) }
    }

    /// The keys whose timers came due by `nowMillis`, in firing order; they are no longer pending.
    public mutating func advance(toMillis nowMillis: UInt64) -> [UInt64] {
        heap.advance(toMillis: nowMillis).map { fired in
            pending[fired.timerID] = nil
            return fired.timerID
        }
    }

    public func snapshot(entriesMax: Int) -> TimerQueueSnapshot { heap.snapshot(entriesMax: entriesMax) }
}
