import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct WindowLimiterTests {
    /// Random bursty traffic: `steps` arrivals with gaps of 0…maxGap ns, 1–3 events each.
    static func traffic(seed: UInt64, steps: Int, maxGapNanos: UInt64) -> [(nowNanos: UInt64, events: Int)] {
        var generator = SeededGenerator(seed: seed)
        var now: UInt64 = 0
        return (0..<steps).map { _ in
            now += generator.next(upperBound: maxGapNanos + 1)
            return (now, Int(generator.next(upperBound: UInt64(3))) + 1)
        }
    }

    @Test("sliding window log never admits more than limit in any window", arguments: [4, 5, 6] as [UInt64])
    func logIsExact(seed: UInt64) throws {
        var log = try SlidingWindowLog(limit: 10, windowNanos: 1_000)
        var admitted: [UInt64] = []
        for (now, events) in Self.traffic(seed: seed, steps: 20_000, maxGapNanos: 40) where log.allow(events, nowNanos: now) {
            admitted.append(contentsOf: repeatElement(now, count: events))
        }
        #expect(WindowMath.maxEventsInAnyWindow(admitted, windowNanos: 1_000) == 10, "exactly at the limit, never over")
        #expect(admitted.count > 3_000)
    }

    @Test("the log holds exactly limit timestamps: a full log refuses until the oldest leaves")
    func logBound() throws {
        var log = try SlidingWindowLog(limit: 3, windowNanos: 100)
        #expect(log.allow(3, nowNanos: 10) == true)
        #expect(log.allow(nowNanos: 50) == false)
        #expect(log.count(atNanos: 50) == 3)
        #expect(log.nanosUntilAllowed(atNanos: 50) == 60)
        #expect(log.allow(nowNanos: 109) == false)
        #expect(log.allow(nowNanos: 110) == true)
        #expect(log.nanosUntilAllowed(4, atNanos: 110) == nil)
        #expect(log.allow(4, nowNanos: 10_000) == false)
    }

    @Test("fixed window admits at most limit per aligned window but up to 2× limit across a boundary")
    func fixedWindowBoundaryBurst() throws {
        var counter = try FixedWindowCounter(limit: 5, windowNanos: 100)
        #expect(counter.allow(5, nowNanos: 99) == true)
        #expect(counter.allow(nowNanos: 99) == false)
        #expect(counter.allow(5, nowNanos: 100) == true)
        let admitted: [UInt64] = Array(repeating: 99, count: 5) + Array(repeating: 100, count: 5)
        #expect(WindowMath.maxEventsInAnyWindow(admitted, windowNanos: 100) == 10)
        #expect(counter.count(atNanos: 150) == 5)
        #expect(counter.count(atNanos: 200) == 0)
    }

    @Test("sliding window counter: at most limit per fixed window, under 2× limit in any window, adversarially")
    func counterWorstCase() throws {
        var counter = try SlidingWindowCounter(limit: 10, windowNanos: 1_000)
        var admitted: [UInt64] = []
        // The adversary bursts at the last nanosecond of each window, where the weighting will count the
        // burst for little in the next window, and then takes all it can at every nanosecond.
        for now in 999..<50_000 as Range<UInt64> {
            while counter.allow(nowNanos: now) { admitted.append(now) }
        }
        for window in 0..<50 as Range<UInt64> {
            #expect(admitted.filter { $0 / 1_000 == window }.count <= 10)
        }
        let worst = WindowMath.maxEventsInAnyWindow(admitted, windowNanos: 1_000)
        // Measured: 19 in the window (998, 1998] — the burst of 10 at 999 plus 9 let through in
        // (1000, 1998] as the burst's weight fell to ⌈10 × 2/1000⌉ = 1. Under 2 × limit, as stated.
        #expect(worst == 19)
    }

    @Test("sliding window counter stays within 5 % of the limit for random traffic", arguments: [7, 8, 9] as [UInt64])
    func counterRandomTrafficError(seed: UInt64) throws {
        var counter = try SlidingWindowCounter(limit: 100, windowNanos: 10_000)
        var admitted: [UInt64] = []
        for (now, events) in Self.traffic(seed: seed, steps: 40_000, maxGapNanos: 40) where counter.allow(events, nowNanos: now) {
            admitted.append(contentsOf: repeatElement(now, count: events))
        }
        let worst = WindowMath.maxEventsInAnyWindow(admitted, windowNanos: 10_000)
        #expect(worst >= 100)
        // Measured: 102 for each of the three seeds (2 % over the limit).
        #expect(worst <= 105)
    }

    @Test("sliding window counter forgets a window that is two windows old")
    func counterForgetsOldWindows() throws {
        var counter = try SlidingWindowCounter(limit: 4, windowNanos: 100)
        #expect(counter.allow(4, nowNanos: 50) == true)
        #expect(counter.estimatedCount(atNanos: 150) == 2)
        #expect(counter.allow(2, nowNanos: 150) == true)
        #expect(counter.allow(nowNanos: 150) == false)
        #expect(counter.estimatedCount(atNanos: 300) == 0)
        #expect(counter.allow(4, nowNanos: 300) == true)
    }
}
