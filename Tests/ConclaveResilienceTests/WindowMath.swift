/// Helpers the limiter tests share: brute-force checks of "at most so many in any window".
enum WindowMath {
    /// The most events in any half-open window `(t − windowNanos, t]`, for sorted event times.
    static func maxEventsInAnyWindow(_ sortedTimes: [UInt64], windowNanos: UInt64) -> Int {
        var best = 0
        var left = 0
        for right in sortedTimes.indices {
            while sortedTimes[right] - sortedTimes[left] >= windowNanos { left += 1 }
            best = max(best, right - left + 1)
        }
        return best
    }

    /// Checks a rate contract over every pair of events: between the i-th and j-th event (inclusive)
    /// at most `allowance(t_j − t_i)` events happened. Returns the first violating pair, if any. O(n²).
    static func firstViolation(_ sortedTimes: [UInt64], allowance: (UInt64) -> Int) -> (Int, Int)? {
        for first in sortedTimes.indices {
            for last in first..<sortedTimes.count
            where last - first + 1 > allowance(sortedTimes[last] - sortedTimes[first]) {
                return (first, last)
            }
        }
        return nil
    }
}
