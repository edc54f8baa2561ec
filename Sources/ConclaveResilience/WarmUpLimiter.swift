/// A limiter that starts cold and ramps up to its stable rate over a warm-up period: Guava's
/// `SmoothWarmingUp` (and Sentinel's warm-up controller, which copies it).
///
/// Why: a service that was idle (cold caches, cold connection pools, a JIT) cannot take its full rate at
/// once. Unused time accumulates "stored permits" up to `maxPermits`; spending a stored permit above
/// `thresholdPermits` costs more than the stable interval — up to `coldFactor ×` it at `maxPermits` —
/// so after idleness the rate climbs from `stable / coldFactor` to `stable` over `warmUpPeriodNanos`.
/// The formulas are Guava's, in nanoseconds: `thresholdPermits = ½ warmUp / stableInterval`,
/// `maxPermits = threshold + 2 warmUp / (stableInterval + coldInterval)`, and the time to spend stored
/// permits is the area under the line from `stableInterval` at the threshold to `coldInterval` at the max.
///
/// Like Guava, a request pays for the *previous* one: it is admitted when the limiter's next free time is
/// within `maxWaitNanos`, and its own cost pushes the next free time back. The wait is the bound on the
/// queue: nothing is admitted that would wait longer than the caller's `maxWaitNanos`. The permit
/// arithmetic is `Double` as in Guava (the curve is continuous); times are whole nanoseconds. O(1).
public struct WarmUpLimiter: Sendable, Equatable {
    private var storedPermits: Double
    private var nextFreeNanos: UInt64
    private let stableIntervalNanos: Double
    private let thresholdPermits: Double
    private let slope: Double
    private let coolDownIntervalNanos: Double

    /// Permits stored after a full cool-down; spending them all costs the warm-up period.
    public let maxPermits: Double
    public let permitsPerSecond: Double
    public let warmUpPeriodNanos: UInt64
    public let coldFactor: Double

    /// - Throws: `ResilienceConfigurationError` when `permitsPerSecond` is not a finite number above 0,
    ///   `warmUpPeriodNanos` is 0, or `coldFactor` is below 1 (Guava's default is 3).
    public init(permitsPerSecond: Double, warmUpPeriodNanos: UInt64, coldFactor: Double = 3, nowNanos: UInt64)
        throws(ResilienceConfigurationError)
    {
        try Require.positive(permitsPerSecond, "permitsPerSecond")
        try Require.positive(warmUpPeriodNanos, "warmUpPeriodNanos")
        guard coldFactor.isFinite, coldFactor >= 1 else {
            throw ResilienceConfigurationError(parameter: "coldFactor", value: "\(coldFactor)", accepted: "a finite number of at least 1")
        }
        self.permitsPerSecond = permitsPerSecond
        self.warmUpPeriodNanos = warmUpPeriodNanos
        self.coldFactor = coldFactor
        let warmUp = Double(warmUpPeriodNanos)
        stableIntervalNanos = 1e9 / permitsPerSecond
        let coldIntervalNanos = stableIntervalNanos * coldFactor
        thresholdPermits = 0.5 * warmUp / stableIntervalNanos
        maxPermits = thresholdPermits + 2.0 * warmUp / (stableIntervalNanos + coldIntervalNanos)
        slope = maxPermits > thresholdPermits ? (coldIntervalNanos - stableIntervalNanos) / (maxPermits - thresholdPermits) : 0
        coolDownIntervalNanos = warmUp / maxPermits
        storedPermits = maxPermits
        nextFreeNanos = nowNanos
    }

    /// Admits `permits` if the limiter is free within `maxWaitNanos` and returns how long the caller waits
    /// (0: at once); returns `nil` and changes nothing otherwise. Negative permits are refused.
    public mutating func acquire(_ permits: Int = 1, nowNanos: UInt64, maxWaitNanos: UInt64) -> UInt64? {
        guard permits >= 0 else { return nil }
        guard nextFreeNanos <= nowNanos || nextFreeNanos - nowNanos <= maxWaitNanos else { return nil }
        resynchronize(nowNanos: nowNanos)
        let momentAvailable = nextFreeNanos
        let storedToSpend = min(Double(permits), storedPermits)
        let freshPermits = Double(permits) - storedToSpend
        let costNanos = storedPermitsToWaitTime(storedToSpend) + freshPermits * stableIntervalNanos
        nextFreeNanos = Self.adding(costNanos, to: nextFreeNanos)
        storedPermits -= storedToSpend
        return momentAvailable > nowNanos ? momentAvailable - nowNanos : 0
    }

    /// Stored permits as of `nowNanos` (for the console: how cold the limiter is).
    public func storedPermits(atNanos nowNanos: UInt64) -> Double {
        var copy = self
        copy.resynchronize(nowNanos: nowNanos)
        return copy.storedPermits
    }

    /// Guava's `resync`: idle time since the next free moment refills stored permits.
    private mutating func resynchronize(nowNanos: UInt64) {
        guard nowNanos > nextFreeNanos else { return }
        let newPermits = Double(nowNanos - nextFreeNanos) / coolDownIntervalNanos
        storedPermits = min(maxPermits, storedPermits + newPermits)
        nextFreeNanos = nowNanos
    }

    /// The area under the warm-up line for spending `permitsToTake` of the stored permits, from the top.
    private func storedPermitsToWaitTime(_ permitsToTake: Double) -> Double {
        var remaining = permitsToTake
        var nanos = 0.0
        let aboveThreshold = storedPermits - thresholdPermits
        if aboveThreshold > 0 {
            let takenAbove = min(aboveThreshold, remaining)
            let length = intervalNanos(atPermits: aboveThreshold) + intervalNanos(atPermits: aboveThreshold - takenAbove)
            nanos = takenAbove * length / 2.0
            remaining -= takenAbove
        }
        return nanos + stableIntervalNanos * remaining
    }

    private func intervalNanos(atPermits permits: Double) -> Double {
        stableIntervalNanos + permits * slope
    }

    /// `base + nanos`, rounded to the nearest nanosecond and saturating instead of overflowing.
    private static func adding(_ nanos: Double, to base: UInt64) -> UInt64 {
        let rounded = nanos.rounded()
        guard rounded < Double(UInt64.max - base) else { return UInt64.max }
        return base + UInt64(rounded)
    }
}
