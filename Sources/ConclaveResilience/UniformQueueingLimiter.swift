/// A limiter that spaces requests evenly instead of letting them burst: `count` per `periodNanos`, each
/// admitted request scheduled one interval after the previous one, waiting up to `maxQueueingNanos`
/// rather than being refused (Sentinel's "rate limiter" flow-control behaviour, a leaky bucket as a queue).
///
/// Why: downstreams that suffer from bursts (a database, a third-party API) want a steady drip. The
/// interval `periodNanos / count` is not rounded: the k-th slot after an idle start is at
/// `⌊k × periodNanos / count⌋`, kept exact by carrying the remainder in `slotRemainder`.
///
/// Bound: a request is admitted only if its slot is at most `maxQueueingNanos` away, so at most
/// `queueLengthMax = ⌊maxQueueingNanos × count / periodNanos⌋ + 1` admitted requests are ever waiting.
/// Scheduled start times of admitted requests are never closer than `⌊periodNanos / count⌋`. O(1).
public struct UniformQueueingLimiter: Sendable, Equatable {
    /// Scheduled start of the most recently admitted request.
    private var latestScheduledNanos: UInt64
    /// The fraction of a nanosecond (in units of 1/count) by which the latest slot's exact time exceeds
    /// `latestScheduledNanos`.
    private var slotRemainder: UInt64 = 0
    private var hasAdmitted = false

    public let count: Int
    public let periodNanos: UInt64
    public let maxQueueingNanos: UInt64

    /// - Throws: `ResilienceConfigurationError` when `count` or `periodNanos` is below 1, or
    ///   `count × periodNanos` overflows.
    public init(count: Int, periodNanos: UInt64, maxQueueingNanos: UInt64, nowNanos: UInt64) throws(ResilienceConfigurationError) {
        try Require.positive(count, "count", maximum: 1 << 40)
        try Require.positive(periodNanos, "periodNanos")
        _ = try Require.product(UInt64(count), periodNanos, limit: 1 << 62, "count × periodNanos", "a product below 2^62")
        self.count = count
        self.periodNanos = periodNanos
        self.maxQueueingNanos = maxQueueingNanos
        latestScheduledNanos = nowNanos
    }

    /// The most admitted requests that can be waiting at once.
    public var queueLengthMax: Int {
        let (product, overflow) = maxQueueingNanos.multipliedReportingOverflow(by: UInt64(count))
        return overflow ? Int.max : Int(product / periodNanos) + 1
    }

    /// Admits `permits` and returns how long the caller waits before starting (0: at once), or `nil`
    /// (changing nothing) when that wait would exceed `maxQueueingNanos`. Negative permits are refused.
    public mutating func acquire(_ permits: Int = 1, nowNanos: UInt64) -> UInt64? {
        guard permits >= 0, permits <= count else { return nil }
        let exact = UInt64(permits) * periodNanos + slotRemainder
        let countUnits = UInt64(count)
        let expectedNanos = latestScheduledNanos + exact / countUnits
        if !hasAdmitted || expectedNanos <= nowNanos {
            hasAdmitted = true
            latestScheduledNanos = max(nowNanos, latestScheduledNanos)
            slotRemainder = 0
            return 0
        }
        let waitNanos = expectedNanos - nowNanos
        guard waitNanos <= maxQueueingNanos else { return nil }
        latestScheduledNanos = expectedNanos
        slotRemainder = exact % countUnits
        return waitNanos
    }
}
