/// A call path with degradation: try the primary through a `CircuitBreaker`, and when the breaker refuses
/// or the primary fails, serve a fallback — counting which path served each request.
///
/// Why a type and not an `if`: the counts are what an operator needs ("how much of our traffic is being
/// served stale right now?"), and the refusal and failure cases must both reach the fallback or one of
/// them is always forgotten. Pure: the caller makes the calls and reports outcomes (`begin`, `complete`);
/// `execute` does both around two closures for synchronous callers, reading time from the clock it is
/// given.
public struct FallbackPath: Sendable {
    public private(set) var breaker: CircuitBreaker
    public private(set) var counts = FallbackCounts()

    public init(breaker: CircuitBreaker) {
        self.breaker = breaker
    }

    /// Asks the breaker. When refused, the request is counted as served by fallback and the caller
    /// serves it; otherwise the caller calls the primary and reports with `complete`.
    public mutating func begin(nowNanos: UInt64) -> CircuitBreakerAdmission {
        let admission = breaker.acquire(nowNanos: nowNanos)
        if !admission.isPermitted { counts.fallbackAfterRefusal &+= 1 }
        return admission
    }

    /// Reports the primary's outcome: on success the primary's result is served, on failure the caller
    /// serves the fallback (counted here). Returns the breaker transition the outcome caused, if any.
    public mutating func complete(
        _ outcome: CallOutcome, permit: CircuitBreakerPermit, durationNanos: UInt64, nowNanos: UInt64
    ) -> CircuitBreakerTransition? {
        if outcome == .success { counts.primaryServed &+= 1 } else { counts.fallbackAfterFailure &+= 1 }
        return breaker.record(outcome, permit: permit, durationNanos: durationNanos, nowNanos: nowNanos)
    }

    /// Runs `primary` through the breaker, or `fallback` when refused or when `primary` throws.
    /// `clockNanos` is read before and after the primary to time it (inject a virtual clock in tests).
    public mutating func execute<Value, Failure: Error>(
        clockNanos: () -> UInt64,
        primary: () throws(Failure) -> Value,
        fallback: (FallbackReason<Failure>) -> Value
    ) -> Value {
        let startNanos = clockNanos()
        guard let permit = begin(nowNanos: startNanos).permit else { return fallback(.refused(breaker.state)) }
        do {
            let value = try primary()
            let endNanos = clockNanos()
            _ = complete(.success, permit: permit, durationNanos: endNanos &- startNanos, nowNanos: endNanos)
            return value
        } catch {
            let endNanos = clockNanos()
            _ = complete(.failure, permit: permit, durationNanos: endNanos &- startNanos, nowNanos: endNanos)
            return fallback(.failed(error))
        }
    }
}

/// Why the fallback served a request.
public enum FallbackReason<Failure: Error> {
    /// The breaker refused; the primary was not called.
    case refused(CircuitBreakerState)
    /// The primary was called and failed.
    case failed(Failure)
}

/// Which path served each request, over the path's life.
public struct FallbackCounts: Sendable, Equatable {
    public var primaryServed: UInt64 = 0
    public var fallbackAfterRefusal: UInt64 = 0
    public var fallbackAfterFailure: UInt64 = 0
    public var fallbackServed: UInt64 { fallbackAfterRefusal + fallbackAfterFailure }
}
