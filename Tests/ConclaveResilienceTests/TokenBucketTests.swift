import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct TokenBucketTests {
    @Test("a new bucket is full and refuses the request that would overdraw it")
    func startsFull() throws {
        var bucket = try TokenBucket(capacity: 5, tokensPerSecond: 1, nowNanos: 0)
        #expect(bucket.allow(5, nowNanos: 0) == true)
        #expect(bucket.allow(1, nowNanos: 0) == false)
        #expect(bucket.availableTokens(atNanos: 0) == 0)
        #expect(bucket.availableTokens(atNanos: 2_000_000_000) == 2)
    }

    @Test("refill is exact: 3 tokens per 10 ns polled at irregular times yields exactly ⌊3T/10⌋")
    func refillHasNoLostFractions() throws {
        var bucket = try TokenBucket(capacity: 5, refillTokens: 3, refillIntervalNanos: 10, nowNanos: 0)
        #expect(bucket.allow(5, nowNanos: 0) == true)
        var generator = SeededGenerator(seed: 11)
        var now: UInt64 = 0
        var granted = 0
        for _ in 0..<20_000 {
            now += generator.next(upperBound: 4)  // steps of 0–3 ns: never enough to fill the bucket
            while bucket.allow(nowNanos: now) { granted += 1 }
            #expect(granted == Int(now * 3 / 10))
        }
        #expect(now > 25_000)
    }

    @Test("a full bucket drops the fraction it cannot hold, and only then")
    func fullBucketDropsOverflow() throws {
        var bucket = try TokenBucket(capacity: 2, refillTokens: 1, refillIntervalNanos: 3, nowNanos: 0)
        #expect(bucket.availableTokens(atNanos: 1_000) == 2)
        #expect(bucket.allow(2, nowNanos: 1_000) == true)
        #expect(bucket.allow(nowNanos: 1_002) == false)
        #expect(bucket.allow(nowNanos: 1_003) == true)
    }

    @Test("under random traffic no interval of length T grants more than capacity + ⌊T × rate⌋", arguments: [1, 2, 3] as [UInt64])
    func neverExceedsRate(seed: UInt64) throws {
        let capacity = 7
        var bucket = try TokenBucket(capacity: capacity, refillTokens: 2, refillIntervalNanos: 15, nowNanos: 0)
        var generator = SeededGenerator(seed: seed)
        var now: UInt64 = 0
        var grantedTimes: [UInt64] = []
        while grantedTimes.count < 1_500 {
            now += generator.next(upperBound: 12)
            let tokens = Int(generator.next(upperBound: UInt64(3))) + 1
            if bucket.allow(tokens, nowNanos: now) {
                grantedTimes.append(contentsOf: repeatElement(now, count: tokens))
            }
        }
        let violation = WindowMath.firstViolation(grantedTimes) { span in capacity + Int(span * 2 / 15) }
        #expect(violation == nil)
    }

    @Test("reserve takes tokens ahead of refill and says how long to wait")
    func reserveReturnsWait() throws {
        var bucket = try TokenBucket(capacity: 4, refillTokens: 1, refillIntervalNanos: 100, nowNanos: 0)
        #expect(bucket.reserve(4, nowNanos: 0, maxWaitNanos: 0) == .granted(waitNanos: 0))
        #expect(bucket.reserve(1, nowNanos: 30, maxWaitNanos: 1_000) == .granted(waitNanos: 70))
        #expect(bucket.reserve(2, nowNanos: 30, maxWaitNanos: 1_000) == .granted(waitNanos: 270))
        #expect(bucket.reserve(1, nowNanos: 30, maxWaitNanos: 100) == .refused(.waitTooLong(waitNanos: 370)))
        #expect(bucket.allow(nowNanos: 300) == false, "reservations are paid back before anything new is granted")
        #expect(bucket.allow(nowNanos: 400) == true)
    }

    @Test("reservations borrow at most one bucketful ahead, then refuse")
    func reservationsAreBounded() throws {
        var bucket = try TokenBucket(capacity: 3, refillTokens: 1, refillIntervalNanos: 10, nowNanos: 0)
        #expect(bucket.reservationTokensMax == 3)
        #expect(bucket.reserve(3, nowNanos: 0, maxWaitNanos: .max) == .granted(waitNanos: 0))
        for expectedWait: UInt64 in [10, 20, 30] {
            #expect(bucket.reserve(1, nowNanos: 0, maxWaitNanos: .max) == .granted(waitNanos: expectedWait))
        }
        #expect(bucket.reserve(1, nowNanos: 0, maxWaitNanos: .max) == .refused(.reservationsFull))
        #expect(bucket.reserve(4, nowNanos: 0, maxWaitNanos: .max) == .refused(.moreThanCapacity))
        #expect(bucket.reserve(-1, nowNanos: 0, maxWaitNanos: .max) == .refused(.moreThanCapacity))
    }

    @Test("a clock that steps back hands out nothing extra")
    func clockSteppingBack() throws {
        var bucket = try TokenBucket(capacity: 1, refillTokens: 1, refillIntervalNanos: 100, nowNanos: 1_000)
        #expect(bucket.allow(nowNanos: 1_000) == true)
        #expect(bucket.allow(nowNanos: 500) == false)
        #expect(bucket.allow(nowNanos: 1_099) == false)
        #expect(bucket.allow(nowNanos: 1_100) == true)
    }

    @Test("huge gaps and huge rates neither overflow nor overfill")
    func extremes() throws {
        var bucket = try TokenBucket(capacity: 10, refillTokens: 1 << 40, refillIntervalNanos: 1, nowNanos: 0)
        #expect(bucket.allow(10, nowNanos: 0) == true)
        #expect(bucket.allow(10, nowNanos: .max) == true)
        #expect(bucket.allow(nowNanos: .max) == false)
    }
}
