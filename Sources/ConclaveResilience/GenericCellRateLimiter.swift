/// GCRA (the generic cell rate algorithm, "leaky bucket as a meter") with redis-cell's semantics:
/// `count` requests per `periodNanos` with bursts of up to `maxBurst` more, answering each request with
/// limit, remaining, retry-after and reset-after.
///
/// Why GCRA: it keeps one number per key (the theoretical arrival time) instead of a count and a
/// timestamp, and it answers "when may I retry" exactly, which is what `CL.THROTTLE` clients need.
/// The theoretical arrival time is kept as the debt of an `ExactDrainMeter` (TAT − now, in units where
/// one request costs `periodNanos` and time pays back `count` per nanosecond), so the emission interval
/// `periodNanos / count` is never rounded.
///
/// Contract (as redis-cell): `limit` is `maxBurst + 1`; a request of `quantity` is allowed when the
/// debt after it stays within `limit` emission intervals. Over any interval of length `T`, at most
/// `limit + ⌊T × count / periodNanos⌋` requests are allowed. O(1), allocation-free.
public struct GenericCellRateLimiter: Sendable, Equatable {
    var meter: ExactDrainMeter
    /// The delay variation tolerance in units: `limit × periodNanos`.
    let toleranceUnits: UInt64

    public let count: Int
    public let periodNanos: UInt64
    public let maxBurst: Int
    /// redis-cell's "limit": the number of requests allowed at once from idle (`maxBurst + 1`).
    public var limit: Int { maxBurst + 1 }

    /// - Throws: `ResilienceConfigurationError` when `count` or `periodNanos` is below 1, `maxBurst` is
    ///   negative or above 2⁴⁰, or `(maxBurst + 1) × periodNanos` does not fit in 2⁶² units.
    public init(count: Int, periodNanos: UInt64, maxBurst: Int, nowNanos: UInt64) throws(ResilienceConfigurationError) {
        try Require.positive(count, "count", maximum: 1 << 40)
        try Require.positive(periodNanos, "periodNanos")
        try Require.nonNegative(maxBurst, "maxBurst", maximum: 1 << 40)
        toleranceUnits = try Require.product(
            UInt64(maxBurst + 1), periodNanos, limit: 1 << 62, "(maxBurst + 1) × periodNanos",
            "a product below 2^62 (use a shorter period or a smaller burst)"
        )
        self.count = count
        self.periodNanos = periodNanos
        self.maxBurst = maxBurst
        meter = ExactDrainMeter(drainUnitsPerNano: UInt64(count), unitsPerItem: periodNanos, nowNanos: nowNanos)
    }

    /// Decides a request of `quantity` (redis-cell's optional last argument, 1 by default). A refused
    /// request changes nothing; a negative quantity is refused and can never succeed.
    public mutating func request(_ quantity: Int = 1, nowNanos: UInt64) -> CellRateDecision {
        meter.drain(toNanos: nowNanos)
        guard quantity >= 0, quantity <= limit else {
            return decision(allowed: false, retryAfterNanos: nil)
        }
        let costUnits = UInt64(truncatingIfNeeded: quantity) &* periodNanos
        if meter.fill(costUnits, ceilingUnits: toleranceUnits) {
            return decision(allowed: true, retryAfterNanos: nil)
        }
        var after = meter
        after.add(costUnits)
        return decision(allowed: false, retryAfterNanos: after.nanosUntil(levelAtMost: toleranceUnits))
    }

    /// The fast path: `request(1, …).allowed` without building the full answer.
    public mutating func allow(nowNanos: UInt64) -> Bool {
        meter.drain(toNanos: nowNanos)
        return meter.fill(periodNanos, ceilingUnits: toleranceUnits)
    }

    private func decision(allowed: Bool, retryAfterNanos: UInt64?) -> CellRateDecision {
        CellRateDecision(
            allowed: allowed, limit: limit,
            remaining: Int((toleranceUnits - meter.levelUnits) / periodNanos),
            retryAfterNanos: retryAfterNanos,
            resetAfterNanos: meter.nanosUntil(levelAtMost: 0)
        )
    }
}

/// GCRA's answer, field for field what redis-cell's `CL.THROTTLE` returns (in nanoseconds, not seconds).
public struct CellRateDecision: Equatable, Sendable {
    /// Whether the request may proceed (redis-cell's first field is the opposite: "limited").
    public var allowed: Bool
    /// `maxBurst + 1`.
    public var limit: Int
    /// Requests of 1 that would be allowed right now, after this decision.
    public var remaining: Int
    /// When refused: how long until the same request would be allowed; `nil` when allowed, or when the
    /// quantity exceeds `limit` and no wait would help (redis-cell's -1 in both cases).
    public var retryAfterNanos: UInt64?
    /// How long until the limiter is back to idle (full `limit` available).
    public var resetAfterNanos: UInt64

    /// Public so that a decision recorded elsewhere (a replicated state machine's snapshot of its
    /// answers) can be rebuilt as it was.
    public init(allowed: Bool, limit: Int, remaining: Int, retryAfterNanos: UInt64?, resetAfterNanos: UInt64) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.retryAfterNanos = retryAfterNanos
        self.resetAfterNanos = resetAfterNanos
    }
}
