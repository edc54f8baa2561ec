/// GCRA's whole mutable state as two numbers, so a limiter kept inside replicated state can be written
/// to a snapshot and restored exactly (the cluster-wide throttles do this).
extension GenericCellRateLimiter {
    /// The debt owed (TAT − now, in the meter's units: one request costs `periodNanos`, time pays back
    /// `count` per nanosecond) as of `lastNanos`, the latest time the limiter has seen.
    public struct State: Sendable, Equatable {
        public var debtUnits: UInt64
        public var lastNanos: UInt64

        public init(debtUnits: UInt64, lastNanos: UInt64) {
            self.debtUnits = debtUnits
            self.lastNanos = lastNanos
        }
    }

    public var state: State { State(debtUnits: meter.levelUnits, lastNanos: meter.lastNanos) }

    /// A limiter as it was when `state` was taken.
    /// - Throws: `ResilienceConfigurationError` for a bad configuration (as `init`), or a debt above
    ///   the tolerance `(maxBurst + 1) × periodNanos`, which no limiter of this configuration can owe.
    public init(count: Int, periodNanos: UInt64, maxBurst: Int, restoring state: State) throws(ResilienceConfigurationError) {
        try self.init(count: count, periodNanos: periodNanos, maxBurst: maxBurst, nowNanos: state.lastNanos)
        guard state.debtUnits <= toleranceUnits else {
            throw ResilienceConfigurationError(parameter: "state.debtUnits", value: String(state.debtUnits),
                                               accepted: "at most (maxBurst + 1) × periodNanos = \(toleranceUnits)")
        }
        meter = ExactDrainMeter(drainUnitsPerNano: UInt64(count), unitsPerItem: periodNanos,
                                levelUnits: state.debtUnits, lastNanos: state.lastNanos)
    }
}
