import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct GenericCellRateLimiterTests {
    static let second: UInt64 = 1_000_000_000

    @Test("answers like redis-cell's README: CL.THROTTLE user123 15 30 60")
    func redisCellExample() throws {
        var limiter = try GenericCellRateLimiter(count: 30, periodNanos: 60 * Self.second, maxBurst: 15, nowNanos: 0)
        let first = limiter.request(nowNanos: 0)
        #expect(first == CellRateDecision(allowed: true, limit: 16, remaining: 15, retryAfterNanos: nil, resetAfterNanos: 2 * Self.second))
        for _ in 0..<15 { #expect(limiter.request(nowNanos: 0).allowed) }
        let refused = limiter.request(nowNanos: 0)
        #expect(refused == CellRateDecision(allowed: false, limit: 16, remaining: 0, retryAfterNanos: 2 * Self.second, resetAfterNanos: 32 * Self.second))
        #expect(!limiter.request(nowNanos: 2 * Self.second - 1).allowed)
        #expect(limiter.request(nowNanos: 2 * Self.second).allowed)
    }

    @Test("a quantity above the limit is refused with no retry time, as redis-cell's -1")
    func impossibleQuantity() throws {
        var limiter = try GenericCellRateLimiter(count: 1, periodNanos: 10, maxBurst: 2, nowNanos: 0)
        let decision = limiter.request(4, nowNanos: 0)
        #expect(!decision.allowed)
        #expect(decision.retryAfterNanos == nil)
        #expect(decision.remaining == 3)
        #expect(limiter.request(3, nowNanos: 0).allowed)
    }

    @Test("the emission interval is not rounded: 3 per 10 ns, polled each ns, admits exactly 3 + ⌊3T/10⌋")
    func exactEmissionInterval() throws {
        // With a burst allowance the theoretical arrival time never falls behind `now`, so nothing is
        // forgiven and the admitted count is exactly limit + ⌊3T/10⌋; a rounded 3 ns or 4 ns emission
        // interval would give 3336 or 2502.
        var limiter = try GenericCellRateLimiter(count: 3, periodNanos: 10, maxBurst: 2, nowNanos: 0)
        var admitted = 0
        for now in 0..<10_000 as Range<UInt64> where limiter.allow(nowNanos: now) { admitted += 1 }
        #expect(admitted == 3 + 9_999 * 3 / 10)
    }

    @Test("no interval of length T admits more than limit + ⌊T × count / period⌋", arguments: [1, 2] as [UInt64])
    func neverExceedsRate(seed: UInt64) throws {
        var limiter = try GenericCellRateLimiter(count: 4, periodNanos: 30, maxBurst: 5, nowNanos: 0)
        var generator = SeededGenerator(seed: seed)
        var now: UInt64 = 0
        var admitted: [UInt64] = []
        while admitted.count < 1_500 {
            now += generator.next(upperBound: 10)
            let quantity = Int(generator.next(upperBound: UInt64(2))) + 1
            if limiter.request(quantity, nowNanos: now).allowed {
                admitted.append(contentsOf: repeatElement(now, count: quantity))
            }
        }
        #expect(WindowMath.firstViolation(admitted) { span in 6 + Int(span * 4 / 30) } == nil)
    }
}
