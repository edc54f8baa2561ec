/// Durations in log-linear buckets — eight per power of two, so a quantile is within 12.5 % —
/// from 1 µs to days, in a fixed 2.5 KiB: cheap enough to record every WAL sync (etcd's
/// `wal_fsync_duration_seconds`), precise enough to say where a commit's time goes.
public struct DurationBuckets: Sendable, Equatable {
    private var counts = [UInt64](repeating: 0, count: DurationBuckets.bucketCount)
    /// Durations recorded.
    public private(set) var count: UInt64 = 0

    public init() {}

    /// 0…7 µs one each, then eight per power of two up to 2⁵⁴ µs (a UInt64 of nanoseconds).
    static let bucketCount = 8 + 51 * 8

    public mutating func record(nanos: UInt64) {
        counts[Self.index(micros: nanos / 1_000)] += 1
        count += 1
    }

    /// The duration (ns) that a fraction `q` (0…1) of those recorded did not exceed: the upper
    /// bound of the bucket it falls in. 0 when nothing was recorded.
    public func quantile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((min(max(q, 0), 1) * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucket) in counts.enumerated() where bucket > 0 {
            seen += bucket
            if seen >= rank { return Self.upperBound(index) * 1_000 }
        }
        return Self.upperBound(counts.count - 1) * 1_000
    }

    /// 0…7 µs exactly; above, the power of two and the next three bits.
    static func index(micros: UInt64) -> Int {
        guard micros >= 8 else { return Int(micros) }
        let exponent = 63 - micros.leadingZeroBitCount
        let sub = Int((micros >> (exponent - 3)) & 7)
        return 8 + (exponent - 3) * 8 + sub
    }

    /// The first duration (µs) past bucket `index`.
    static func upperBound(_ index: Int) -> UInt64 {
        guard index >= 8 else { return UInt64(index) + 1 }
        let exponent = (index - 8) / 8 + 3
        let sub = UInt64((index - 8) % 8)
        return (8 + sub + 1) << (exponent - 3)
    }
}
