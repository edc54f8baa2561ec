import Histogram

/// A cluster under closed-loop load: each of N proposers keeps one request outstanding and
/// proposes again the moment it completes. `bench raft` and `bench paxos` measure both engines
/// with this one loop, so their figures differ only by the engine.
protocol ClosedLoopCluster {
    associatedtype RequestKey: Hashable
    /// Proposes one request and returns the key its completion will carry.
    mutating func proposeOne(payload: [UInt8]) -> RequestKey
    /// Moves the cluster one round on, reporting each request that completed.
    mutating func runRound(completed: (RequestKey) -> Void)
}

extension ClosedLoopCluster {
    /// Runs until `target` requests complete; latency is propose → complete.
    mutating func measureClosedLoop(proposers: Int, target: Int, payloadBytes: Int, name: String, unit: String) -> BenchResult {
        let payload = [UInt8](repeating: 0xAB, count: payloadBytes)
        var histogram = BenchClock.latencyHistogram()
        var startedAt: [RequestKey: UInt64] = [:]
        startedAt.reserveCapacity(proposers * 2)
        for _ in 0..<proposers { startedAt[proposeOne(payload: payload)] = BenchClock.nanoseconds() }
        var completed = 0
        let start = BenchClock.nanoseconds()
        while completed < target {
            var reproposals = 0
            runRound { key in
                guard let began = startedAt.removeValue(forKey: key) else { return }
                histogram.record(BenchClock.nanoseconds() - began)
                completed += 1
                reproposals += 1
            }
            for _ in 0..<reproposals where completed + startedAt.count < target {
                startedAt[proposeOne(payload: payload)] = BenchClock.nanoseconds()
            }
        }
        let elapsed = BenchClock.nanoseconds() - start
        return BenchResult(name: name, unit: unit, value: Double(completed) / (Double(elapsed) / 1e9), histogram: histogram)
    }
}
