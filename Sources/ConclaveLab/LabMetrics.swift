import Histogram

/// The arithmetic behind the figures, kept apart so that it can be checked by hand.
public enum LabMetrics {
    /// Jain's fairness index, (Σx)² / (n·Σx²): 1 when every worker got the same share, 1/n when one
    /// got everything. Empty or all-zero input counts as fair (nobody was favoured).
    public static func jainIndex(_ shares: [Double]) -> Double {
        let sum = shares.reduce(0, +)
        let sumOfSquares = shares.reduce(0) { $0 + $1 * $1 }
        guard !shares.isEmpty, sumOfSquares > 0 else { return 1 }
        return sum * sum / (Double(shares.count) * sumOfSquares)
    }

    /// The share of CPU that did not go to the work asked for: spinning, failed tries, futex
    /// wake-ups, the lab's own bookkeeping. 0 when no CPU was used.
    public static func wastedShare(cpuNanos: UInt64, usefulNanos: UInt64) -> Double {
        guard cpuNanos > 0 else { return 0 }
        return Double(cpuNanos - min(cpuNanos, usefulNanos)) / Double(cpuNanos)
    }

    /// Nanosecond latencies from 1 ns to 100 s at three significant digits.
    public static func latencyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three)
    }
}
