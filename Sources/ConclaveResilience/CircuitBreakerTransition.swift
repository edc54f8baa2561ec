/// The states of a `CircuitBreaker`. `forcedOpen` and `disabled` are operator states: only an operator
/// call leaves them.
public enum CircuitBreakerState: String, Sendable, Equatable, CaseIterable {
    /// Calls pass; outcomes fill the sliding window.
    case closed
    /// Calls are refused until the wait in open has passed.
    case open
    /// A fixed number of probe calls pass; their outcomes decide.
    case halfOpen = "half-open"
    /// Refused by an operator until reset.
    case forcedOpen = "forced-open"
    /// Everything passes and nothing trips, by an operator's choice, until reset.
    case disabled
}

/// Why a breaker changed state: every transition carries one, so the console and the logs can say why.
public enum CircuitBreakerTransitionReason: Sendable, Equatable, CustomStringConvertible {
    /// The window's failure rate reached the threshold.
    case failureRate(percent: Double, thresholdPercent: Double, calls: Int)
    /// The window's slow-call rate reached the threshold.
    case slowCallRate(percent: Double, thresholdPercent: Double, calls: Int)
    /// `failures` failures came within `withinNanos`.
    case failureBurst(failures: Int, withinNanos: UInt64)
    /// The wait in open passed; probes may go.
    case waitInOpenElapsed(waitNanos: UInt64)
    /// Every probe reported and the rates stayed under the thresholds.
    case probesPassed(probes: Int, failureRatePercent: Double, slowCallRatePercent: Double)
    /// Every probe reported and a rate reached its threshold.
    case probesFailed(probes: Int, failureRatePercent: Double, slowCallRatePercent: Double)
    /// The probes had not all reported within `halfOpenMaxWaitNanos`.
    case probesTimedOut(waitNanos: UInt64)
    case operatorForcedOpen
    case operatorDisabled
    /// An operator closed the breaker and cleared its window.
    case operatorReset

    public var description: String {
        switch self {
        case .failureRate(let percent, let threshold, let calls):
            return "failure rate \(Self.format(percent))% ≥ \(Self.format(threshold))% over \(calls) calls"
        case .slowCallRate(let percent, let threshold, let calls):
            return "slow-call rate \(Self.format(percent))% ≥ \(Self.format(threshold))% over \(calls) calls"
        case .failureBurst(let failures, let withinNanos):
            return "\(failures) failures within \(withinNanos / 1_000_000) ms"
        case .waitInOpenElapsed(let waitNanos):
            return "open for \(waitNanos / 1_000_000) ms; probing"
        case .probesPassed(let probes, let failure, let slow):
            return "\(probes) probes passed (failures \(Self.format(failure))%, slow \(Self.format(slow))%)"
        case .probesFailed(let probes, let failure, let slow):
            return "\(probes) probes failed (failures \(Self.format(failure))%, slow \(Self.format(slow))%)"
        case .probesTimedOut(let waitNanos):
            return "probes did not report within \(waitNanos / 1_000_000) ms"
        case .operatorForcedOpen: return "forced open by operator"
        case .operatorDisabled: return "disabled by operator"
        case .operatorReset: return "reset by operator"
        }
    }

    /// One decimal place, without Foundation.
    static func format(_ percent: Double) -> String {
        let tenths = Int((percent * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// One state change, as a value: the breaker returns it from the call that caused it and keeps the most
/// recent ones for its snapshot.
public struct CircuitBreakerTransition: Sendable, Equatable, CustomStringConvertible {
    public let source: CircuitBreakerState
    public let target: CircuitBreakerState
    public let reason: CircuitBreakerTransitionReason
    public let atNanos: UInt64

    public var description: String { "\(source.rawValue) → \(target.rawValue): \(reason)" }
}
