/// A single-level hashed timing wheel, Netty's `HashedWheelTimer` shape: `slotCount` slots of
/// `tickMillis` each; a timer due at tick `t` waits in slot `t mod slotCount` and its rounds (how
/// many more turns of the wheel before it fires) are `(t − currentTick) / slotCount`.
///
/// Netty stores the rounds in each entry and decrements them on every pass; here each node keeps its
/// deadline and the rounds are derived from it, so a pass over a slot only reads the entries it keeps.
/// A slot holds every timer that hashes to it, whatever its round, so a long horizon on a small wheel
/// makes each pass walk many entries that are not due: size the wheel to cover the usual delays.
///
/// Complexity: `schedule` and `cancel` O(1); an advance over `k` ticks visits `min(k, slotCount)`
/// slots and walks every entry in them; firing sorts the fired batch (deadline, then schedule order).
/// `nextDeadlineMillis` walks slots from the cursor until it finds one holding a timer due this
/// round, and walks every timer when none is due within one turn.
/// Limits: `tickMillis` ≥ 1; `slotCount` a power of two in 2…2²⁰; at most `capacity` timers. Any
/// deadline up to `UInt64.max` is kept (it just has many rounds).
public struct HashedWheel: TimerQueue, Sendable {
    public static let slotCountRange = 2...(1 << 20)

    public let slotCount: Int
    private let slotMask: UInt64
    /// Bucket 0 is the due list; slot `s` is bucket `s + 1`.
    private var buckets: TimerBuckets

    /// An empty wheel whose clock starts at `startMillis`.
    /// - Throws: `.invalidParameter` for a zero tick, a slot count that is not a power of two in range, or a bad capacity.
    public init(
        tickMillis: UInt64 = 1, slotCount: Int = 4_096, capacity: Int = TimerQueueLimits.capacityDefault, startMillis: UInt64 = 0
    ) throws(TimerQueueError) {
        _ = try TimerQueueLimits.powerOfTwo(slotCount, "slotCount", in: Self.slotCountRange)
        self.slotCount = slotCount
        slotMask = UInt64(slotCount - 1)
        buckets = try TimerBuckets(tickMillis: tickMillis, bucketCount: slotCount + 1, capacity: capacity, startMillis: startMillis)
    }

    public var tickMillis: UInt64 { buckets.tickLength.millis }
    public var nowMillis: UInt64 { buckets.nowMillis }
    public var count: Int { buckets.count }
    public var capacity: Int { buckets.capacity }
    public var memoryFootprintBytes: Int { buckets.memoryFootprintBytes }
    private var currentTick: UInt64 { buckets.currentTick }
    private var tickLength: TickLength { buckets.tickLength }

    public mutating func schedule(timerID: UInt64, deadlineMillis: UInt64) throws(TimerQueueError) -> TimerHandle {
        try buckets.requireRoom()
        let target = buckets.isDue(deadlineMillis) ? TimerBuckets.dueBucket : bucket(ofTick: tickLength.tick(ofDeadline: deadlineMillis))
        return buckets.insert(timerID: timerID, deadlineMillis: deadlineMillis, into: target)
    }

    public func isPending(_ handle: TimerHandle) -> Bool { buckets.isLive(handle) }

    public mutating func cancel(_ handle: TimerHandle) -> Bool { buckets.cancel(handle) != nil }

    public mutating func advance(toMillis nowMillis: UInt64, into fired: inout [FiredTimer]) {
        let start = fired.count
        let targetTick = buckets.beginAdvance(toMillis: nowMillis, into: &fired)
        if targetTick > currentTick {
            // Past one full turn every slot is visited once; each fires whatever is due by the target.
            let ticks = min(targetTick - currentTick, UInt64(slotCount))
            for step in 1...ticks {
                fireSlot(bucket(ofTick: currentTick &+ step), dueByTick: targetTick, into: &fired)
            }
            buckets.currentTick = targetTick
        }
        fired.sortFiring(from: start)
    }

    public var nextDeadlineMillis: UInt64? {
        if let due = buckets.earliestDeadline(in: TimerBuckets.dueBucket) { return due }
        guard buckets.count > 0 else { return nil }
        for step in 1...UInt64(slotCount) {
            let tick = currentTick &+ step
            let thisRound = buckets.earliestDeadline(in: bucket(ofTick: tick)) { node in
                tickLength.tick(ofDeadline: node.deadlineMillis) == tick
            }
            if let thisRound { return thisRound }
        }
        return (1...slotCount).compactMap { buckets.earliestDeadline(in: $0) }.min()
    }

    /// One ring: per-slot counts from the cursor forward, at most `entriesMax` slots.
    public func snapshot(entriesMax: Int) -> TimerQueueSnapshot {
        let shown = min(slotCount, TimerQueueSnapshot.clamp(entriesMax))
        let cursor = Int(currentTick & slotMask)
        let slotCounts = (0..<shown).map { offset in buckets.count(of: (cursor + offset) & Int(slotMask) + 1) }
        let due = buckets.count(of: TimerBuckets.dueBucket)
        let ring = TimerQueueSnapshot.Ring(
            slotMillis: tickMillis, slotCount: slotCount, cursor: cursor, count: count - due, slotCounts: slotCounts
        )
        return TimerQueueSnapshot(
            kind: "hashed wheel", count: count, nowMillis: nowMillis, nextDeadlineMillis: nextDeadlineMillis,
            dueCount: due, layout: .rings([ring])
        )
    }

    /// Rounds left for a timer due at `tick`: full turns of the wheel before its slot's pass fires it.
    public func rounds(forDeadlineMillis deadlineMillis: UInt64) -> UInt64 {
        let tick = tickLength.tick(ofDeadline: deadlineMillis)
        return tick <= currentTick ? 0 : (tick - currentTick - 1) / UInt64(slotCount)
    }

    @inline(__always)
    private func bucket(ofTick tick: UInt64) -> Int { Int(tick & slotMask) + 1 }

    /// Walks one slot, firing the entries due by `targetTick` and leaving later rounds in place.
    private mutating func fireSlot(_ bucket: Int, dueByTick targetTick: UInt64, into fired: inout [FiredTimer]) {
        var index = buckets.head(of: bucket)
        while index != TimerBuckets.none {
            let node = buckets.nodes[Int(index)]
            if tickLength.tick(ofDeadline: node.deadlineMillis) <= targetTick {
                buckets.unlink(index)
                fired.append(buckets.free(index))
            }
            index = node.next
        }
    }
}
