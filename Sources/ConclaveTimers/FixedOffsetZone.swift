/// A zone whose offset never changes (UTC, or "UTC+05:30" for a host that keeps no DST): no gaps, no
/// overlaps. For real rules (IANA names, DST), ConclaveCluster offers `FoundationTimeZone`.
public struct FixedOffsetZone: TimeZoneRules, Hashable, Sendable {
    /// Offsets beyond ±18 h are refused, as ISO 8601 and `java.time.ZoneOffset` do; real zones lie within −12 h…+14 h.
    public static let offsetSecondsRange = -64_800...64_800
    public static let utc = FixedOffsetZone(validOffsetSeconds: 0)

    public let offsetSeconds: Int

    /// - Throws: `CronError` when the offset is beyond ±18 hours.
    public init(offsetSeconds: Int) throws(CronError) {
        guard Self.offsetSecondsRange.contains(offsetSeconds) else {
            throw CronError(
                field: "offsetSeconds", value: String(offsetSeconds),
                problem: "is out of range \(Self.offsetSecondsRange.lowerBound)…\(Self.offsetSecondsRange.upperBound) (±18 hours)"
            )
        }
        self.offsetSeconds = offsetSeconds
    }

    private init(validOffsetSeconds: Int) {
        offsetSeconds = validOffsetSeconds
    }

    public func utcOffsetSeconds(atEpochSeconds epochSeconds: Int64) -> Int { offsetSeconds }

    public func resolve(localSeconds: Int64) -> LocalTimeResolution {
        .unique(epochSeconds: localSeconds - Int64(offsetSeconds))
    }
}
