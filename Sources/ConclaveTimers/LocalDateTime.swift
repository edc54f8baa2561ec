/// A wall-clock date and time with no zone attached (proleptic Gregorian calendar), and its count of
/// "local seconds": seconds since 1970-01-01 00:00 on the same wall clock. A zone turns local seconds
/// into instants (`TimeZoneRules.resolve`), which is where gaps and overlaps appear.
///
/// Conversions use Howard Hinnant's days-from-civil algorithms: exact for every year an `Int64` count
/// of seconds can reach, negative years included.
public struct LocalDateTime: Hashable, Sendable, CustomStringConvertible {
    public var year: Int64
    /// 1…12.
    public var month: Int
    /// 1…31.
    public var day: Int
    /// 0…23.
    public var hour: Int
    /// 0…59.
    public var minute: Int
    /// 0…59.
    public var second: Int

    /// Fields are taken as given; out-of-range ones roll over (e.g. day 32 of January is February 1st)
    /// when converted to `localSeconds`.
    public init(year: Int64, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    public init(localSeconds: Int64) {
        let (days, secondOfDay) = Self.floorDivide(localSeconds, 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        self.init(
            year: year, month: month, day: day,
            hour: Int(secondOfDay / 3_600), minute: Int(secondOfDay % 3_600 / 60), second: Int(secondOfDay % 60)
        )
    }

    public var localSeconds: Int64 {
        let monthIndex = Int64(month - 1)
        let (extraYears, monthInYear) = Self.floorDivide(monthIndex, 12)
        let days = Self.days(fromYear: year + extraYears, month: Int(monthInYear) + 1, day: 1) + Int64(day - 1)
        return days * 86_400 + Int64(hour) * 3_600 + Int64(minute) * 60 + Int64(second)
    }

    /// The same instant with every field in range (month 13 of 2023 is January 2024).
    public var normalized: LocalDateTime { LocalDateTime(localSeconds: localSeconds) }

    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int {
        Self.weekday(ofDays: Self.days(fromYear: year, month: month, day: day))
    }

    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }

    public static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a civil date (month 1…12).
    static func days(fromYear year: Int64, month: Int, day: Int) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let monthFromMarch = Int64((month + 9) % 12)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 1970-01-01 was a Thursday.
    static func weekday(ofDays days: Int64) -> Int {
        Int(floorDivide(days + 4, 7).remainder)
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
