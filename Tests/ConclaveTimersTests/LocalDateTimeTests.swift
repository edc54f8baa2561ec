import ConclaveCore
import ConclaveTimers
import Testing

@Suite struct LocalDateTimeTests {
    @Test("known dates convert both ways, weekdays included")
    func knownDates() {
        #expect(LocalDateTime(year: 1970, month: 1, day: 1).localSeconds == 0)
        #expect(LocalDateTime(year: 2000, month: 3, day: 1).localSeconds == 11_017 * 86_400)
        #expect(LocalDateTime(localSeconds: 1_709_164_800) == LocalDateTime(year: 2024, month: 2, day: 29))
        #expect(LocalDateTime(year: 2024, month: 2, day: 29).weekday == 4)
        #expect(LocalDateTime(year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59).localSeconds == -1)
        #expect(LocalDateTime(localSeconds: -1).description == "1969-12-31 23:59:59")
    }

    @Test("fields past their range roll over: month 13, day 32, hour 24")
    func rollsOver() {
        #expect(LocalDateTime(localSeconds: LocalDateTime(year: 2023, month: 13, day: 1).localSeconds) == LocalDateTime(year: 2024, month: 1, day: 1))
        #expect(LocalDateTime(localSeconds: LocalDateTime(year: 2024, month: 1, day: 32).localSeconds) == LocalDateTime(year: 2024, month: 2, day: 1))
        #expect(LocalDateTime(localSeconds: LocalDateTime(year: 2024, month: 2, day: 29, hour: 24).localSeconds) == LocalDateTime(year: 2024, month: 3, day: 1))
    }

    @Test("random instants across ±3000 years round-trip exactly")
    func roundTrips() {
        var random = SeededGenerator(seed: 3)
        for _ in 0..<10_000 {
            let seconds = Int64(bitPattern: random.next()) % 95_000_000_000
            let time = LocalDateTime(localSeconds: seconds)
            #expect(time.localSeconds == seconds)
            #expect((1...LocalDateTime.daysInMonth(year: time.year, month: time.month)).contains(time.day))
        }
    }

    @Test("leap years follow the Gregorian rule", arguments: [(2024, true), (2023, false), (1900, false), (2000, true), (2100, false)] as [(Int64, Bool)])
    func leapYears(year: Int64, leap: Bool) {
        #expect(LocalDateTime.isLeapYear(year) == leap)
        #expect(LocalDateTime.daysInMonth(year: year, month: 2) == (leap ? 29 : 28))
    }
}
