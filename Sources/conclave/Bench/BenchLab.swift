import ArgumentParser
import ConclaveLab

/// `conclave bench lab`: the lock lab's table for 1, 8 and 64 threads, every strategy, and the
/// ratios worth quoting, all from this one run.
struct BenchLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "In-process locks (mutex, try-lock, CAS, ticket, async, unlocked) at 1, 8 and 64 threads, with ratios."
    )

    static let threadCounts = [1, 8, 64]

    @OptionGroup var options: BenchOptions

    @Option(help: ArgumentHelp("How long each strategy runs at each thread count (\(LabStrategy.allCases.count * 3) runs), 10ms…60s.",
                               valueName: "duration"))
    var duration = DurationArgument(argument: "500ms")!

    @OptionGroup var work: LabWorkOptions

    func validate() throws {
        do { _ = try configuration(.mutex, threads: 1).validated() } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        var results: [LabResult] = []
        for threads in Self.threadCounts {
            for strategy in LabStrategy.allCases { results.append(LabRunner.run(configuration(strategy, threads: threads))) }
        }
        let pairs = LabStrategy.allCases.map(Self.uncontendedPair)
        let ratios = Self.ratios(results) + [Self.pairRatio(pairs, .spin, over: .mutex)]
        if options.json {
            BenchReport.emit(results.flatMap(LabReport.benchResults) + pairs + ratios, json: true)
        } else {
            LabReport.printTable(results)
            print("")
            BenchReport.emit(pairs + ratios, json: false)
        }
    }

    /// One thread taking and giving back a lock nobody else wants, no clocks in the loop: what the
    /// lock itself costs (the workload's per-operation clock reads dwarf it in the table).
    static func uncontendedPair(_ strategy: LabStrategy) -> BenchResult {
        let means = LabRunner.uncontendedPairNanos(strategy, batches: 50, pairs: 20_000).sorted()
        return BenchResult(name: "uncontended acquire+release, \(strategy.rawValue) (per pair, 50 batches)", unit: "ns",
                           value: means[means.count / 2], p50: means[means.count / 2], p99: means[means.count * 99 / 100],
                           n: UInt64(means.count * 20_000))
    }

    static func pairRatio(_ pairs: [BenchResult], _ first: LabStrategy, over second: LabStrategy) -> BenchResult {
        let cost = { (strategy: LabStrategy) in pairs[LabStrategy.allCases.firstIndex(of: strategy)!] }
        let (a, b) = (cost(first), cost(second))
        return BenchResult(name: "\(second.rawValue) ÷ \(first.rawValue) cost, uncontended acquire+release", unit: "×",
                           value: b.value / a.value, p50: b.p50 / a.p50, p99: b.p99 / a.p99, n: a.n + b.n, percentileUnit: "×")
    }

    private func configuration(_ strategy: LabStrategy, threads: Int) -> LabConfiguration {
        LabConfiguration(strategy: strategy, threads: threads, criticalNanos: work.criticalNanos, thinkNanos: work.thinkNanos,
                         durationNanos: duration.nanoseconds)
    }

    /// Throughput ratios from this run (p50 and p99 hold the same ratio of acquire latencies, inverted
    /// so that above 1 means the first is better throughout).
    static func ratios(_ results: [LabResult]) -> [BenchResult] {
        func find(_ strategy: LabStrategy, _ threads: Int) -> LabResult? {
            results.first { $0.configuration.strategy == strategy && $0.configuration.threads == threads }
        }
        let pairs: [(String, LabStrategy, LabStrategy, Int)] = [
            ("CAS spin ÷ mutex, 1 thread (uncontended)", .spin, .mutex, 1),
            ("CAS spin ÷ mutex, 64 threads", .spin, .mutex, 64),
            ("try-lock spin ÷ async FIFO lock, 64 threads", .channel, .async, 64),
            ("CAS spin with backoff ÷ bare CAS spin, 64 threads", .spinBackoff, .spin, 64),
            ("ticket (fair spin) ÷ mutex, 8 threads", .ticket, .mutex, 8),
        ]
        return pairs.compactMap { title, first, second, threads in
            guard let a = find(first, threads), let b = find(second, threads) else { return nil }
            func inverse(_ percentile: Double) -> Double {
                Double(b.latency.valueAtPercentile(percentile)) / Double(max(1, a.latency.valueAtPercentile(percentile)))
            }
            return BenchResult(name: title, unit: "×", value: a.operationsPerSecond / max(b.operationsPerSecond, 1e-9),
                               p50: inverse(50), p99: inverse(99), n: UInt64(a.operations + b.operations), percentileUnit: "×")
        }
    }
}
