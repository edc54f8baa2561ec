extension CronExpression {
    /// The search gives up this many years after its start (the 400-year Gregorian cycle repeats
    /// every date and weekday, so an expression that fires at all fires well within it).
    public static let searchYearsMax: Int64 = 400

    /// The first instant strictly after `afterMillis` (Unix epoch milliseconds) at which the
    /// expression fires in `zone`, in epoch milliseconds; `nil` when there is none within
    /// `searchYearsMax` years or it does not fit in `UInt64` milliseconds.
    ///
    /// Daylight saving time, decided here once for all zones:
    /// - A wall-clock time the clocks skip (spring forward) fires at the first instant after the
    ///   gap, the transition itself; several matches in one gap fire there once.
    /// - A wall-clock time that shows twice (fall back) fires once, at its first occurrence; the
    ///   repeated hour's second pass fires nothing, so `0 * * * *` skips the second 01:00 in New York.
    ///
    /// Complexity: a few jumps per month and day searched (field sets are bit sets), plus one
    /// `resolve` per candidate minute; candidates are rejected only inside an overlap.
    public func nextFireMillis(afterMillis: UInt64, in zone: some TimeZoneRules) -> UInt64? {
        let afterSeconds = Int64(afterMillis / 1_000)
        let localNow = afterSeconds + Int64(zone.utcOffsetSeconds(atEpochSeconds: afterSeconds))
        var searchFrom = LocalDateTime.floorDivide(localNow, 60).quotient * 60 + 60
        let lastYear = LocalDateTime(localSeconds: localNow).year + Self.searchYearsMax
        while let local = nextMatchingLocalSeconds(atOrAfter: searchFrom, throughYear: lastYear) {
            let instant: Int64 = switch zone.resolve(localSeconds: local) {
            case .unique(let epochSeconds): epochSeconds
            case .ambiguous(let first, _): first
            case .skipped(let next): next
            }
            if instant > afterSeconds {
                let (millis, overflow) = UInt64(instant).multipliedReportingOverflow(by: 1_000)
                return overflow ? nil : millis
            }
            searchFrom = local + 60
        }
        return nil
    }

    /// The first wall-clock minute at or after `localSeconds` (a whole minute) that matches, by
    /// jumping field by field: month, day, hour, minute.
    func nextMatchingLocalSeconds(atOrAfter localSeconds: Int64, throughYear lastYear: Int64) -> Int64? {
        var time = LocalDateTime(localSeconds: localSeconds)
        while time.year <= lastYear {
            guard let month = months.nextSetBit(atOrAbove: time.month) else {
                time = LocalDateTime(year: time.year + 1, month: 1, day: 1)
                continue
            }
            if month != time.month { time = LocalDateTime(year: time.year, month: month, day: 1) }
            guard time.day <= LocalDateTime.daysInMonth(year: time.year, month: time.month) else {
                time = LocalDateTime(year: time.year, month: time.month + 1, day: 1).normalized
                continue
            }
            guard dayMatches(year: time.year, month: time.month, day: time.day) else {
                time = LocalDateTime(year: time.year, month: time.month, day: time.day + 1)
                continue
            }
            guard let hour = hours.nextSetBit(atOrAbove: time.hour) else {
                time = LocalDateTime(year: time.year, month: time.month, day: time.day + 1)
                continue
            }
            if hour != time.hour { (time.hour, time.minute) = (hour, 0) }
            guard let minute = minutes.nextSetBit(atOrAbove: time.minute) else {
                time = LocalDateTime(year: time.year, month: time.month, day: time.day, hour: time.hour + 1).normalized
                continue
            }
            time.minute = minute
            return time.localSeconds
        }
        return nil
    }
}
