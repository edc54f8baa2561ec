/// A fixed window counter: at most `limit` events in each window `[k × windowNanos, (k+1) × windowNanos)`.
///
/// Why keep the crude one: it is what `INCR` + `EXPIRE` gives, it is O(1) with one counter, and it is
/// the baseline the sliding types are measured against. Its stated error: an arbitrary window of length
/// `windowNanos` straddling a boundary can hold up to `2 × limit`. O(1), allocation-free.
public struct FixedWindowCounter: Sendable, Equatable {
    private var currentWindow: UInt64 = 0
    private var currentCount = 0

    public let limit: Int
    public let windowNanos: UInt64

    /// - Throws: `ResilienceConfigurationError` when `limit` is below 1 or `windowNanos` is 0.
    public init(limit: Int, windowNanos: UInt64) throws(ResilienceConfigurationError) {
        try Require.positive(limit, "limit")
        try Require.positive(windowNanos, "windowNanos")
        self.limit = limit
        self.windowNanos = windowNanos
    }

    /// Counts `events` if the current window stays within `limit`; otherwise nothing. A `nowNanos` in an
    /// earlier window than the last call's counts in the last call's window.
    public mutating func allow(_ events: Int = 1, nowNanos: UInt64) -> Bool {
        guard events >= 0, events <= limit else { return false }
        let window = nowNanos / windowNanos
        if window > currentWindow {
            currentWindow = window
            currentCount = 0
        }
        guard currentCount + events <= limit else { return false }
        currentCount += events
        return true
    }

    /// Events counted in the window holding `nowNanos`.
    public func count(atNanos nowNanos: UInt64) -> Int {
        nowNanos / windowNanos > currentWindow ? 0 : currentCount
    }
}
