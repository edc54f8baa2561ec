/// An integer level that drains at an exact rational rate: the engine under `TokenBucket` and
/// `GenericCellRateLimiter`, which are the same meter seen from two sides (tokens left vs. debt owed).
///
/// A rate of `p` items per `q` nanoseconds cannot be held exactly as "nanoseconds per item" or
/// "items per nanosecond" when `q` is not a multiple of `p`, and the rounding lost on every call is how
/// limiters drift. Here one item costs `q` units and time drains `p` units per nanosecond, so the level
/// changes only by integer multiples and no fraction is ever dropped: after `t` nanoseconds exactly
/// `t·p / q` items' worth (as a fraction carried in the level) has drained.
///
/// Time only moves forward: a `nowNanos` earlier than the last one seen drains nothing (a clock that
/// steps back never hands out extra capacity). All operations are O(1).
struct ExactDrainMeter: Sendable, Equatable {
    /// Units currently owed; 0 is "empty" (a full token bucket, an idle GCRA key).
    private(set) var levelUnits: UInt64 = 0
    /// The latest time seen; earlier times are treated as this one.
    private(set) var lastNanos: UInt64
    /// Units drained per nanosecond (`p` above).
    let drainUnitsPerNano: UInt64
    /// Units one item costs (`q` above).
    let unitsPerItem: UInt64

    init(drainUnitsPerNano: UInt64, unitsPerItem: UInt64, nowNanos: UInt64) {
        self.drainUnitsPerNano = drainUnitsPerNano
        self.unitsPerItem = unitsPerItem
        self.lastNanos = nowNanos
    }

    /// A meter restored from a snapshot: `levelUnits` owed as of `lastNanos`.
    init(drainUnitsPerNano: UInt64, unitsPerItem: UInt64, levelUnits: UInt64, lastNanos: UInt64) {
        self.init(drainUnitsPerNano: drainUnitsPerNano, unitsPerItem: unitsPerItem, nowNanos: lastNanos)
        self.levelUnits = levelUnits
    }

    /// Drains what the time since the last call has drained. Overflow can only mean "drained it all".
    mutating func drain(toNanos nowNanos: UInt64) {
        guard nowNanos > lastNanos else { return }
        let (drained, overflow) = (nowNanos &- lastNanos).multipliedReportingOverflow(by: drainUnitsPerNano)
        levelUnits = overflow || drained >= levelUnits ? 0 : levelUnits &- drained
        lastNanos = nowNanos
    }

    /// Adds `units` if the level stays at or under `ceilingUnits`; the caller has drained first.
    mutating func fill(_ units: UInt64, ceilingUnits: UInt64) -> Bool {
        guard units <= ceilingUnits, levelUnits <= ceilingUnits &- units else { return false }
        levelUnits &+= units
        return true
    }

    /// Adds `units` unconditionally; the caller checked the ceiling.
    mutating func add(_ units: UInt64) {
        levelUnits &+= units
    }

    /// Nanoseconds until the level has drained down to `targetUnits` (0 if already there), rounded up
    /// so that waiting that long is always enough.
    func nanosUntil(levelAtMost targetUnits: UInt64) -> UInt64 {
        guard levelUnits > targetUnits else { return 0 }
        return Self.divideRoundingUp(levelUnits &- targetUnits, by: drainUnitsPerNano)
    }

    /// The level as of `nowNanos` without changing the meter (for snapshots).
    func level(atNanos nowNanos: UInt64) -> UInt64 {
        var copy = self
        copy.drain(toNanos: nowNanos)
        return copy.levelUnits
    }

    static func divideRoundingUp(_ dividend: UInt64, by divisor: UInt64) -> UInt64 {
        let quotient = dividend / divisor
        return dividend % divisor == 0 ? quotient : quotient + 1
    }
}
