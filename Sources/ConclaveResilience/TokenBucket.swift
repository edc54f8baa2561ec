/// A token bucket with exact refill: `refillTokens` tokens every `refillIntervalNanos`, up to `capacity`.
///
/// Why exact: a bucket that stores tokens as a `Double`, or converts elapsed time to whole tokens and
/// throws the remainder away, hands out slightly more or fewer tokens than its rate over a long run,
/// and the error grows with the call rate. This one keeps the bucket as an integer count of units
/// (`ExactDrainMeter`), so after any sequence of calls it has refilled exactly
/// `elapsed × refillTokens / refillIntervalNanos` tokens, fraction included. The fraction is dropped
/// only when the bucket is full, which is what a full bucket means.
///
/// Over any interval of length `T` the bucket grants at most `capacity + ⌊T × refillTokens /
/// refillIntervalNanos⌋` tokens (plus what `reserve` borrowed, which is paid back before anything new
/// is granted).
///
/// `reserve` is the core of an asynchronous `wait(n, deadline)`: it takes the tokens now and says how
/// long the caller must wait before using them; the runtime owns the sleeping. Reservations may borrow at
/// most `capacity` tokens ahead (`reservationTokensMax`): that is the bound on queued work.
///
/// Every operation is O(1) and allocation-free. The bucket starts full.
public struct TokenBucket: Sendable, Equatable {
    private var meter: ExactDrainMeter
    /// Units of a full bucket (`capacity × refillIntervalNanos`).
    private let capacityUnits: UInt64

    /// The most tokens the bucket holds, and so the largest burst.
    public let capacity: Int
    /// Tokens added per `refillIntervalNanos`.
    public let refillTokens: Int
    public let refillIntervalNanos: UInt64
    /// The largest number of tokens the bucket hands out ahead of refill through `reserve`.
    public var reservationTokensMax: Int { capacity }
    /// The largest bucket accepted: capacity × refillIntervalNanos must also stay under 2⁶².
    public static let capacityMax = 1 << 40

    /// - Throws: `ResilienceConfigurationError` when a value is below 1, `capacity` exceeds
    ///   `capacityMax`, or `capacity × refillIntervalNanos` does not fit in 2⁶² units.
    public init(capacity: Int, refillTokens: Int, refillIntervalNanos: UInt64, nowNanos: UInt64)
        throws(ResilienceConfigurationError)
    {
        try Require.positive(capacity, "capacity", maximum: Self.capacityMax)
        try Require.positive(refillTokens, "refillTokens", maximum: 1 << 40)
        try Require.positive(refillIntervalNanos, "refillIntervalNanos")
        capacityUnits = try Require.product(
            UInt64(capacity), refillIntervalNanos, limit: 1 << 62, "capacity × refillIntervalNanos",
            "a product below 2^62 (use a shorter interval or a smaller capacity)"
        )
        self.capacity = capacity
        self.refillTokens = refillTokens
        self.refillIntervalNanos = refillIntervalNanos
        meter = ExactDrainMeter(
            drainUnitsPerNano: UInt64(refillTokens), unitsPerItem: refillIntervalNanos, nowNanos: nowNanos
        )
    }

    /// A bucket refilling `tokensPerSecond` tokens each second, exactly.
    public init(capacity: Int, tokensPerSecond: Int, nowNanos: UInt64) throws(ResilienceConfigurationError) {
        try self.init(capacity: capacity, refillTokens: tokensPerSecond, refillIntervalNanos: 1_000_000_000, nowNanos: nowNanos)
    }

    /// Takes `tokens` if the bucket holds them now; otherwise takes nothing. `tokens` of 0 is always
    /// allowed; a negative count or more than `capacity` never is.
    public mutating func allow(_ tokens: Int = 1, nowNanos: UInt64) -> Bool {
        guard tokens >= 0, tokens <= capacity else { return false }
        meter.drain(toNanos: nowNanos)
        return meter.fill(UInt64(truncatingIfNeeded: tokens) &* refillIntervalNanos, ceilingUnits: capacityUnits)
    }

    /// Takes `tokens` now, possibly ahead of refill, and returns how long the caller must wait before
    /// using them; refuses (taking nothing) when the wait would exceed `maxWaitNanos`, when the count
    /// can never be granted, or when `reservationTokensMax` tokens are already borrowed.
    public mutating func reserve(_ tokens: Int = 1, nowNanos: UInt64, maxWaitNanos: UInt64) -> TokenReservation {
        guard tokens >= 0, tokens <= capacity else { return .refused(.moreThanCapacity) }
        meter.drain(toNanos: nowNanos)
        let costUnits = UInt64(truncatingIfNeeded: tokens) &* refillIntervalNanos
        guard meter.levelUnits &+ costUnits <= capacityUnits &* 2 else { return .refused(.reservationsFull) }
        var after = meter
        after.add(costUnits)
        let waitNanos = after.nanosUntil(levelAtMost: capacityUnits)
        guard waitNanos <= maxWaitNanos else { return .refused(.waitTooLong(waitNanos: waitNanos)) }
        meter = after
        return .granted(waitNanos: waitNanos)
    }

    /// Whole tokens available at `nowNanos` (0 while reservations are being paid back).
    public func availableTokens(atNanos nowNanos: UInt64) -> Int {
        let level = meter.level(atNanos: nowNanos)
        guard level < capacityUnits else { return 0 }
        return Int((capacityUnits - level) / refillIntervalNanos)
    }
}

/// The answer to `TokenBucket.reserve`.
public enum TokenReservation: Equatable, Sendable {
    /// The tokens are taken; use them after `waitNanos` (0: at once).
    case granted(waitNanos: UInt64)
    /// Nothing was taken.
    case refused(TokenRefusal)
}

/// Why `TokenBucket.reserve` took nothing.
public enum TokenRefusal: Equatable, Sendable {
    /// The tokens would be ready only after `waitNanos`, more than the caller will wait.
    case waitTooLong(waitNanos: UInt64)
    /// The count is negative or larger than the bucket's capacity, so no wait would ever do.
    case moreThanCapacity
    /// `reservationTokensMax` tokens are already borrowed ahead of refill.
    case reservationsFull
}
