import ConclaveTimers
import Testing

@Suite struct CronNextFireTests {
    let utcZone = FixedOffsetZone.utc
    let newYork = USEasternTestZone()

    private func next(_ text: String, after: UInt64, in zone: some TimeZoneRules = FixedOffsetZone.utc) throws -> UInt64? {
        try CronExpression(text).nextFireMillis(afterMillis: after, in: zone)
    }

    @Test("business hours every 15 minutes skip from Friday evening to Monday morning")
    func businessHours() throws {
        // 2024-03-08 is a Friday.
        #expect(try next("*/15 9-17 * * mon-fri", after: utcMillis(2024, 3, 8, 17, 50)) == utcMillis(2024, 3, 11, 9, 0))
        #expect(try next("*/15 9-17 * * mon-fri", after: utcMillis(2024, 3, 8, 17, 30)) == utcMillis(2024, 3, 8, 17, 45))
    }

    @Test("the next fire is strictly after the instant, to the millisecond")
    func strictlyAfter() throws {
        let atFire = utcMillis(2024, 1, 1, 12, 0)
        #expect(try next("0 12 * * *", after: atFire - 1) == atFire)
        #expect(try next("0 12 * * *", after: atFire) == utcMillis(2024, 1, 2, 12, 0))
        #expect(try next("* * * * *", after: atFire + 999) == atFire + 60_000)
    }

    @Test("feb 29 waits for the next leap year, skipping 2100")
    func leapDay() throws {
        #expect(try next("0 0 29 2 *", after: utcMillis(2024, 3, 1)) == utcMillis(2028, 2, 29))
        #expect(try next("0 0 29 2 *", after: utcMillis(2096, 3, 1)) == utcMillis(2104, 2, 29))
    }

    @Test("day-of-month 31 fires only in long months")
    func thirtyFirst() throws {
        #expect(try next("0 0 31 * *", after: utcMillis(2024, 4, 1)) == utcMillis(2024, 5, 31))
        #expect(try next("0 0 31 * *", after: utcMillis(2024, 5, 31)) == utcMillis(2024, 7, 31))
    }

    @Test("both day fields restricted: Fridays or the 13th; one unrestricted: both must match")
    func dayOfMonthOrDayOfWeek() throws {
        #expect(try next("0 12 13 * fri", after: utcMillis(2024, 9, 1)) == utcMillis(2024, 9, 6, 12))
        #expect(try next("0 12 13 * fri", after: utcMillis(2024, 9, 6, 12)) == utcMillis(2024, 9, 13, 12))
        #expect(try next("0 12 13 * fri", after: utcMillis(2024, 9, 27, 12)) == utcMillis(2024, 10, 4, 12))
        #expect(try next("0 0 */2 * mon", after: utcMillis(2024, 1, 1)) == utcMillis(2024, 1, 15))
        #expect(try next("0 9 * feb mon", after: utcMillis(2024, 2, 26, 10)) == utcMillis(2025, 2, 3, 9))
        // The OR rule makes "30 feb" fire on February's Mondays only.
        #expect(try next("0 0 30 feb mon", after: utcMillis(2024, 1, 1)) == utcMillis(2024, 2, 5))
    }

    @Test("a fixed offset shifts the wall clock: 09:00 at UTC+05:30 is 03:30 UTC")
    func fixedOffset() throws {
        let india = try FixedOffsetZone(offsetSeconds: 19_800)
        #expect(try next("0 9 * * *", after: utcMillis(2024, 1, 1), in: india) == utcMillis(2024, 1, 1, 3, 30))
        #expect(throws: CronError(field: "offsetSeconds", value: "64801", problem: "is out of range -64800…64800 (±18 hours)")) {
            _ = try FixedOffsetZone(offsetSeconds: 64_801)
        }
    }

    @Test("the test zone resolves unique, skipped and repeated wall times")
    func resolution() {
        let winter = LocalDateTime(year: 2024, month: 1, day: 15, hour: 12).localSeconds
        #expect(newYork.resolve(localSeconds: winter) == .unique(epochSeconds: utc(2024, 1, 15, 17)))
        let inGap = LocalDateTime(year: 2024, month: 3, day: 10, hour: 2, minute: 30).localSeconds
        #expect(newYork.resolve(localSeconds: inGap) == .skipped(nextEpochSeconds: utc(2024, 3, 10, 7)))
        let repeated = LocalDateTime(year: 2024, month: 11, day: 3, hour: 1, minute: 30).localSeconds
        #expect(newYork.resolve(localSeconds: repeated) == .ambiguous(firstEpochSeconds: utc(2024, 11, 3, 5, 30), secondEpochSeconds: utc(2024, 11, 3, 6, 30)))
    }

    @Test("spring forward: a time in the gap fires once at the transition, 03:00 EDT")
    func springForward() throws {
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        #expect(try next("30 2 * * *", after: utcMillis(2024, 3, 10, 5), in: newYork) == utcMillis(2024, 3, 10, 7))
        #expect(try next("30 2 * * *", after: utcMillis(2024, 3, 10, 7), in: newYork) == utcMillis(2024, 3, 11, 6, 30))
        // Every quarter hour: 02:00…02:45 collapse into the transition, then 03:15 EDT follows.
        #expect(try next("*/15 * * * *", after: utcMillis(2024, 3, 10, 6, 45), in: newYork) == utcMillis(2024, 3, 10, 7))
        #expect(try next("*/15 * * * *", after: utcMillis(2024, 3, 10, 7), in: newYork) == utcMillis(2024, 3, 10, 7, 15))
    }

    @Test("fall back: a repeated time fires once, at its first occurrence")
    func fallBack() throws {
        // 2024-11-03: 02:00 EDT (06:00 UTC) falls back to 01:00 EST; 01:00–01:59 shows twice.
        #expect(try next("30 1 * * *", after: utcMillis(2024, 11, 3, 4), in: newYork) == utcMillis(2024, 11, 3, 5, 30))
        #expect(try next("30 1 * * *", after: utcMillis(2024, 11, 3, 5, 30), in: newYork) == utcMillis(2024, 11, 4, 6, 30))
        // Hourly: 01:00 EDT, then 02:00 EST; the second 01:00 does not fire.
        #expect(try next("0 * * * *", after: utcMillis(2024, 11, 3, 5), in: newYork) == utcMillis(2024, 11, 3, 7))
        // Starting inside the second pass, the repeated quarter hours have fired already.
        #expect(try next("*/15 * * * *", after: utcMillis(2024, 11, 3, 6, 10), in: newYork) == utcMillis(2024, 11, 3, 7))
    }

    @Test("summer and winter offsets apply on either side of the transitions")
    func seasons() throws {
        #expect(try next("0 9 * * *", after: utcMillis(2024, 7, 1), in: newYork) == utcMillis(2024, 7, 1, 13))
        #expect(try next("0 9 * * *", after: utcMillis(2024, 12, 1), in: newYork) == utcMillis(2024, 12, 1, 14))
    }

    @Test("an instant near the end of UInt64 milliseconds gives no fire time rather than overflowing")
    func endOfTime() throws {
        #expect(try next("* * * * *", after: .max - 10) == nil)
    }
}
