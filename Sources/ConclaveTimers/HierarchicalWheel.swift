/// A hierarchical timing wheel, the shape of Kafka's `TimingWheel`: level 0 has `slotsPerLevel`
/// slots of one tick; each level above has as many slots, each as wide as the whole level below.
///
/// A timer goes to the lowest level whose span from that level's current time still covers its
/// deadline; beyond the top level, a new level (Kafka's overflow wheel) is created on demand, up to
/// the level that spans every `UInt64` tick, so no delay is ever dropped. When the clock reaches a
/// bucket's start, the bucket is flushed and its timers are placed again: they cascade down a level
/// (or fire, once due). Kafka finds the next bucket with a `DelayQueue` of buckets; here each level
/// keeps a bitmap of non-empty slots, so the next bucket is a few bit scans and an advance over an
/// idle hour costs no more than an advance over one tick.
///
/// Rounding: a deadline belongs to tick `⌈deadline / tickMillis⌉`, which fires when the clock reaches
/// the end of it, so a timer never fires early (Kafka's `expiration < currentTime + tickMs` test
/// rounds down and may fire up to a tick early) and at most one tick late.
///
/// Complexity: `schedule` O(levels) to find the level (≤ `levelsMax`, usually 1–3), `cancel` O(1);
/// each timer is moved at most once per level above the one it fires from; an advance costs
/// O(levels) per non-empty bucket it flushes plus the fired batch's sort. `nextDeadlineMillis`
/// walks the first non-empty bucket of each level.
/// Limits: `tickMillis` ≥ 1; `slotsPerLevel` a power of two in 2…64 (one bitmap word per level);
/// at most `levelsMax` = ⌈64 / log₂ slotsPerLevel⌉ levels; at most `capacity` timers.
public struct HierarchicalWheel: TimerQueue, Sendable {
    public static let slotsPerLevelRange = 2...64

    public let slotsPerLevel: Int
    /// Levels needed to span every `UInt64` tick: the most this wheel ever grows to.
    public let levelsMax: Int
    private let slotBits: Int
    private let slotMask: UInt64
    /// Bucket 0 is the due list; level `l`, slot `s` is bucket `1 + l × slotsPerLevel + s`.
    private var buckets: TimerBuckets
    /// Per level, bit `s` set when slot `s` holds a timer.
    private var occupied: [UInt64] = [0]

    /// An empty one-level wheel whose clock starts at `startMillis`; levels are added as timers need them.
    /// - Throws: `.invalidParameter` for a zero tick, a slot count that is not a power of two in 2…64, or a bad capacity.
    public init(
        tickMillis: UInt64 = 1, slotsPerLevel: Int = 64, capacity: Int = TimerQueueLimits.capacityDefault, startMillis: UInt64 = 0
    ) throws(TimerQueueError) {
        slotBits = try TimerQueueLimits.powerOfTwo(slotsPerLevel, "slotsPerLevel", in: Self.slotsPerLevelRange)
        self.slotsPerLevel = slotsPerLevel
        levelsMax = (64 + slotBits - 1) / slotBits
        slotMask = UInt64(slotsPerLevel - 1)
        buckets = try TimerBuckets(tickMillis: tickMillis, bucketCount: 1 + slotsPerLevel, capacity: capacity, startMillis: startMillis)
    }

    public var tickMillis: UInt64 { buckets.tickLength.millis }
    public var nowMillis: UInt64 { buckets.nowMillis }
    private var currentTick: UInt64 { buckets.currentTick }
    private var tickLength: TickLength { buckets.tickLength }
    public var count: Int { buckets.count }
    public var capacity: Int { buckets.capacity }
    /// Levels created so far (1 until a timer lies beyond the first level's span).
    public var levelCount: Int { occupied.count }
    public var memoryFootprintBytes: Int { buckets.memoryFootprintBytes + occupied.capacity * 8 }

    public mutating func schedule(timerID: UInt64, deadlineMillis: UInt64) throws(TimerQueueError) -> TimerHandle {
        try buckets.requireRoom()
        let bucket = buckets.isDue(deadlineMillis) ? TimerBuckets.dueBucket : place(tick: tickLength.tick(ofDeadline: deadlineMillis))
        return buckets.insert(timerID: timerID, deadlineMillis: deadlineMillis, into: bucket)
    }

    public func isPending(_ handle: TimerHandle) -> Bool { buckets.isLive(handle) }

    public mutating func cancel(_ handle: TimerHandle) -> Bool {
        guard let bucket = buckets.cancel(handle) else { return false }
        if bucket != TimerBuckets.dueBucket, buckets.isEmpty(bucket) { clearOccupied(bucket) }
        return true
    }

    public mutating func advance(toMillis nowMillis: UInt64, into fired: inout [FiredTimer]) {
        let start = fired.count
        let targetTick = buckets.beginAdvance(toMillis: nowMillis, into: &fired)
        // Flush buckets in the order their time comes; each flush moves the clock to the bucket's start
        // so its timers are placed relative to that instant (Kafka's advanceClock(bucket.expiration)).
        while let next = earliestBucket(), next.startTick <= targetTick {
            buckets.currentTick = max(currentTick, next.startTick)
            flush(level: next.level, slot: next.slot, into: &fired)
        }
        buckets.currentTick = max(currentTick, targetTick)
        fired.sortFiring(from: start)
    }

