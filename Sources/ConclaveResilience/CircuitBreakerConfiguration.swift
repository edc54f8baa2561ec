/// How a `CircuitBreaker` decides; resilience4j's settings, in nanoseconds.
///
/// The defaults are resilience4j's (count window of 100, minimum 100 calls, 50 % failures, 100 % slow
/// calls at 60 s, 60 s open, 10 probes), so a breaker configured by someone who knows that library
/// behaves as they expect. `CircuitBreaker.init` validates every field and throws on a bad one.
public struct CircuitBreakerConfiguration: Sendable, Equatable {
    /// The sliding window the failure and slow-call rates are computed over while closed.
    public var window: CircuitBreakerWindow
    /// No rate trips the breaker until the window holds at least this many calls.
    public var minimumCalls: Int
    /// Trip when at least this percentage of the window's calls failed (greater than 0, at most 100).
    public var failureRateThresholdPercent: Double
    /// Trip when at least this percentage of the window's calls were slow (greater than 0, at most 100).
    public var slowCallRateThresholdPercent: Double
    /// A call that took at least this long is slow, whether it succeeded or not.
    public var slowCallDurationNanos: UInt64
    /// How long the breaker stays open before it lets probes through.
    public var waitInOpenNanos: UInt64
    /// How many probe calls half-open admits; their outcomes close or reopen the breaker.
    public var halfOpenProbes: Int
    /// Reopen if the probes have not all reported within this long (`nil`: wait for them forever, as
    /// resilience4j's default does; a lost probe then keeps the breaker half-open until an operator acts).
    public var halfOpenMaxWaitNanos: UInt64?
    /// The plain "N failures within T" trip, checked in addition to the rates (`nil`: off).
    public var failureBurst: FailureBurst?
    /// How many recent transitions the snapshot keeps.
    public var transitionHistoryMax: Int

    /// "Open after `failures` failures within `withinNanos`", regardless of how many calls succeeded.
    public struct FailureBurst: Sendable, Equatable {
        public var failures: Int
        public var withinNanos: UInt64

        public init(failures: Int, withinNanos: UInt64) {
            self.failures = failures
            self.withinNanos = withinNanos
        }
    }

    public init(
        window: CircuitBreakerWindow = .countBased(calls: 100),
        minimumCalls: Int = 100,
        failureRateThresholdPercent: Double = 50,
        slowCallRateThresholdPercent: Double = 100,
        slowCallDurationNanos: UInt64 = 60_000_000_000,
        waitInOpenNanos: UInt64 = 60_000_000_000,
        halfOpenProbes: Int = 10,
        halfOpenMaxWaitNanos: UInt64? = nil,
        failureBurst: FailureBurst? = nil,
        transitionHistoryMax: Int = 32
    ) {
        self.window = window
        self.minimumCalls = minimumCalls
        self.failureRateThresholdPercent = failureRateThresholdPercent
        self.slowCallRateThresholdPercent = slowCallRateThresholdPercent
        self.slowCallDurationNanos = slowCallDurationNanos
        self.waitInOpenNanos = waitInOpenNanos
        self.halfOpenProbes = halfOpenProbes
        self.halfOpenMaxWaitNanos = halfOpenMaxWaitNanos
        self.failureBurst = failureBurst
        self.transitionHistoryMax = transitionHistoryMax
    }

    /// Upper bounds on every size, so a typo cannot allocate gigabytes.
    public static let windowCallsMax = 1 << 20
    public static let windowBucketsMax = 1 << 16
    public static let halfOpenProbesMax = 1 << 16
    public static let failureBurstMax = 1 << 16
    public static let transitionHistoryMaxLimit = 4096

    /// Throws on the first invalid field, naming it.
    func validate() throws(ResilienceConfigurationError) {
        switch window {
        case .countBased(let calls):
            try Require.positive(calls, "window.calls", maximum: Self.windowCallsMax)
        case .timeBased(let windowNanos, let buckets):
            try Require.positive(buckets, "window.buckets", maximum: Self.windowBucketsMax)
            try Require.positive(windowNanos, "window.windowNanos")
            guard windowNanos % UInt64(buckets) == 0 else {
                throw ResilienceConfigurationError(
                    parameter: "window.windowNanos", value: String(windowNanos),
                    accepted: "a multiple of window.buckets (\(buckets))"
                )
            }
        }
        try Require.positive(minimumCalls, "minimumCalls", maximum: Self.windowCallsMax)
        try Require.percent(failureRateThresholdPercent, "failureRateThresholdPercent")
        try Require.percent(slowCallRateThresholdPercent, "slowCallRateThresholdPercent")
        try Require.positive(slowCallDurationNanos, "slowCallDurationNanos")
        try Require.positive(waitInOpenNanos, "waitInOpenNanos")
        try Require.positive(halfOpenProbes, "halfOpenProbes", maximum: Self.halfOpenProbesMax)
        if let halfOpenMaxWaitNanos { try Require.positive(halfOpenMaxWaitNanos, "halfOpenMaxWaitNanos") }
        if let failureBurst {
            try Require.positive(failureBurst.failures, "failureBurst.failures", maximum: Self.failureBurstMax)
            try Require.positive(failureBurst.withinNanos, "failureBurst.withinNanos")
        }
        try Require.positive(transitionHistoryMax, "transitionHistoryMax", maximum: Self.transitionHistoryMaxLimit)
    }
}

/// The window a closed breaker judges by.
public enum CircuitBreakerWindow: Sendable, Equatable {
    /// The last `calls` calls.
    case countBased(calls: Int)
    /// The calls of the last `windowNanos`, kept in `buckets` equal slices (`windowNanos` must be a
    /// multiple of `buckets`); a slice leaves the window whole, so the window spans between
    /// `windowNanos − windowNanos/buckets` and `windowNanos`.
    case timeBased(windowNanos: UInt64, buckets: Int)
}
