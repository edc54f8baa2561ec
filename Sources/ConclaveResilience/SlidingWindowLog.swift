/// A sliding window log: at most `limit` events in any window of `windowNanos`, exactly.
///
/// Why: counters approximate; only a log of the admitted events' times can guarantee that no window
/// of length `windowNanos` — however it is placed — holds more than `limit` of them. The log is a
/// ring of exactly `limit` timestamps (O(limit) memory, allocated once), because an event older than
/// the window can be forgotten and a full ring refuses before it could grow.
///
/// An event at time `t` counts in the window `(now − windowNanos, now]`. Times only move forward: a
/// `nowNanos` earlier than the newest logged event is treated as that event's time. `allow(n)` is
/// O(n) plus amortized O(1) eviction; no allocation after construction.
public struct SlidingWindowLog: Sendable, Equatable {
    private var timestamps: [UInt64]
    /// Index of the oldest logged event.
    private var oldestIndex = 0
    /// Events currently logged (some may have left the window; `evict` drops them).
    private var loggedCount = 0
    private var newestNanos: UInt64 = 0

    public let limit: Int
    public let windowNanos: UInt64
    /// The largest `limit` accepted: the log holds one 8-byte timestamp per permitted event.
    public static let limitMax = 1 << 24

    /// - Throws: `ResilienceConfigurationError` when `limit` is outside `1...limitMax` or
    ///   `windowNanos` is 0.
    public init(limit: Int, windowNanos: UInt64) throws(ResilienceConfigurationError) {
        try Require.positive(limit, "limit", maximum: Self.limitMax)
        try Require.positive(windowNanos, "windowNanos")
        self.limit = limit
        self.windowNanos = windowNanos
        timestamps = Array(repeating: 0, count: limit)
    }

    /// Logs `events` at `nowNanos` if the window then holds at most `limit`; otherwise logs nothing.
    /// 0 events is always allowed; a negative count or more than `limit` never is.
    public mutating func allow(_ events: Int = 1, nowNanos: UInt64) -> Bool {
        guard events >= 0, events <= limit else { return false }
        let now = max(nowNanos, newestNanos)
        evict(nowNanos: now)
        guard loggedCount + events <= limit else { return false }
        for _ in 0..<events {
            var slot = oldestIndex + loggedCount
            if slot >= limit { slot -= limit }
            timestamps[slot] = now
            loggedCount += 1
        }
        newestNanos = now
        return true
    }

    /// Events in the window `(nowNanos − windowNanos, nowNanos]`.
    public func count(atNanos nowNanos: UInt64) -> Int {
        var copy = self
        copy.evict(nowNanos: max(nowNanos, newestNanos))
        return copy.loggedCount
    }

    /// How long until `events` more would be allowed (0: now; `nil`: never, the count exceeds `limit`).
    public func nanosUntilAllowed(_ events: Int = 1, atNanos nowNanos: UInt64) -> UInt64? {
        guard events >= 0, events <= limit else { return nil }
        var copy = self
        let now = max(nowNanos, newestNanos)
        copy.evict(nowNanos: now)
        let mustLeave = copy.loggedCount + events - limit
        guard mustLeave > 0 else { return 0 }
        var slot = copy.oldestIndex + mustLeave - 1
        if slot >= limit { slot -= limit }
        return copy.timestamps[slot] + windowNanos - now
    }

    private mutating func evict(nowNanos: UInt64) {
        while loggedCount > 0, nowNanos - timestamps[oldestIndex] >= windowNanos {
            oldestIndex += 1
            if oldestIndex == limit { oldestIndex = 0 }
            loggedCount -= 1
        }
    }
}
