import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct ShuffleTests {
    /// Pearson's chi-square statistic of `observed` counts against equal expected counts.
    static func chiSquare(_ observed: [Int]) -> Double {
        let expected = Double(observed.reduce(0, +)) / Double(observed.count)
        return observed.reduce(0.0) { sum, count in
            let difference = Double(count) - expected
            return sum + difference * difference / expected
        }
    }

    @Test("Fisher–Yates: the first backend of 7 is uniform over 1,000,000 picks (chi-square, p = 0.001)")
    func fisherYatesFirstPositionIsUniform() throws {
        var balancer = try ShuffleBalancer(backendCount: 7, algorithm: .fisherYates)
        var generator = SeededGenerator(seed: 2026)
        var counts = Array(repeating: 0, count: 7)
        for _ in 0..<1_000_000 { counts[balancer.pick(using: &generator)] += 1 }
        // 22.458 is the 0.999 quantile of chi-square with 6 degrees of freedom.
        #expect(Self.chiSquare(counts) < 22.458)
    }

    @Test("Fisher–Yates: all 24 orders of 4 backends are equally likely (chi-square, p = 0.001)")
    func fisherYatesPermutationsAreUniform() {
        var generator = SeededGenerator(seed: 17)
        var counts: [Int: Int] = [:]
        for _ in 0..<240_000 {
            var order = [0, 1, 2, 3]
            ShuffleAlgorithm.fisherYates.shuffle(&order, using: &generator)
            counts[order.reduce(0) { $0 * 4 + $1 }, default: 0] += 1
        }
        #expect(counts.count == 24)
        // 49.728 is the 0.999 quantile of chi-square with 23 degrees of freedom.
        #expect(Self.chiSquare(counts.keys.sorted().map { counts[$0]! }) < 49.728)
    }

    @Test("naive pair swaps keep backend 0 first 3.19× as often as uniform for 7 backends: exact and measured")
    func naiveShuffleBias() throws {
        // Exact: enumerate all 49³ equally likely sequences of three (i, j) swaps.
        var stays = 0
        for sequence in 0..<(49 * 49 * 49) {
            var order = Array(0..<7)
            var rest = sequence
            for _ in 0..<3 {
                order.swapAt(rest % 7, (rest / 7) % 7)
                rest /= 49
            }
            if order[0] == 0 { stays += 1 }
        }
        #expect(stays == 53_557, "P(backend 0 first) = 53557/117649 = 0.45522, i.e. 3.187× the uniform 1/7")

        var balancer = try ShuffleBalancer(backendCount: 7, algorithm: .naivePairSwaps)
        var generator = SeededGenerator(seed: 2026)
        var counts = Array(repeating: 0, count: 7)
        for _ in 0..<1_000_000 { counts[balancer.pick(using: &generator)] += 1 }
        // Measured with seed 2026: [454636, 91103, 90964, 90766, 90828, 90475, 91228] — backend 0 first
        // in 45.46 % of picks, 3.182× the uniform 14.29 % (exact: 3.187×); each other backend 9.05–9.12 %
        // (exact: 10682/117649 = 9.08 %, 0.64× uniform).
        let firstShare = Double(counts[0]) / 1_000_000
        #expect(abs(firstShare - 53_557.0 / 117_649.0) < 0.002)
        #expect(firstShare * 7 > 3.1 && firstShare * 7 < 3.3)
        #expect(counts[1...].allSatisfy { abs(Double($0) / 1_000_000 - 10_682.0 / 117_649.0) < 0.002 })
        #expect(Self.chiSquare(counts) > 10_000, "decisively non-uniform")
    }

    @Test("a retry plan tries distinct backends in shuffled order, at most maxTries of them")
    func retryPlan() throws {
        var balancer = try ShuffleBalancer(backendCount: 5, algorithm: .fisherYates)
        var generator = SeededGenerator(seed: 3)
        var plan = try balancer.retryPlan(maxTries: 3, using: &generator)
        var tried: [Int] = []
        while let backend = plan.next() { tried.append(backend) }
        #expect(tried.count == 3)
        #expect(Set(tried).count == 3)
        #expect(plan.triesMade == 3)
        let whole = try balancer.retryPlan(maxTries: 99, using: &generator)
        #expect(Array(IteratorSequence(whole)).sorted() == [0, 1, 2, 3, 4])
        #expect(throws: ResilienceConfigurationError.self) { try balancer.retryPlan(maxTries: 0, using: &generator) }
    }
}
