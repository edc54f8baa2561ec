import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct RateShapingTests {
    static let millisecond: UInt64 = 1_000_000

    @Test("warm-up waits match Guava's RateLimiterTest.testWarmUp (2/s, 4 s warm-up, cold factor 3)")
    func guavaWarmUp() throws {
        var limiter = try WarmUpLimiter(permitsPerSecond: 2, warmUpPeriodNanos: 4_000 * Self.millisecond, nowNanos: 0)
        var now: UInt64 = 0
        func acquireEight() -> [UInt64] {
            (0..<8).map { _ in
                let wait = limiter.acquire(nowNanos: now, maxWaitNanos: .max) ?? .max
                now += wait
                return (wait + Self.millisecond * 5) / (Self.millisecond * 10)  // hundredths of a second
            }
        }
        let guava: [UInt64] = [0, 138, 113, 88, 63, 50, 50, 50]
        #expect(acquireEight() == guava)
        now += 500 * Self.millisecond  // repay the last acquire
        now += 4_000 * Self.millisecond  // cool down completely
        #expect(acquireEight() == guava)
        #expect(limiter.maxPermits == 8)
    }

    @Test("warm-up refuses, changing nothing, when the next free moment is beyond the caller's wait")
    func warmUpBoundedWait() throws {
        var limiter = try WarmUpLimiter(permitsPerSecond: 10, warmUpPeriodNanos: 1_000 * Self.millisecond, nowNanos: 0)
        #expect(limiter.acquire(nowNanos: 0, maxWaitNanos: 0) == 0)
        let stored = limiter.storedPermits(atNanos: 0)
        #expect(limiter.acquire(nowNanos: 0, maxWaitNanos: 0) == nil)
        #expect(limiter.storedPermits(atNanos: 0) == stored)
        #expect(limiter.acquire(-1, nowNanos: 0, maxWaitNanos: .max) == nil)
    }

    @Test("uniform queueing spaces admitted requests exactly ⌊k × period / count⌋ apart")
    func uniformSpacing() throws {
        var limiter = try UniformQueueingLimiter(count: 3, periodNanos: 10, maxQueueingNanos: .max / 4, nowNanos: 0)
        let starts = (0..<30).map { _ in limiter.acquire(nowNanos: 0) ?? .max }
        #expect(starts == (0..<30).map { UInt64($0) * 10 / 3 })
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 >= 10 / 3 })
    }

    @Test("uniform queueing admits exactly queueLengthMax requests at one instant, then refuses")
    func uniformQueueBound() throws {
        var limiter = try UniformQueueingLimiter(count: 100, periodNanos: 1_000 * Self.millisecond, maxQueueingNanos: 95 * Self.millisecond, nowNanos: 0)
        #expect(limiter.queueLengthMax == 10)
        var admitted = 0
        while limiter.acquire(nowNanos: 5) != nil { admitted += 1 }
        #expect(admitted == 10)
        #expect(limiter.acquire(nowNanos: 5 + 10 * Self.millisecond) != nil)
    }

    @Test("after idleness uniform queueing admits at once again")
    func uniformIdleReset() throws {
        var limiter = try UniformQueueingLimiter(count: 1, periodNanos: 100, maxQueueingNanos: 1_000, nowNanos: 0)
        #expect(limiter.acquire(nowNanos: 0) == 0)
        #expect(limiter.acquire(nowNanos: 0) == 100)
        #expect(limiter.acquire(nowNanos: 5_000) == 0)
        #expect(limiter.acquire(2, nowNanos: 5_000) == nil, "more than count per call is refused")
    }
}
