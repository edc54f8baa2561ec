/// A circuit breaker: closed / open / half-open, plus the operator states forced-open and disabled.
///
/// Why: a caller that keeps calling a failing or slow dependency wastes its own threads and deepens the
/// dependency's trouble. While closed, outcomes fill a sliding window (`CircuitBreakerConfiguration`);
/// once it holds `minimumCalls`, a failure rate or slow-call rate at or above its threshold opens the
/// breaker, as does the plain "N failures within T". Open refuses everything for `waitInOpenNanos`, then
/// half-open admits `halfOpenProbes` probe calls; when all have reported, their rates close or reopen it.
///
/// The breaker is a value with no clock: the caller asks `acquire(nowNanos:)` before a call and reports
/// `record(_:permit:durationNanos:nowNanos:)` after it. Every state change comes back from the call that
/// caused it as a `CircuitBreakerTransition` with a reason, and the last `transitionHistoryMax` are kept
/// for `snapshot(atNanos:)`. A permit remembers the state epoch it was issued in: an outcome reported
/// after the breaker moved on (a slow call that started while closed and ended while open) is counted in
/// the totals but cannot judge a state it did not belong to.
///
/// Cost: `acquire` is O(1); `record` is O(1) for count-based windows and O(buckets skipped) for
/// time-based ones. Neither allocates.
public struct CircuitBreaker: Sendable {
    public let configuration: CircuitBreakerConfiguration
    public private(set) var state: CircuitBreakerState = .closed
    /// Bumped on every transition; permits from an older epoch are stale.
    private var epoch: UInt64 = 0
    private(set) var window: OutcomeWindow
    /// Failure times for the "N failures within T" trip; `nil` when that trip is off.
    private var failureBurstLog: SlidingWindowLog?
    private(set) var stateSinceNanos: UInt64
    private(set) var probes = ProbeTally()
    private(set) var totals = CircuitBreakerTotals()
    private(set) var history: BoundedHistory<CircuitBreakerTransition>

    /// - Throws: `ResilienceConfigurationError` naming the first invalid configuration field.
    public init(configuration: CircuitBreakerConfiguration = CircuitBreakerConfiguration(), nowNanos: UInt64)
        throws(ResilienceConfigurationError)
    {
        try configuration.validate()
        self.configuration = configuration
        window = OutcomeWindow(configuration.window)
        failureBurstLog = try Self.makeFailureBurstLog(configuration.failureBurst)
        stateSinceNanos = nowNanos
        history = BoundedHistory(capacity: configuration.transitionHistoryMax)
    }

    /// Asks to make a call. Open turns half-open here once its wait has passed; half-open hands out at
    /// most `halfOpenProbes` permits. A refusal is counted in `notPermittedCalls`.
    public mutating func acquire(nowNanos: UInt64) -> CircuitBreakerAdmission {
        switch state {
        case .closed, .disabled:
            return CircuitBreakerAdmission(permit: CircuitBreakerPermit(epoch: epoch), transition: nil)
        case .open:
            guard nowNanos >= stateSinceNanos, nowNanos - stateSinceNanos >= configuration.waitInOpenNanos else {
                return refuse(transition: nil)
            }
            let transition = move(to: .halfOpen, .waitInOpenElapsed(waitNanos: configuration.waitInOpenNanos), nowNanos)
            return admitProbe(transition: transition)
        case .halfOpen:
            if let maxWait = configuration.halfOpenMaxWaitNanos,
               nowNanos >= stateSinceNanos, nowNanos - stateSinceNanos >= maxWait {
                return refuse(transition: move(to: .open, .probesTimedOut(waitNanos: maxWait), nowNanos))
            }
            return admitProbe(transition: nil)
        case .forcedOpen:
            return refuse(transition: nil)
        }
    }

    /// Reports how a permitted call went. `durationNanos` at or above `slowCallDurationNanos` makes it
    /// slow (successful or not). Returns the transition it caused, if any.
    public mutating func record(
        _ outcome: CallOutcome, permit: CircuitBreakerPermit, durationNanos: UInt64, nowNanos: UInt64
    ) -> CircuitBreakerTransition? {
        let failed = outcome == .failure
        let slow = durationNanos >= configuration.slowCallDurationNanos
        totals.count(failed: failed, slow: slow)
        guard permit.epoch == epoch else {
            totals.staleOutcomes &+= 1
            return nil
        }
        switch state {
        case .closed:
            window.record(failed: failed, slow: slow, nowNanos: nowNanos)
            return judgeClosed(failed: failed, nowNanos: nowNanos)
        case .halfOpen:
            probes.count(failed: failed, slow: slow)
            return judgeProbes(nowNanos: nowNanos)
        case .open, .forcedOpen, .disabled:
            return nil
        }
    }

    private mutating func admitProbe(transition: CircuitBreakerTransition?) -> CircuitBreakerAdmission {
        guard probes.issued < configuration.halfOpenProbes else { return refuse(transition: transition) }
        probes.issued += 1
        return CircuitBreakerAdmission(permit: CircuitBreakerPermit(epoch: epoch), transition: transition)
    }

