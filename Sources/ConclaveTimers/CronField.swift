/// One of the five fields of a cron expression, with its range, its names and its parser.
///
/// Syntax per field (Vixie cron's): a comma-separated list of items; an item is `*`, a value, a range
/// `low-high`, any of these followed by `/step`, or `value/step` meaning `value-max/step`. Values are
/// numbers or, for months and days of the week, three-letter English names in any case (`jan`…`dec`,
/// `sun`…`sat`). Day of week 7 is Sunday, as 0 is. Ranges never wrap (`fri-mon` is refused: write
/// `fri-sat,sun-mon`).
public enum CronField: Int, CaseIterable, Sendable {
    case minute, hour, dayOfMonth, month, dayOfWeek

    /// The name errors use.
    public var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// Accepted numbers (day of week accepts 7 for Sunday).
    public var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Names and the number of the first one, if this field has names.
    private var names: (list: [String], first: Int)? {
        switch self {
        case .month: (Self.monthNames, 1)
        case .dayOfWeek: (Self.weekdayNames, 0)
        default: nil
        }
    }

    /// The set of values `text` selects, as bits (bit `v` for value `v`; Sunday is always bit 0).
    public func parse(_ text: Substring) throws(CronError) -> UInt64 {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw CronError(field: name, value: "'\(text)'", problem: "has an empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw CronError(field: name, value: "'\(item)'", problem: "has more than one '/'") }
            let step = parts.count == 2 ? try parseStep(parts[1]) : 1
            let (low, high) = try parseRange(parts[0], stepped: parts.count == 2)
            for value in stride(from: low, through: high, by: step) {
                bits |= 1 << UInt64(self == .dayOfWeek && value == 7 ? 0 : value)
            }
        }
        return bits
    }

    private func parseStep(_ text: Substring) throws(CronError) -> Int {
        let most = bounds.upperBound - bounds.lowerBound + (self == .dayOfWeek ? 0 : 1)
        guard let step = Int(text), (1...most).contains(step) else {
            throw CronError(field: name, value: "step '\(text)'", problem: "is not a whole number in 1…\(most)")
        }
        return step
    }

    /// `*`, `value`, or `low-high`; a lone value before a step runs to the field's maximum.
    private func parseRange(_ text: Substring, stepped: Bool) throws(CronError) -> (Int, Int) {
        if text == "*" { return (bounds.lowerBound, self == .dayOfWeek ? 6 : bounds.upperBound) }
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        switch ends.count {
        case 1:
            let value = try parseValue(ends[0])
            return (value, stepped ? bounds.upperBound : value)
        case 2:
            let (low, high) = (try parseValue(ends[0]), try parseValue(ends[1]))
            guard low <= high else {
                throw CronError(
                    field: name, value: "range '\(text)'", problem: "runs backwards; ranges do not wrap, write two (e.g. 5-6,0-1)"
                )
            }
            return (low, high)
        default:
            throw CronError(field: name, value: "'\(text)'", problem: "is not a value or a range low-high")
        }
    }

    private func parseValue(_ text: Substring) throws(CronError) -> Int {
        if !text.isEmpty, text.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(text) {
            guard bounds.contains(number) else {
                throw CronError(field: name, value: String(text), problem: "is out of range \(bounds.lowerBound)…\(bounds.upperBound)")
            }
            return number
        }
        if let names, let position = names.list.firstIndex(of: text.lowercased()) {
            return names.first + position
        }
        let accepted = names.map { "a number \(bounds.lowerBound)…\(bounds.upperBound) or a name \($0.list.first!)…\($0.list.last!)" }
            ?? "a number \(bounds.lowerBound)…\(bounds.upperBound)"
        throw CronError(field: name, value: "'\(text)'", problem: "is not \(accepted)")
    }
}

extension UInt64 {
    /// The lowest set bit at or above `value`, if any (bit sets of cron values).
    @inline(__always)
    func nextSetBit(atOrAbove value: Int) -> Int? {
        guard value < 64 else { return nil }
        let remaining = self & ~((1 << UInt64(value)) &- 1)
        return remaining == 0 ? nil : remaining.trailingZeroBitCount
    }

    @inline(__always)
    func containsBit(_ value: Int) -> Bool { (self >> UInt64(value)) & 1 == 1 }
}
