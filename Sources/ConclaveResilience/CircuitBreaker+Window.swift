extension CircuitBreaker {
    /// The closed state's sliding window of call outcomes: a ring of buckets with running totals.
    ///
    /// Both kinds are one structure: a count-based window of N calls is N buckets of one call each,
    /// keyed by call sequence; a time-based window is `buckets` buckets keyed by `now / bucketWidth`.
    /// Recording clears the buckets the key moved past (at most all of them) and adds to the newest,
    /// so it is O(1) for count-based windows and O(buckets skipped) for time-based ones; memory is fixed
    /// at construction (12 bytes a bucket).
    struct OutcomeWindow: Sendable, Equatable {
        struct Bucket: Sendable, Equatable {
            var calls: UInt32 = 0
            var failures: UInt32 = 0
            var slowCalls: UInt32 = 0
        }

        private var buckets: [Bucket]
        private(set) var calls = 0
        private(set) var failures = 0
        private(set) var slowCalls = 0
        private var newestKey: UInt64 = 0
        private var newestIndex = 0
        private var nextSequence: UInt64 = 0
        /// Nanoseconds per bucket for a time-based window; 0 for a count-based one.
        private let bucketWidthNanos: UInt64

        init(_ kind: CircuitBreakerWindow) {
            switch kind {
            case .countBased(let calls):
                buckets = Array(repeating: Bucket(), count: calls)
                bucketWidthNanos = 0
            case .timeBased(let windowNanos, let bucketCount):
                buckets = Array(repeating: Bucket(), count: bucketCount)
                bucketWidthNanos = windowNanos / UInt64(bucketCount)
            }
        }

        mutating func record(failed: Bool, slow: Bool, nowNanos: UInt64) {
            if bucketWidthNanos == 0 {
                advance(toKey: nextSequence)
                nextSequence &+= 1
            } else {
                advance(toKey: nowNanos / bucketWidthNanos)
            }
            let failedCount: UInt32 = failed ? 1 : 0
            let slowCount: UInt32 = slow ? 1 : 0
            buckets[newestIndex].calls &+= 1
            buckets[newestIndex].failures &+= failedCount
            buckets[newestIndex].slowCalls &+= slowCount
            calls += 1
            failures += Int(failedCount)
            slowCalls += Int(slowCount)
        }

        /// Forgets every outcome (entering closed starts a fresh window).
        mutating func reset() {
            self = OutcomeWindow(buckets: buckets.count, bucketWidthNanos: bucketWidthNanos)
        }

        /// The totals as of `nowNanos`, without the time-based buckets that have left the window since the
        /// last record (for snapshots).
        func totals(atNanos nowNanos: UInt64) -> (calls: Int, failures: Int, slowCalls: Int) {
            var copy = self
            if bucketWidthNanos != 0 { copy.advance(toKey: nowNanos / bucketWidthNanos) }
            return (copy.calls, copy.failures, copy.slowCalls)
        }

        private init(buckets count: Int, bucketWidthNanos: UInt64) {
            buckets = Array(repeating: Bucket(), count: count)
            self.bucketWidthNanos = bucketWidthNanos
        }

        /// Moves the newest bucket to `key`, clearing the buckets passed over. A key behind the newest (a
        /// clock that stepped back) records into the newest bucket.
        private mutating func advance(toKey key: UInt64) {
            guard key > newestKey else { return }
            let steps = min(key - newestKey, UInt64(buckets.count))
            for _ in 0..<steps {
                newestIndex += 1
                if newestIndex == buckets.count { newestIndex = 0 }
                let expired = buckets[newestIndex]
                calls -= Int(expired.calls)
                failures -= Int(expired.failures)
                slowCalls -= Int(expired.slowCalls)
                buckets[newestIndex] = Bucket()
            }
            newestKey = key
        }
    }
}
