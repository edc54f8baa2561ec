extension CircuitBreaker {
    /// What the console shows: state, rates, counts and recent transitions as of `nowNanos`. O(window
    /// buckets + transition history); it copies, so call it per frame, not per request.
    public func snapshot(atNanos nowNanos: UInt64) -> CircuitBreakerSnapshot {
        var snapshot = CircuitBreakerSnapshot(state: state, totals: totals, recentTransitions: history.elements)
        switch state {
        case .closed:
            let (calls, failures, slowCalls) = window.totals(atNanos: nowNanos)
            snapshot.calls = calls
            snapshot.failures = failures
            snapshot.slowCalls = slowCalls
            if calls >= configuration.minimumCalls, calls > 0 {
                snapshot.failureRatePercent = Double(failures) * 100 / Double(calls)
                snapshot.slowCallRatePercent = Double(slowCalls) * 100 / Double(calls)
            }
        case .halfOpen:
            snapshot.calls = probes.completed
            snapshot.failures = probes.failures
            snapshot.slowCalls = probes.slowCalls
            snapshot.probesIssued = probes.issued
        case .open:
            let openUntil = stateSinceNanos &+ configuration.waitInOpenNanos
            snapshot.probingInNanos = openUntil > nowNanos ? openUntil - nowNanos : 0
        case .forcedOpen, .disabled:
            break
        }
        return snapshot
    }
}

/// A breaker as of one moment, for the console and `status`.
public struct CircuitBreakerSnapshot: Sendable, Equatable {
    public var state: CircuitBreakerState
    /// Closed: the window's calls. Half-open: the probes that reported. Otherwise 0.
    public var calls = 0
    public var failures = 0
    public var slowCalls = 0
    /// Closed only, and only once the window holds `minimumCalls` (resilience4j shows -1 before that).
    public var failureRatePercent: Double?
    public var slowCallRatePercent: Double?
    /// Half-open: probes handed out so far.
    public var probesIssued = 0
    /// Open: how long until the next `acquire` turns the breaker half-open.
    public var probingInNanos: UInt64?
    public var totals: CircuitBreakerTotals
    /// Oldest first, at most `transitionHistoryMax`.
    public var recentTransitions: [CircuitBreakerTransition]

    init(state: CircuitBreakerState, totals: CircuitBreakerTotals, recentTransitions: [CircuitBreakerTransition]) {
        self.state = state
        self.totals = totals
        self.recentTransitions = recentTransitions
    }
}
