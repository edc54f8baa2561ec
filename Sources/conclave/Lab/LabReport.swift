import ArgumentParser
import ConclaveLab
import Foundation

/// How the lab's results are shown: a wide table for people, `BenchResult` rows for `--json`.
enum LabReport {
    /// The strategies a `--strategy` value names: a comma-separated list, or `all`.
    static func strategies(_ text: String) throws -> [LabStrategy] {
        if text == "all" { return LabStrategy.allCases }
        return try text.split(separator: ",").map { name in
            guard let strategy = LabStrategy(rawValue: String(name)) else {
                throw ValidationError("--strategy: unknown strategy '\(name)'; accepted: all, \(LabStrategy.acceptedNames)")
            }
            return strategy
        }
    }

    /// One table row per result: the figures issue #18 asks for, the counter check last.
    static func printTable(_ results: [LabResult]) {
        let headers = ["strategy", "threads", "ops/s", "p50", "p99", "max", "wasted CPU", "fails/op", "Jain", "starved", "counter"]
        let rows = results.map { result -> [String] in
            let latency = result.latency
            return [
                result.configuration.strategy.title, String(result.configuration.threads),
                BenchReport.humanize(result.operationsPerSecond),
                duration(latency.valueAtPercentile(50)), duration(latency.valueAtPercentile(99)), duration(latency.max),
                String(format: "%.0f%%", result.wastedShare * 100), String(format: "%.2f", result.failedAttemptsPerSuccess),
                String(format: "%.3f", result.fairness), duration(result.longestStarvationNanos), counterCheck(result),
            ]
        }
        BenchReport.printTable(headers: headers, rows: rows, leftAligned: [0, headers.count - 1])
    }

    /// "ok" when the counter equals the increments, else how many were lost.
    static func counterCheck(_ result: LabResult) -> String {
        let verdict = result.lostUpdates == 0 ? "ok" : "LOST \(result.lostUpdates)"
        return "\(result.counter)/\(result.operations) \(verdict)"
    }

    /// The rows `--json` prints for one result: throughput with acquire latency, then one row per figure.
    static func benchResults(_ result: LabResult) -> [BenchResult] {
        let name = "lab \(result.configuration.strategy.rawValue) \(result.configuration.threads) threads"
        let operations = UInt64(result.operations)
        func figure(_ what: String, _ unit: String, _ value: Double) -> BenchResult {
            BenchResult(name: "\(name): \(what)", unit: unit, value: value, p50: .nan, p99: .nan, n: operations)
        }
        return [
            BenchResult(name: name, unit: "ops/s", value: result.operationsPerSecond, histogram: result.latency),
            figure("acquire max", "ns", Double(result.latency.max)),
            figure("wasted CPU", "%", result.wastedShare * 100),
            figure("failed tries per success", "tries/op", result.failedAttemptsPerSuccess),
            figure("fairness", "Jain", result.fairness),
            figure("longest starvation", "ns", Double(result.longestStarvationNanos)),
            figure("lost updates", "updates", Double(result.lostUpdates)),
        ]
    }

    private static func duration(_ nanoseconds: UInt64) -> String {
        BenchReport.humanizeDuration(Double(nanoseconds), unit: "ns")
    }
}
