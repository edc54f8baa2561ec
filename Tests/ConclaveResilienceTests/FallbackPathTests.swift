import Testing
@testable import ConclaveResilience

@Suite struct FallbackPathTests {
    struct Unavailable: Error {}

    static func path() throws -> FallbackPath {
        let configuration = CircuitBreakerConfiguration(
            window: .countBased(calls: 4), minimumCalls: 4, failureRateThresholdPercent: 50, waitInOpenNanos: 1_000, halfOpenProbes: 1
        )
        return FallbackPath(breaker: try CircuitBreaker(configuration: configuration, nowNanos: 0))
    }

    @Test("each request is counted on the path that served it: primary, fallback after failure, fallback after refusal")
    func countsEachPath() throws {
        var path = try Self.path()
        var now: UInt64 = 0
        var served: [String] = []
        for attempt in 0..<10 {
            let value = path.execute(clockNanos: { now += 1; return now }, primary: { () throws(Unavailable) -> String in
                if attempt >= 2 { throw Unavailable() }
                return "fresh"
            }, fallback: { reason in
                switch reason {
                case .refused(let state): return "cached (\(state.rawValue))"
                case .failed: return "cached (failed)"
                }
            })
            served.append(value)
        }
        #expect(served.prefix(4) == ["fresh", "fresh", "cached (failed)", "cached (failed)"])
        #expect(served.dropFirst(4).allSatisfy { $0 == "cached (open)" })
        #expect(path.counts == FallbackCounts(primaryServed: 2, fallbackAfterRefusal: 6, fallbackAfterFailure: 2))
        #expect(path.counts.fallbackServed == 8)
        #expect(path.breaker.state == .open)
    }

    @Test("begin and complete let an asynchronous caller report outcomes itself")
    func twoStepCalls() throws {
        var path = try Self.path()
        let permit = try #require(path.begin(nowNanos: 0).permit)
        #expect(path.complete(.success, permit: permit, durationNanos: 5, nowNanos: 5) == nil)
        #expect(path.counts.primaryServed == 1)
        _ = path.breaker.snapshot(atNanos: 5)
    }
}
