import Foundation
import Histogram

/// One benchmark figure: a rate or a cost, with the latency (or cost) distribution behind it.
///
/// Every `conclave bench …` subcommand reports a list of these: a readable table by default and,
/// with `--json`, one JSON object per line with exactly the fields `name`, `unit`, `value`, `p50`,
/// `p99`, `n` (p50/p99 are in `percentileUnit`, nanoseconds unless said otherwise).
struct BenchResult {
    var name: String
    var unit: String
    var value: Double
    var p50: Double
    var p99: Double
    var n: UInt64
    var percentileUnit = "ns"

    /// A result whose percentiles come from `histogram` (values recorded in nanoseconds).
    init(name: String, unit: String, value: Double, histogram: Histogram<UInt64>) {
        self.name = name
        self.unit = unit
        self.value = value
        self.p50 = Double(histogram.valueAtPercentile(50))
        self.p99 = Double(histogram.valueAtPercentile(99))
        self.n = histogram.totalCount
    }

    init(name: String, unit: String, value: Double, p50: Double, p99: Double, n: UInt64, percentileUnit: String = "ns") {
        self.name = name
        self.unit = unit
        self.value = value
        self.p50 = p50
        self.p99 = p99
        self.n = n
        self.percentileUnit = percentileUnit
    }

    var jsonLine: String {
        let escapedName = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "{\"name\": \"\(escapedName)\", \"unit\": \"\(unit)\", \"value\": \(format(value)), "
            + "\"p50\": \(format(p50)), \"p99\": \(format(p99)), \"n\": \(n)}"
    }

    private func format(_ number: Double) -> String {
        number.isFinite ? String(format: "%.3f", number) : "null"
    }
}

/// Prints benchmark results as a table or JSON lines.
enum BenchReport {
    static func emit(_ results: [BenchResult], json: Bool) {
        if json {
            for result in results { print(result.jsonLine) }
            return
        }
        let headers = ["benchmark", "value", "unit", "p50", "p99", "n"]
        let rows = results.map { result in
            [
                result.name, humanize(result.value), result.unit,
                humanizeDuration(result.p50, unit: result.percentileUnit),
                humanizeDuration(result.p99, unit: result.percentileUnit), String(result.n),
            ]
        }
        printTable(headers: headers, rows: rows, leftAligned: [0, 2])
    }

    /// Prints `rows` under `headers` in columns as wide as their widest cell: text columns
    /// (`leftAligned`) padded on the right, figures on the left.
    static func printTable(headers: [String], rows: [[String]], leftAligned: Set<Int>) {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                leftAligned.contains(column) ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        print(line(headers))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { print(line(row)) }
    }

    static func humanize(_ value: Double) -> String {
        switch abs(value) {
        case 1e9...: return String(format: "%.2fG", value / 1e9)
        case 1e6...: return String(format: "%.2fM", value / 1e6)
        case 1e4...: return String(format: "%.1fk", value / 1e3)
        default: return String(format: "%.2f", value)
        }
    }

    static func humanizeDuration(_ value: Double, unit: String) -> String {
        guard unit == "ns" else { return String(format: "%.2f %@", value, unit) }
        switch value {
        case 1e9...: return String(format: "%.2f s", value / 1e9)
        case 1e6...: return String(format: "%.2f ms", value / 1e6)
        case 1e3...: return String(format: "%.2f µs", value / 1e3)
        default: return String(format: "%.0f ns", value)
        }
    }
}

/// A monotonic nanosecond clock for benchmarks (the executable may read the wall clock; cores may not).
enum BenchClock {
    static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// CPU time the process's threads have used, in nanoseconds.
    static func processCPUNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// A histogram for nanosecond latencies from 1 ns to 100 s at 3 significant digits.
    static func latencyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three)
    }
}
