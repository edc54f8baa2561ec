import ConclaveTimers
import Testing

@Suite struct CronExpressionTests {
    private func values(_ bits: UInt64) -> [Int] { (0..<64).filter { bits >> UInt64($0) & 1 == 1 } }

    @Test("ranges, steps, lists and names select the right values")
    func parsesFields() throws {
        let expression = try CronExpression("1,5-10/2,58 */6 1-31/10 JAN-mar,Dec mon-fri")
        #expect(values(expression.minutes) == [1, 5, 7, 9, 58])
        #expect(values(expression.hours) == [0, 6, 12, 18])
        #expect(values(expression.daysOfMonth) == [1, 11, 21, 31])
        #expect(values(expression.months) == [1, 2, 3, 12])
        #expect(values(expression.daysOfWeek) == [1, 2, 3, 4, 5])
        #expect(values(try CronExpression("5/20 * * * *").minutes) == [5, 25, 45])
        #expect(values(try CronExpression("  0\t0  *  *  sun ").daysOfWeek) == [0])
    }

    @Test("day of week 7 is Sunday, alone and at the end of a range")
    func sundayIsSevenToo() throws {
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == CronExpression("0 0 * * 0").daysOfWeek)
        #expect(values(try CronExpression("0 0 * * 5-7").daysOfWeek) == [0, 5, 6])
        #expect(values(try CronExpression("0 0 * * */2").daysOfWeek) == [0, 2, 4, 6])
    }

    @Test("macros expand to their five fields", arguments: [
        ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"), ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@HOURLY", "0 * * * *"),
    ])
    func macros(macro: String, fields: String) throws {
        let expanded = try CronExpression(macro)
        let written = try CronExpression(fields)
        #expect(expanded.minutes == written.minutes && expanded.hours == written.hours)
        #expect(expanded.daysOfMonth == written.daysOfMonth && expanded.months == written.months)
        #expect(expanded.daysOfWeek == written.daysOfWeek)
    }

    @Test("the OR rule applies only when both day fields are restricted, and * prefixes count as unrestricted")
    func dayRule() throws {
        let both = try CronExpression("0 0 13 * fri")
        #expect(!both.dayOfMonthIsUnrestricted && !both.dayOfWeekIsUnrestricted)
        let stepped = try CronExpression("0 0 */2 * mon")
        #expect(stepped.dayOfMonthIsUnrestricted)
        // 2024-09-06 is a Friday, the 13th is a Friday too, the 12th neither.
        #expect(both.matches(LocalDateTime(year: 2024, month: 9, day: 6)))
        #expect(both.matches(LocalDateTime(year: 2024, month: 9, day: 13)))
        #expect(!both.matches(LocalDateTime(year: 2024, month: 9, day: 12)))
        // AND: odd-numbered days that are Mondays (2024-01-08 is an even Monday, 01-15 an odd one).
        #expect(!stepped.matches(LocalDateTime(year: 2024, month: 1, day: 8)))
        #expect(stepped.matches(LocalDateTime(year: 2024, month: 1, day: 15)))
        #expect(!stepped.matches(LocalDateTime(year: 2024, month: 1, day: 17)))
    }

    @Test("bad expressions name the field and the value", arguments: [
        ("61 * * * *", "minute: 61 is out of range 0…59"),
        ("* 25 * * *", "hour: 25 is out of range 0…23"),
        ("* * 0 * *", "day-of-month: 0 is out of range 1…31"),
        ("* * * 13 *", "month: 13 is out of range 1…12"),
        ("* * * * 8", "day-of-week: 8 is out of range 0…7"),
        ("* * * foo *", "month: 'foo' is not a number 1…12 or a name jan…dec"),
        ("* * * * funday", "day-of-week: 'funday' is not a number 0…7 or a name sun…sat"),
        ("mon * * * *", "minute: 'mon' is not a number 0…59"),
        ("*/0 * * * *", "minute: step '0' is not a whole number in 1…60"),
        ("*/x * * * *", "minute: step 'x' is not a whole number in 1…60"),
        ("5-1 * * * *", "minute: range '5-1' runs backwards; ranges do not wrap, write two (e.g. 5-6,0-1)"),
        ("1-2-3 * * * *", "minute: '1-2-3' is not a value or a range low-high"),
        ("1/2/3 * * * *", "minute: '1/2/3' has more than one '/'"),
        ("1,,2 * * * *", "minute: '1,,2' has an empty list item"),
        ("* * * *", "expression: '* * * *' has 4 fields; expected 5: minute hour day-of-month month day-of-week"),
        ("", "expression: '' has 0 fields; expected 5: minute hour day-of-month month day-of-week"),
        ("@reboot", "expression: '@reboot' is not a supported macro; accepted: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"),
        ("0 0 30 feb *", "day-of-month: 30 never falls in feb; the expression would never fire"),
        ("0 0 31 4,6,9,11 *", "day-of-month: 31 never falls in apr,jun,sep,nov; the expression would never fire"),
    ])
    func errors(text: String, message: String) {
        #expect {
            _ = try CronExpression(text)
        } throws: { error in
            String(describing: error) == message
        }
    }

    @Test("an expression longer than the limit is refused before it is parsed")
    func lengthLimit() {
        let long = String(repeating: "1,", count: 600) + "1 * * * *"
        #expect(throws: CronError(field: "expression", value: "of \(long.utf8.count) bytes", problem: "is longer than 1024 bytes")) {
            _ = try CronExpression(long)
        }
    }

    @Test("feb 29 and impossible-looking days that do occur are accepted")
    func reachableDays() throws {
        _ = try CronExpression("0 0 29 2 *")
        _ = try CronExpression("0 0 30 feb mon")  // OR rule: every Monday in February
        _ = try CronExpression("0 0 30,31 2,3 *")
    }
}
