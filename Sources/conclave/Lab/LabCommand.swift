import ArgumentParser
import ConclaveLab

/// `conclave lab …`: experiments inside one process, beside the distributed ones.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Experiments: locks on real threads, measured; a paused lock holder on real servers.",
        subcommands: [LabLocksCommand.self, LabStaleWrite.self]
    )
}

/// `conclave lab locks`: each chosen lock strategy in turn, N threads hammering one counter.
struct LabLocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locks",
        abstract: "Mutex, try-lock, CAS spin, ticket and async locks on real threads: throughput, latency, wasted CPU, fairness, lost updates."
    )

    @Option(help: "Strategies, comma-separated, or 'all' (\(LabStrategy.acceptedNames)).")
    var strategy = "all"

    @Option(help: "Threads (tasks for the async lock), \(LabConfiguration.threadsRange.lowerBound)…\(LabConfiguration.threadsRange.upperBound).")
    var threads = 8

    @OptionGroup var work: LabWorkOptions

    @Option(help: ArgumentHelp("How long each strategy runs, 10ms…60s.", valueName: "duration"))
    var duration = DurationArgument(argument: "1s")!

    @Flag(help: "Print one JSON object per line (name, unit, value, p50, p99, n) instead of a table.")
    var json = false

    func validate() throws {
        for configuration in try configurations() {
            do { _ = try configuration.validated() } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        let results = try configurations().map { LabRunner.run($0) }
        if json { BenchReport.emit(results.flatMap(LabReport.benchResults), json: true) } else { LabReport.printTable(results) }
    }

    private func configurations() throws -> [LabConfiguration] {
        try LabReport.strategies(strategy).map {
            LabConfiguration(strategy: $0, threads: threads, criticalNanos: work.criticalNanos, thinkNanos: work.thinkNanos,
                             durationNanos: duration.nanoseconds)
        }
    }
}

/// The work each lab thread does: how long it holds the lock and how long it works between holds.
struct LabWorkOptions: ParsableArguments {
    @Option(name: .customLong("critical-ns"), help: "Length of the critical section, 0…1000000 ns.")
    var criticalNanos: UInt64 = 100

    @Option(name: .customLong("think-ns"), help: "Work between two holds of the lock, 0…10000000 ns.")
    var thinkNanos: UInt64 = 100
}