    public var nextDeadlineMillis: UInt64? {
        var earliest = buckets.earliestDeadline(in: TimerBuckets.dueBucket)
        // Within a level, buckets cover disjoint, ordered tick ranges: its first non-empty bucket holds its earliest timer.
        for level in 0..<levelCount {
            guard let slot = firstOccupiedSlot(level: level) else { continue }
            if let deadline = buckets.earliestDeadline(in: bucket(level: level, slot: slot)) {
                earliest = min(earliest ?? .max, deadline)
            }
        }
        return earliest
    }

    /// One ring per level, finest first: per-slot counts from each level's cursor, at most `entriesMax` slots each.
    public func snapshot(entriesMax: Int) -> TimerQueueSnapshot {
        let shown = min(slotsPerLevel, TimerQueueSnapshot.clamp(entriesMax))
        let rings = (0..<levelCount).map { level in
            let cursor = Int((currentTick >> levelShift(level)) & slotMask)
            let counts = (0..<slotsPerLevel).map { buckets.count(of: bucket(level: level, slot: $0)) }
            let (slotMillis, overflow) = tickMillis.multipliedReportingOverflow(by: 1 << UInt64(levelShift(level)))
            return TimerQueueSnapshot.Ring(
                slotMillis: overflow ? .max : slotMillis, slotCount: slotsPerLevel, cursor: cursor,
                count: counts.reduce(0, +), slotCounts: (0..<shown).map { counts[(cursor + $0) & Int(slotMask)] }
            )
        }
        return TimerQueueSnapshot(
            kind: "hierarchical wheel", count: count, nowMillis: nowMillis, nextDeadlineMillis: nextDeadlineMillis,
            dueCount: buckets.count(of: TimerBuckets.dueBucket), layout: .rings(rings)
        )
    }

    // MARK: - Levels

    @inline(__always)
    private func levelShift(_ level: Int) -> Int { level * slotBits }

    @inline(__always)
    private func bucket(level: Int, slot: Int) -> Int { 1 + level * slotsPerLevel + slot }

    /// The bucket for a timer due at `tick` (> `currentTick`): in the lowest level whose span from
    /// its current time covers the tick, creating levels on demand; marks the slot occupied.
    @inline(__always)
    private mutating func place(tick: UInt64) -> Int {
        var level = 0
        // At the top level the shift reaches past 64 bits and every tick fits, so the loop ends by `levelsMax`.
        while level + 1 < levelsMax, (tick >> levelShift(level)) - (currentTick >> levelShift(level)) >= UInt64(slotsPerLevel) {
            level += 1
        }
        while level >= occupied.count {
            occupied.append(0)
            buckets.addBuckets(slotsPerLevel)
        }
        let slot = Int((tick >> levelShift(level)) & slotMask)
        occupied[level] |= 1 << UInt64(slot)
        return bucket(level: level, slot: slot)
    }

    private mutating func clearOccupied(_ bucket: Int) {
        let level = (bucket - 1) >> slotBits
        occupied[level] &= ~(1 << UInt64((bucket - 1) & Int(slotMask)))
    }

    /// The first non-empty slot of `level` at or after the level's cursor (going round once).
    private func firstOccupiedSlot(level: Int) -> Int? {
        let bits = occupied[level]
        guard bits != 0 else { return nil }
        let cursor = Int((currentTick >> levelShift(level)) & slotMask)
        // Rotate within the level's slots so the cursor's slot is bit 0, then find the lowest set bit.
        let width = slotsPerLevel
        let rotated = width == 64
            ? bits.rotatedRight(by: cursor)
            : ((bits >> UInt64(cursor)) | (bits << UInt64(width - cursor))) & ((1 << UInt64(width)) - 1)
        return (cursor + rotated.trailingZeroBitCount) & Int(slotMask)
    }

    /// The non-empty bucket whose time (its first tick) comes first, over all levels.
    private func earliestBucket() -> (level: Int, slot: Int, startTick: UInt64)? {
        var earliest: (level: Int, slot: Int, startTick: UInt64)?
        for level in 0..<levelCount {
            guard let slot = firstOccupiedSlot(level: level) else { continue }
            let shift = levelShift(level)
            let cursorSlot = (currentTick >> shift) & slotMask
            let distance = (UInt64(slot) &- cursorSlot) & slotMask
            let startTick = ((currentTick >> shift) + distance) << shift
            if let found = earliest, found.startTick <= startTick { continue }
            earliest = (level, slot, startTick)
        }
        return earliest
    }

    /// Empties one bucket whose time has come, placing each timer again: lower down, or fired.
    private mutating func flush(level: Int, slot: Int, into fired: inout [FiredTimer]) {
        let flushed = bucket(level: level, slot: slot)
        occupied[level] &= ~(1 << UInt64(slot))
        var index = buckets.detach(flushed)
        while index != TimerBuckets.none {
            let node = buckets.nodes[Int(index)]
            let tick = tickLength.tick(ofDeadline: node.deadlineMillis)
            if tick <= currentTick {
                fired.append(buckets.free(index))
            } else {
                buckets.relink(index, into: place(tick: tick))
            }
            index = node.next
        }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedRight(by amount: Int) -> UInt64 {
        amount == 0 ? self : (self >> UInt64(amount)) | (self << UInt64(64 - amount))
    }
}
