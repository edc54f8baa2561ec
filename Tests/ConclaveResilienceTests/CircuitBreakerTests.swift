import Testing
@testable import ConclaveResilience

@Suite struct CircuitBreakerTests {
    static func breaker(_ configure: (inout CircuitBreakerConfiguration) -> Void = { _ in }) throws -> CircuitBreaker {
        var configuration = CircuitBreakerConfiguration(
            window: .countBased(calls: 10), minimumCalls: 5, failureRateThresholdPercent: 50,
            slowCallRateThresholdPercent: 80, slowCallDurationNanos: 1_000, waitInOpenNanos: 10_000, halfOpenProbes: 3
        )
        configure(&configuration)
        return try CircuitBreaker(configuration: configuration, nowNanos: 0)
    }

    /// One call through the breaker: acquire, then record `outcome` taking `durationNanos`.
    @discardableResult
    static func call(
        _ breaker: inout CircuitBreaker, _ outcome: CallOutcome, at nowNanos: UInt64, durationNanos: UInt64 = 10
    ) -> [CircuitBreakerTransition] {
        let admission = breaker.acquire(nowNanos: nowNanos)
        var transitions = admission.transition.map { [$0] } ?? []
        if let permit = admission.permit,
           let transition = breaker.record(outcome, permit: permit, durationNanos: durationNanos, nowNanos: nowNanos) {
            transitions.append(transition)
        }
        return transitions
    }

