import ConclaveTimers
import Foundation

/// Real time-zone rules (IANA names, daylight saving time) for cron schedules, backed by Foundation's
/// `TimeZone`. The pure core ships only fixed offsets; this is the runtime layer's zone.
///
/// On Linux, Foundation answers from the ICU data it ships (`zoneinfo64`), not from
/// `/usr/share/zoneinfo`, so no tzdata package is needed; the rules are as recent as the toolchain.
/// Gaps and overlaps are resolved by the protocol's default `resolve`, from offsets alone.
public struct FoundationTimeZone: TimeZoneRules, Sendable {
    public let timeZone: TimeZone

    /// - Throws: `CronError` when Foundation knows no zone by that name.
    public init(identifier: String) throws(CronError) {
        guard let timeZone = TimeZone(identifier: identifier) else {
            throw CronError(
                field: "time zone", value: "'\(identifier)'",
                problem: "is not a known time zone identifier; accepted: IANA names such as Europe/Berlin, America/New_York, UTC"
            )
        }
        self.timeZone = timeZone
    }

    public var identifier: String { timeZone.identifier }

    public func utcOffsetSeconds(atEpochSeconds epochSeconds: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
    }
}
