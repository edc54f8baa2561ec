extension CircuitBreaker {
    /// Holds the breaker open, refusing every call, until `reset`. Returns `nil` if it already was.
    public mutating func forceOpen(nowNanos: UInt64) -> CircuitBreakerTransition? {
        guard state != .forcedOpen else { return nil }
        return move(to: .forcedOpen, .operatorForcedOpen, nowNanos)
    }

    /// Lets every call through and stops judging outcomes, until `reset`. Returns `nil` if it already was.
    public mutating func disable(nowNanos: UInt64) -> CircuitBreakerTransition? {
        guard state != .disabled else { return nil }
        return move(to: .disabled, .operatorDisabled, nowNanos)
    }

    /// Closes the breaker with an empty window, from any state (closed included: that clears the window).
    public mutating func reset(nowNanos: UInt64) -> CircuitBreakerTransition {
        move(to: .closed, .operatorReset, nowNanos)
    }
}
