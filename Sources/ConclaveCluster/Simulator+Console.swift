import ConclaveCore

/// What the console reads from the simulator beyond `status(of:)`: link state, network faults,
/// pause deadlines, the next event's time for single-stepping, and the text of events as they run.
/// Read-only, except `traced`, which only swaps the trace's text buffer (never cluster state).
extension Simulator {
    /// Whether a message sent now from `source` would reach `target` (no partition or clog between).
    public func linkIsOpen(from source: NodeID, to target: NodeID) -> Bool {
        network.canReach(from: source, to: target, at: now)
    }

    /// The network's loss, duplication and extra delay as set by faults.
    public var networkFaultRates: (dropProbability: Double, duplicateProbability: Double, extraDelayMaxNanos: UInt64) {
        (network.dropProbability, network.duplicateProbability, network.extraDelayMaxNanos)
    }

    /// Whether a partition is in force.
    public var isPartitioned: Bool { network.isPartitioned }

    /// When a paused node resumes (virtual ns), if it is paused.
    public func pausedUntil(_ node: NodeID) -> UInt64? {
        let simulated = nodes[index(of: node)]
        return simulated.health == .paused ? simulated.pausedUntil : nil
    }

    /// The time of the next event in the queue (nil when nothing is scheduled).
    public var nextEventTime: UInt64? { queue.nextTime }

    /// Runs `body` with the trace keeping the text of up to `lines` events, returns them, and puts
    /// the previous trace back. The console uses it to show what a single step did and to count
    /// messages per pair of nodes; events inside are not folded into the run's trace hash (the
    /// console compares no hashes).
    public func traced(lines: Int, _ body: () -> Void) -> [String] {
        let saved = trace
        trace = SimulationTrace(linesMax: lines)
        body()
        let captured = trace.lines
        trace = saved
        return captured
    }
}