    @Test("trips on the failure rate only once the window holds the minimum number of calls")
    func tripsOnFailureRate() throws {
        var breaker = try Self.breaker()
        for time in 1...4 as ClosedRange<UInt64> { #expect(Self.call(&breaker, .failure, at: time).isEmpty) }
        #expect(breaker.snapshot(atNanos: 4).failureRatePercent == nil)
        let transitions = Self.call(&breaker, .failure, at: 5)
        #expect(transitions.map(\.target) == [.open])
        #expect(transitions.first?.reason == .failureRate(percent: 100, thresholdPercent: 50, calls: 5))
        #expect(!breaker.acquire(nowNanos: 6).isPermitted)
        #expect(breaker.snapshot(atNanos: 6).totals.notPermittedCalls == 1)
    }

    @Test("stays closed below the failure threshold and trips at exactly the threshold")
    func thresholdIsInclusive() throws {
        var breaker = try Self.breaker()
        for time in 1...6 as ClosedRange<UInt64> { Self.call(&breaker, .success, at: time) }
        for time in 7...10 as ClosedRange<UInt64> { #expect(Self.call(&breaker, .failure, at: time).isEmpty) }
        #expect(breaker.snapshot(atNanos: 10).failureRatePercent == 40)
        // The window now holds calls 2…11: five successes and five failures, exactly 50 %.
        let transitions = Self.call(&breaker, .failure, at: 11)
        #expect(transitions.first?.reason == .failureRate(percent: 50, thresholdPercent: 50, calls: 10))
    }

    @Test("trips on the slow-call rate even when every call succeeds")
    func tripsOnSlowCalls() throws {
        var breaker = try Self.breaker()
        for time in 1...4 as ClosedRange<UInt64> { Self.call(&breaker, .success, at: time, durationNanos: 1_000) }
        let transitions = Self.call(&breaker, .success, at: 5, durationNanos: 5_000)
        #expect(transitions.first?.reason == .slowCallRate(percent: 100, thresholdPercent: 80, calls: 5))
        #expect(breaker.snapshot(atNanos: 5).totals.slowCalls == 5)
    }

    @Test("the count window holds at most its size: old outcomes leave it")
    func countWindowBound() throws {
        var breaker = try Self.breaker()
        for time in 1...6 as ClosedRange<UInt64> { Self.call(&breaker, .success, at: time) }
        for time in 7...10 as ClosedRange<UInt64> { Self.call(&breaker, .failure, at: time) }
        #expect(breaker.snapshot(atNanos: 10).failureRatePercent == 40)
        for time in 11...30 as ClosedRange<UInt64> { Self.call(&breaker, .success, at: time) }
        let snapshot = breaker.snapshot(atNanos: 30)
        #expect(snapshot.calls == 10)
        #expect(snapshot.failures == 0)
        #expect(snapshot.failureRatePercent == 0)
        #expect(snapshot.totals.failedCalls == 4)
    }

    @Test("a time-based window forgets failures older than the window")
    func timeWindowExpires() throws {
        var breaker = try Self.breaker { $0.window = .timeBased(windowNanos: 1_000, buckets: 10) }
        for time in 0..<4 as Range<UInt64> { Self.call(&breaker, .failure, at: time * 10) }
        #expect(breaker.snapshot(atNanos: 500).failures == 4)
        #expect(breaker.snapshot(atNanos: 1_100).calls == 0)
        for time in 0..<4 as Range<UInt64> { Self.call(&breaker, .success, at: 1_100 + time) }
        #expect(Self.call(&breaker, .failure, at: 1_200).isEmpty, "1 failure of 5 in the window, not 5 of 9")
        #expect(breaker.state == .closed)
    }

    @Test("open waits, then half-open admits exactly the probes, and passing probes close it")
    func halfOpenProbesClose() throws {
        var breaker = try Self.breaker()
        for time in 1...5 as ClosedRange<UInt64> { Self.call(&breaker, .failure, at: time) }
        #expect(!breaker.acquire(nowNanos: 10_004).isPermitted)
        #expect(breaker.snapshot(atNanos: 10_004).probingInNanos == 1)
        let first = breaker.acquire(nowNanos: 10_005)
        #expect(first.transition?.reason == .waitInOpenElapsed(waitNanos: 10_000))
        let second = breaker.acquire(nowNanos: 10_006)
        let third = breaker.acquire(nowNanos: 10_006)
        #expect(!breaker.acquire(nowNanos: 10_006).isPermitted, "only three probes")
        #expect(breaker.snapshot(atNanos: 10_006).probesIssued == 3)
        let permits = try [first, second, third].map { try #require($0.permit) }
        #expect(breaker.record(.success, permit: permits[0], durationNanos: 1, nowNanos: 10_007) == nil)
        #expect(breaker.record(.failure, permit: permits[1], durationNanos: 1, nowNanos: 10_007) == nil)
        let closing = breaker.record(.success, permit: permits[2], durationNanos: 1, nowNanos: 10_008)
        #expect(closing?.target == .closed)
        #expect(closing?.reason == .probesPassed(probes: 3, failureRatePercent: 100.0 / 3, slowCallRatePercent: 0))
        #expect(breaker.snapshot(atNanos: 10_008).calls == 0, "closing starts a fresh window")
    }

    @Test("failing probes reopen the breaker for another full wait")
    func halfOpenProbesReopen() throws {
        var breaker = try Self.breaker()
        for time in 1...5 as ClosedRange<UInt64> { Self.call(&breaker, .failure, at: time) }
        Self.call(&breaker, .failure, at: 20_000)
        Self.call(&breaker, .success, at: 20_000)
        let transitions = Self.call(&breaker, .failure, at: 20_001)
        #expect(transitions.last?.reason == .probesFailed(probes: 3, failureRatePercent: 200.0 / 3, slowCallRatePercent: 0))
        #expect(!breaker.acquire(nowNanos: 30_000).isPermitted)
        #expect(breaker.acquire(nowNanos: 30_001).isPermitted)
    }

    @Test("half-open reopens when probes do not report within the maximum wait")
    func halfOpenTimesOut() throws {
        var breaker = try Self.breaker { $0.halfOpenMaxWaitNanos = 500 }
        for time in 1...5 as ClosedRange<UInt64> { Self.call(&breaker, .failure, at: time) }
        #expect(breaker.acquire(nowNanos: 10_005).isPermitted)
        let admission = breaker.acquire(nowNanos: 10_505)
        #expect(!admission.isPermitted)
        #expect(admission.transition?.reason == .probesTimedOut(waitNanos: 500))
        #expect(breaker.state == .open)
    }

    @Test("N failures within T trips regardless of the rate; the same failures spread wider do not")
    func failureBurst() throws {
        let burst = CircuitBreakerConfiguration.FailureBurst(failures: 3, withinNanos: 100)
        var breaker = try Self.breaker { $0.failureBurst = burst; $0.minimumCalls = 10 }
        for time in 0..<50 as Range<UInt64> { Self.call(&breaker, .success, at: time) }
        Self.call(&breaker, .failure, at: 100)
        Self.call(&breaker, .failure, at: 150)
        Self.call(&breaker, .failure, at: 200)
        #expect(breaker.state == .closed, "the first failure left the 100 ns window just as the third came")
        let transitions = Self.call(&breaker, .failure, at: 201)
        #expect(transitions.first?.reason == .failureBurst(failures: 3, withinNanos: 100))
    }

    @Test("an outcome reported with a permit from an earlier state is counted but judges nothing")
    func stalePermits() throws {
        var breaker = try Self.breaker { $0.halfOpenProbes = 1 }
        let early = try #require(breaker.acquire(nowNanos: 0).permit)
        for time in 1...5 as ClosedRange<UInt64> { Self.call(&breaker, .failure, at: time) }
        _ = breaker.acquire(nowNanos: 20_000)
        #expect(breaker.record(.success, permit: early, durationNanos: 1, nowNanos: 20_001) == nil)
        #expect(breaker.state == .halfOpen, "the stale success did not close the breaker")
        #expect(breaker.snapshot(atNanos: 20_001).totals.staleOutcomes == 1)
    }

    @Test("operator states: forced open refuses, disabled admits and never trips, reset closes")
    func operatorStates() throws {
        var breaker = try Self.breaker()
        #expect(breaker.forceOpen(nowNanos: 1)?.reason == .operatorForcedOpen)
        #expect(breaker.forceOpen(nowNanos: 1) == nil)
        #expect(!breaker.acquire(nowNanos: 1_000_000).isPermitted, "forced open never turns half-open")
        #expect(breaker.disable(nowNanos: 2)?.source == .forcedOpen)
        for time in 3...50 as ClosedRange<UInt64> { #expect(Self.call(&breaker, .failure, at: time).isEmpty) }
        #expect(breaker.state == .disabled)
        #expect(breaker.reset(nowNanos: 51).target == .closed)
        #expect(breaker.snapshot(atNanos: 51).recentTransitions.map(\.reason) == [.operatorForcedOpen, .operatorDisabled, .operatorReset])
    }

    @Test("the snapshot keeps at most transitionHistoryMax transitions, newest last")
    func transitionHistoryBound() throws {
        var breaker = try Self.breaker { $0.transitionHistoryMax = 4 }
        for time in 1...10 as ClosedRange<UInt64> { _ = breaker.reset(nowNanos: time) }
        let recent = breaker.snapshot(atNanos: 10).recentTransitions
        #expect(recent.count == 4)
        #expect(recent.map(\.atNanos) == [7, 8, 9, 10])
        #expect(recent.last?.description == "closed → closed: reset by operator")
    }
}