    private mutating func refuse(transition: CircuitBreakerTransition?) -> CircuitBreakerAdmission {
        totals.notPermittedCalls &+= 1
        return CircuitBreakerAdmission(permit: nil, transition: transition)
    }

    private mutating func judgeClosed(failed: Bool, nowNanos: UInt64) -> CircuitBreakerTransition? {
        if failed, let burst = configuration.failureBurst, var log = failureBurstLog {
            failureBurstLog = nil
            _ = log.allow(nowNanos: nowNanos)
            let tripped = log.count(atNanos: nowNanos) >= burst.failures
            failureBurstLog = log
            if tripped {
                return move(to: .open, .failureBurst(failures: burst.failures, withinNanos: burst.withinNanos), nowNanos)
            }
        }
        let calls = window.calls
        guard calls >= configuration.minimumCalls else { return nil }
        let failureThreshold = configuration.failureRateThresholdPercent
        if Double(window.failures) * 100 >= failureThreshold * Double(calls) {
            let percent = Double(window.failures) * 100 / Double(calls)
            return move(to: .open, .failureRate(percent: percent, thresholdPercent: failureThreshold, calls: calls), nowNanos)
        }
        let slowThreshold = configuration.slowCallRateThresholdPercent
        if Double(window.slowCalls) * 100 >= slowThreshold * Double(calls) {
            let percent = Double(window.slowCalls) * 100 / Double(calls)
            return move(to: .open, .slowCallRate(percent: percent, thresholdPercent: slowThreshold, calls: calls), nowNanos)
        }
        return nil
    }

    private mutating func judgeProbes(nowNanos: UInt64) -> CircuitBreakerTransition? {
        let probeCount = configuration.halfOpenProbes
        guard probes.completed >= probeCount else { return nil }
        let failurePercent = Double(probes.failures) * 100 / Double(probeCount)
        let slowPercent = Double(probes.slowCalls) * 100 / Double(probeCount)
        if failurePercent >= configuration.failureRateThresholdPercent
            || slowPercent >= configuration.slowCallRateThresholdPercent {
            let reason = CircuitBreakerTransitionReason.probesFailed(
                probes: probeCount, failureRatePercent: failurePercent, slowCallRatePercent: slowPercent
            )
            return move(to: .open, reason, nowNanos)
        }
        let reason = CircuitBreakerTransitionReason.probesPassed(
            probes: probeCount, failureRatePercent: failurePercent, slowCallRatePercent: slowPercent
        )
        return move(to: .closed, reason, nowNanos)
    }

    /// Changes state, starts the new state fresh, and records the transition.
    @discardableResult
    mutating func move(
        to target: CircuitBreakerState, _ reason: CircuitBreakerTransitionReason, _ nowNanos: UInt64
    ) -> CircuitBreakerTransition {
        let transition = CircuitBreakerTransition(source: state, target: target, reason: reason, atNanos: nowNanos)
        state = target
        epoch &+= 1
        stateSinceNanos = nowNanos
        probes = ProbeTally()
        if target == .closed {
            window.reset()
            failureBurstLog = try? Self.makeFailureBurstLog(configuration.failureBurst)
        }
        history.append(transition)
        return transition
    }

    private static func makeFailureBurstLog(
        _ burst: CircuitBreakerConfiguration.FailureBurst?
    ) throws(ResilienceConfigurationError) -> SlidingWindowLog? {
        guard let burst else { return nil }
        return try SlidingWindowLog(limit: burst.failures, windowNanos: burst.withinNanos)
    }
}

/// How a call went, as the caller judged it (a timeout is a failure; what counts is the caller's call).
public enum CallOutcome: Sendable, Equatable {
    case success
    case failure
}

/// Proof that the breaker admitted a call; hand it back to `record`.
public struct CircuitBreakerPermit: Sendable, Equatable {
    let epoch: UInt64
}

/// The answer to `CircuitBreaker.acquire`: a permit or a refusal, and the transition the call caused.
public struct CircuitBreakerAdmission: Sendable, Equatable {
    /// `nil` when refused.
    public let permit: CircuitBreakerPermit?
    public let transition: CircuitBreakerTransition?
    public var isPermitted: Bool { permit != nil }
}

/// Counters over the breaker's whole life (they never reset; the window does).
public struct CircuitBreakerTotals: Sendable, Equatable {
    public var successfulCalls: UInt64 = 0
    public var failedCalls: UInt64 = 0
    public var slowCalls: UInt64 = 0
    public var notPermittedCalls: UInt64 = 0
    /// Outcomes reported with a permit from an earlier state (counted above, judged nothing).
    public var staleOutcomes: UInt64 = 0

    mutating func count(failed: Bool, slow: Bool) {
        if failed { failedCalls &+= 1 } else { successfulCalls &+= 1 }
        if slow { slowCalls &+= 1 }
    }
}

/// Half-open's probe bookkeeping.
struct ProbeTally: Sendable, Equatable {
    var issued = 0
    var completed = 0
    var failures = 0
    var slowCalls = 0

    mutating func count(failed: Bool, slow: Bool) {
        completed += 1
        if failed { failures += 1 }
        if slow { slowCalls += 1 }
    }
}
