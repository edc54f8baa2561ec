/// A five-field cron expression, `minute hour day-of-month month day-of-week`, as Vixie cron reads
/// it (field syntax: `CronField`), plus the macros `@yearly` (`@annually`), `@monthly`, `@weekly`,
/// `@daily` (`@midnight`) and `@hourly`.
///
/// Days: when both day fields are restricted, a day matches if **either** matches (the classic
/// rule: `0 0 1,15 * mon` fires on the 1st, the 15th and every Monday); when either is unrestricted,
/// both must match. As in Vixie cron, a day field counts as unrestricted when it starts with `*`, so
/// `*/2` is unrestricted for this rule (`0 0 */2 * mon` fires on odd-numbered days that are Mondays).
///
/// An expression that can never fire (`0 0 30 feb *`, `0 0 31 apr,jun *`) is refused when parsed.
/// Firing times are computed by `nextFireMillis(afterMillis:in:)`.
public struct CronExpression: Hashable, Sendable, CustomStringConvertible {
    /// The text as given.
    public let source: String
    /// Selected values as bits: bit `v` set when value `v` is selected (day of week: Sunday is bit 0).
    public let minutes: UInt64
    public let hours: UInt64
    public let daysOfMonth: UInt64
    public let months: UInt64
    public let daysOfWeek: UInt64
    /// Whether each day field starts with `*` (decides between the OR and the AND rule).
    public let dayOfMonthIsUnrestricted: Bool
    public let dayOfWeekIsUnrestricted: Bool

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    /// Longer input is refused before it is split: no real expression comes near.
    public static let sourceLengthMax = 1_024

    /// - Throws: `CronError` naming the field and the value when the text is not a valid expression.
    public init(_ source: String) throws(CronError) {
        guard source.utf8.count <= Self.sourceLengthMax else {
            throw CronError(
                field: "expression", value: "of \(source.utf8.count) bytes", problem: "is longer than \(Self.sourceLengthMax) bytes"
            )
        }
        let trimmed = source.split(whereSeparator: \.isWhitespace)
        let expanded: [Substring]
        if trimmed.count == 1, trimmed[0].hasPrefix("@") {
            guard let macro = Self.macros[trimmed[0].lowercased()] else {
                throw CronError(
                    field: "expression", value: "'\(trimmed[0])'",
                    problem: "is not a supported macro; accepted: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
                )
            }
            expanded = macro.split(separator: " ")
        } else {
            expanded = trimmed
        }
        guard expanded.count == 5 else {
            throw CronError(
                field: "expression", value: "'\(source)'",
                problem: "has \(expanded.count) field\(expanded.count == 1 ? "" : "s"); "
                    + "expected 5: minute hour day-of-month month day-of-week"
            )
        }
        self.source = source
        minutes = try CronField.minute.parse(expanded[0])
        hours = try CronField.hour.parse(expanded[1])
        daysOfMonth = try CronField.dayOfMonth.parse(expanded[2])
        months = try CronField.month.parse(expanded[3])
        daysOfWeek = try CronField.dayOfWeek.parse(expanded[4])
        dayOfMonthIsUnrestricted = expanded[2].hasPrefix("*")
        dayOfWeekIsUnrestricted = expanded[4].hasPrefix("*")
        try requireReachableDay(dayOfMonthText: expanded[2])
    }

    public var description: String { source }

    /// Whether the expression fires at this wall-clock minute (seconds ignored).
    public func matches(_ time: LocalDateTime) -> Bool {
        minutes.containsBit(time.minute) && hours.containsBit(time.hour) && months.containsBit(time.month)
            && dayMatches(year: time.year, month: time.month, day: time.day)
    }

    /// The day rule: AND when either day field is unrestricted, OR when both are restricted.
    func dayMatches(year: Int64, month: Int, day: Int) -> Bool {
        let dayOfMonthMatches = daysOfMonth.containsBit(day)
        let dayOfWeekMatches = daysOfWeek.containsBit(LocalDateTime(year: year, month: month, day: day).weekday)
        return dayOfMonthIsUnrestricted || dayOfWeekIsUnrestricted
            ? dayOfMonthMatches && dayOfWeekMatches
            : dayOfMonthMatches || dayOfWeekMatches
    }

    /// Under the AND rule, some selected day of the month must exist in some selected month (any
    /// weekday falls on any date sooner or later, so only the month lengths can make it impossible).
    private func requireReachableDay(dayOfMonthText: Substring) throws(CronError) {
        guard dayOfMonthIsUnrestricted || dayOfWeekIsUnrestricted else { return }
        let reachable = (1...12).contains { month in
            guard months.containsBit(month) else { return false }
            let longest = month == 2 ? 29 : LocalDateTime.daysInMonth(year: 2001, month: month)
            return daysOfMonth.nextSetBit(atOrAbove: 1).map { $0 <= longest } ?? false
        }
        guard reachable else {
            let monthNames = (1...12).filter { months.containsBit($0) }.map { CronField.monthNames[$0 - 1] }
            throw CronError(
                field: CronField.dayOfMonth.name, value: String(dayOfMonthText),
                problem: "never falls in \(monthNames.joined(separator: ",")); the expression would never fire"
            )
        }
    }
}
