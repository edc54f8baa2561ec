import ConclaveCore
import ConclaveResilience

/// Every balancing strategy picking for the same stream of requests, counted per backend, so their
/// spreads can be compared side by side (the naive shuffle's heavy first backend among them).
struct Balancers {
    var roundRobin: RoundRobinBalancer
    var random: RandomBalancer
    var naive: ShuffleBalancer
    var fisherYates: ShuffleBalancer
    var twoChoices: PowerOfTwoChoicesBalancer
    var ring: ConsistentHashRing
    var picks: [[Int]]
    static let names = ["round robin", "random", "naive shuffle", "Fisher–Yates", "power of two", "consistent hash"]

    init(backends: Int) {
        roundRobin = try! RoundRobinBalancer(backendCount: backends)
        random = try! RandomBalancer(backendCount: backends)
        naive = try! ShuffleBalancer(backendCount: backends, algorithm: .naivePairSwaps)
        fisherYates = try! ShuffleBalancer(backendCount: backends, algorithm: .fisherYates)
        twoChoices = try! PowerOfTwoChoicesBalancer(backendCount: backends)
        ring = try! ConsistentHashRing(backends: (1...backends).map { "node-\($0)" })
        picks = Array(repeating: Array(repeating: 0, count: backends), count: Self.names.count)
    }

    /// Picks with every strategy; returns the round-robin pick, which the workload routes by.
    @discardableResult
    mutating func pickAll(key: String, using generator: inout SeededGenerator) -> Int {
        let chosen = [
            roundRobin.pick(), random.pick(using: &generator), naive.pick(using: &generator),
            fisherYates.pick(using: &generator), twoChoices.pick(using: &generator),
            ring.backendIndex(forKeyHash: StableHash.key(key)),
        ]
        // Requests finish about as fast as they come: release the two-choices load at once, with a
        // lag of one, so outstanding counts stay small but real.
        if let last = lastTwoChoices { twoChoices.complete(backend: last) }
        lastTwoChoices = chosen[4]
        for (strategy, backend) in chosen.enumerated() { picks[strategy][backend] += 1 }
        return chosen[0]
    }

    var lastTwoChoices: Int?

    func snapshots() -> [BalancerSnapshot] {
        picks.enumerated().map { strategy, counts in
            let (chiSquare, critical) = Self.chiSquare(counts)
            return BalancerSnapshot(strategy: Self.names[strategy], picks: counts, chiSquare: chiSquare, critical: critical)
        }
    }

    /// Pearson's chi-square of `counts` against a uniform spread, and the critical value at
    /// p = 0.001 for k − 1 degrees of freedom (Wilson–Hilferty, within 1% of the table for k ≥ 3).
    static func chiSquare(_ counts: [Int]) -> (Double, Double) {
        let total = counts.reduce(0, +)
        let degrees = Double(max(1, counts.count - 1))
        let z = 3.090_232  // the 99.9th percentile of the standard normal
        let term = 2 / (9 * degrees)
        let critical = degrees * pow3(1 - term + z * term.squareRoot())
        guard total > 0 else { return (0, critical) }
        let expected = Double(total) / Double(counts.count)
        let statistic = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        return (statistic, critical)
    }

    private static func pow3(_ value: Double) -> Double { value * value * value }
}
