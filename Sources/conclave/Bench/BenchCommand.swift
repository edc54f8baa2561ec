import ArgumentParser

/// `conclave bench …`: benchmarks, each comparing against its baseline in the same run.
/// Build with `-c release`; debug figures are meaningless.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark (build with -c release for meaningful figures).",
        subcommands: [
            BenchRaft.self, BenchPaxos.self, BenchLocks.self, BenchIDs.self, BenchTimers.self, BenchLimits.self, BenchRender.self, BenchWAL.self,
            BenchNode.self, BenchCompare.self, BenchLab.self, BenchClient.self,
        ]
    )
}

/// Flags every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per line (name, unit, value, p50, p99, n) instead of a table.")
    var json = false
}
