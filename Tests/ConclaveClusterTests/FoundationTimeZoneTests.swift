import ConclaveCluster
import ConclaveTimers
import Testing

/// Cron in real zones, with the rules Foundation ships.
@Suite struct FoundationTimeZoneTests {
    private func utcMillis(_ year: Int64, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> UInt64 {
        UInt64(LocalDateTime(year: year, month: month, day: day, hour: hour, minute: minute).localSeconds) * 1_000
    }

    private func next(_ text: String, after: UInt64, in identifier: String) throws -> UInt64? {
        try CronExpression(text).nextFireMillis(afterMillis: after, in: FoundationTimeZone(identifier: identifier))
    }

    @Test("an unknown zone name is refused with the name and examples of accepted ones")
    func unknownZone() {
        #expect {
            _ = try FoundationTimeZone(identifier: "Mars/Olympus_Mons")
        } throws: { error in
            String(describing: error)
                == "time zone: 'Mars/Olympus_Mons' is not a known time zone identifier; accepted: IANA names such as Europe/Berlin, America/New_York, UTC"
        }
    }

    @Test("New York is UTC−5 in winter and UTC−4 in summer")
    func newYorkOffsets() throws {
        let zone = try FoundationTimeZone(identifier: "America/New_York")
        #expect(zone.utcOffsetSeconds(atEpochSeconds: Int64(utcMillis(2024, 1, 15) / 1_000)) == -18_000)
        #expect(zone.utcOffsetSeconds(atEpochSeconds: Int64(utcMillis(2024, 7, 15) / 1_000)) == -14_400)
    }

    @Test("New York spring forward: 02:30 does not exist on 2024-03-10 and fires at 03:00 EDT")
    func newYorkSpringForward() throws {
        let zone = try FoundationTimeZone(identifier: "America/New_York")
        let inGap = LocalDateTime(year: 2024, month: 3, day: 10, hour: 2, minute: 30).localSeconds
        #expect(zone.resolve(localSeconds: inGap) == .skipped(nextEpochSeconds: Int64(utcMillis(2024, 3, 10, 7) / 1_000)))
        #expect(try next("30 2 * * *", after: utcMillis(2024, 3, 10), in: "America/New_York") == utcMillis(2024, 3, 10, 7))
        #expect(try next("30 2 * * *", after: utcMillis(2024, 3, 10, 7), in: "America/New_York") == utcMillis(2024, 3, 11, 6, 30))
    }

    @Test("New York fall back: 01:30 shows twice on 2024-11-03 and fires once, in EDT")
    func newYorkFallBack() throws {
        let zone = try FoundationTimeZone(identifier: "America/New_York")
        let repeated = LocalDateTime(year: 2024, month: 11, day: 3, hour: 1, minute: 30).localSeconds
        #expect(zone.resolve(localSeconds: repeated) == .ambiguous(
            firstEpochSeconds: Int64(utcMillis(2024, 11, 3, 5, 30) / 1_000), secondEpochSeconds: Int64(utcMillis(2024, 11, 3, 6, 30) / 1_000)
        ))
        #expect(try next("30 1 * * *", after: utcMillis(2024, 11, 3), in: "America/New_York") == utcMillis(2024, 11, 3, 5, 30))
        #expect(try next("30 1 * * *", after: utcMillis(2024, 11, 3, 5, 30), in: "America/New_York") == utcMillis(2024, 11, 4, 6, 30))
    }

    @Test("Berlin: 02:30 is skipped on 2024-03-31 and repeated on 2024-10-27")
    func berlin() throws {
        #expect(try next("30 2 * * *", after: utcMillis(2024, 3, 30, 23), in: "Europe/Berlin") == utcMillis(2024, 3, 31, 1))
        #expect(try next("30 2 * * *", after: utcMillis(2024, 10, 26, 23), in: "Europe/Berlin") == utcMillis(2024, 10, 27, 0, 30))
        #expect(try next("30 2 * * *", after: utcMillis(2024, 10, 27, 0, 30), in: "Europe/Berlin") == utcMillis(2024, 10, 28, 1, 30))
    }

    @Test("Lord Howe Island moves its clocks by half an hour, and the gap ends at 02:30")
    func halfHourShift() throws {
        // 2024-10-06 02:00 (+10:30) jumps to 02:30 (+11:00), at 15:30 UTC the day before.
        #expect(try next("15 2 * * *", after: utcMillis(2024, 10, 5, 12), in: "Australia/Lord_Howe") == utcMillis(2024, 10, 5, 15, 30))
        #expect(try next("45 2 * * *", after: utcMillis(2024, 10, 5, 12), in: "Australia/Lord_Howe") == utcMillis(2024, 10, 5, 15, 45))
    }
}
