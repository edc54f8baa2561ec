import ConclaveTimers

/// America/New_York's rules since 2007, written out so the pure core's daylight-saving handling is
/// tested without Foundation: EDT (−4 h) from the second Sunday of March, 02:00 EST, to the first
/// Sunday of November, 02:00 EDT; EST (−5 h) otherwise. Uses the default `resolve`.
struct USEasternTestZone: TimeZoneRules {
    func utcOffsetSeconds(atEpochSeconds epochSeconds: Int64) -> Int {
        let year = LocalDateTime(localSeconds: epochSeconds).year
        let start = Self.sunday(year: year, month: 3, nth: 2) * 86_400 + 7 * 3_600
        let end = Self.sunday(year: year, month: 11, nth: 1) * 86_400 + 6 * 3_600
        return epochSeconds >= start && epochSeconds < end ? -14_400 : -18_000
    }

    /// Days since the epoch of the `nth` Sunday of a month.
    static func sunday(year: Int64, month: Int, nth: Int) -> Int64 {
        let first = LocalDateTime(year: year, month: month, day: 1)
        let firstSunday = 1 + (7 - first.weekday) % 7
        return LocalDateTime(year: year, month: month, day: firstSunday + 7 * (nth - 1)).localSeconds / 86_400
    }
}

/// Epoch seconds of a UTC wall time, for readable expectations.
func utc(_ year: Int64, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Int64 {
    LocalDateTime(year: year, month: month, day: day, hour: hour, minute: minute).localSeconds
}

/// Epoch milliseconds of a UTC wall time.
func utcMillis(_ year: Int64, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> UInt64 {
    UInt64(utc(year, month, day, hour, minute)) * 1_000
}
