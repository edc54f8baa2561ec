import ArgumentParser
import ConclaveCluster
import Foundation

/// `conclave chaos`: clients against a simulated cluster under a nemesis; history written and checked.
struct ChaosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Run clients against a simulated cluster under a nemesis and check the history.",
        discussion: """
            Exit status: 0 when every run's history is linearizable, Raft's invariants held, the \
            replicas converged and the cluster made progress after healing; 1 otherwise; 2 for bad flags.
            """
    )

    @Option(help: "The run's seed: the same seed replays the same run.")
    var seed: UInt64 = 1

    @Option(help: "Run every seed in an inclusive range, A..B (overrides --seed).")
    var seeds: SeedRange?

    @Option(help: "Nodes in the cluster (\(SimulationConfig.nodesRange.lowerBound)…\(SimulationConfig.nodesRange.upperBound)).")
    var nodes = 5

    @Option(help: "Concurrent clients (\(ChaosOptions.clientsRange.lowerBound)…\(ChaosOptions.clientsRange.upperBound)).")
    var clients = 10

    @Option(help: "Simulated time to run: \(DurationArgument.accepted); 1s…24h.")
    var duration = DurationArgument(argument: "60s")!

    @Option(help: "Faults to inject, comma-separated: \(NemesisKind.allCases.map(\.rawValue).joined(separator: ",")), all or none.")
    var nemesis = ChaosCommand.simulatedNemesisDefault

    @Option(help: "What the clients do: kv (registers), locks (the whole lock service: try and blocking acquires, cancels, reentrant holds, read/write locks, semaphores, revokes, lock-delay, fenced writes), mixed (kv and try-locks), ids (Snowflake generators on skewed node clocks, worker IDs leased through consensus), tasks (delay tasks), or trylocks (sessions and try-locks on three mutexes).")
    var workload = "kv"

    @Option(help: "Write the history (JSON Lines, ../shared/HISTORY.md) to this file; with --seeds, one file per seed (FILE.SEED).")
    var history: String?

    @Option(help: "Write the first 2,000,000 events of the run (messages, ticks, faults) to this file, one per line.")
    var trace: String?

    @Flag(help: "Leaders serve gets from their lease instead of a heartbeat round (allowing for the skew nemesis's clock rates); the history checker judges them.")
    var leaseReads = false

    @Flag(help: "Print only failing runs and the final tally.")
    var quiet = false

    @Option(help: "The consensus engine: raft, or paxos (Multi-Paxos; the kv workload; nemesis \(PaxosChaosRunner.supportedNemesis.map(\.rawValue).joined(separator: ",")); the default nemesis without skew).")
    var engine = "raft"

    @Option(help: "Run on this many real node processes (\(ProcessChaosOptions.nodesRange.lowerBound)…\(ProcessChaosOptions.nodesRange.upperBound)) on 127.0.0.1 instead of the simulator: clients over RESP, faults \(ProcessFault.allCases.map(\.rawValue).joined(separator: ",")) (--nemesis), --duration of wall time.")
    var processes: Int?

    @Option(help: "With --processes: the nodes' data directory (default: a temporary one, removed after a pass).")
    var dataDir: String?

    @Flag(help: "With --processes, as root: each node in a network namespace of its own on a bridge; a partition takes the node's link down (the kernel drops its packets) instead of ADMIN rules.")
    var netns = false

    static let simulatedNemesisDefault = "partition,crash,pause,skew,drop"

    func validate() throws {
        if netns {
            guard processes != nil else { throw ValidationError("--netns: only with --processes (the simulator has its own network)") }
            _ = try NetworkNamespaces.tool()
        }
        if processes != nil {
            guard seeds == nil, trace == nil, !leaseReads, workload == "kv", engine == "raft" else {
                throw ValidationError("--processes runs one seed of its own workload (registers, a lock, a counter, IDs); "
                    + "--seeds, --trace, --lease-reads, --workload and --engine are for the simulator")
            }
            try processOptions().validate()
            return
        }
        guard ChaosWorkload(rawValue: workload) != nil else {
            throw ValidationError("--workload: unknown workload '\(workload)'; accepted: \(ChaosWorkload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ["raft", "paxos"].contains(engine) else { throw ValidationError("--engine: unknown engine '\(engine)'; accepted: raft, paxos") }
        do {
            _ = try NemesisKind.parseList(nemesis)
            try options(seed: seed).validate()
            if engine == "paxos" {
                guard !leaseReads else { throw ValidationError("--engine paxos has no --lease-reads (its gets go through the log)") }
                _ = try PaxosChaosRunner(options: options(seed: seed), durationText: duration.text)
            }
        } catch let error as ChaosError {
            throw ValidationError(error.description)
        }
    }

    private func options(seed: UInt64) throws -> ChaosOptions {
        var options = ChaosOptions(seed: seed)
        options.nodes = nodes
        options.clients = clients
        options.durationNanos = duration.nanoseconds
        // Paxos nodes keep no clocks to skew: its default nemesis is Raft's without skew.
        let faults = engine == "paxos" && nemesis == Self.simulatedNemesisDefault ? "partition,crash,pause,drop" : nemesis
        options.nemesis = try NemesisKind.parseList(faults)
        options.workload = ChaosWorkload(rawValue: workload) ?? .kv
        options.leaseReads = leaseReads
        options.traceLinesMax = trace == nil ? 0 : 2_000_000
        return options
    }

    private func processOptions() throws(ValidationError) -> ProcessChaosOptions {
        var options = ProcessChaosOptions(seed: seed)
        options.nodes = processes ?? 3
        options.clients = clients
        options.durationMillis = duration.nanoseconds / 1_000_000
        do {
            options.faults = nemesis == Self.simulatedNemesisDefault ? ProcessFault.allCases : try ProcessFault.parseList(nemesis)
        } catch {
            throw ValidationError(error.description)
        }
        options.directory = dataDir
        options.networkNamespaces = netns
        return options
    }

    private func runProcesses() throws {
        let runner = ProcessChaosRunner(options: try processOptions())
        let summary: ProcessChaosSummary
        do {
            summary = try runner.run()
        } catch {
            FileHandle.standardError.write(Data("chaos: \(error)\nthe nodes' data and logs are kept in \(runner.dataDirectory)\n".utf8))
            throw ExitCode(1)
        }
        if let history { try writeHistory(runner.history, to: history) }
        print(summary)
        if summary.passed {
            runner.removeData()
        } else {
            print("the nodes' data and logs are kept in \(runner.dataDirectory)")
            throw ExitCode(1)
        }
    }

    func run() throws {
        if processes != nil { return try runProcesses() }
        let range = seeds?.seeds ?? seed...seed
        var failures: [UInt64] = []
        if engine == "paxos" {
            try runPaxos(range)
            return
        }
        for runSeed in range {
            let runner = try ChaosRunner(options: options(seed: runSeed), durationText: duration.text)
            let summary = runner.run()
            if let history {
                let path = range.count == 1 ? history : "\(history).\(runSeed)"
                try writeHistory(runner.history, to: path)
            }
            try writeTrace(runner.simulator.trace, seed: runSeed, of: range)
            report(summary, seed: runSeed, of: range, failures: &failures)
        }
        try finish(range, failures: failures)
    }

    /// The same loop for Multi-Paxos: same history format, same checker, same summary.
    private func runPaxos(_ range: ClosedRange<UInt64>) throws {
        var failures: [UInt64] = []
        for runSeed in range {
            let runner = try PaxosChaosRunner(options: options(seed: runSeed), durationText: duration.text)
            if runSeed == range.lowerBound { print("paxos: \(runner.faultToleranceNote)") }
            let (summary, operations, runTrace) = runner.run()
            if let history { try writeHistory(operations, to: range.count == 1 ? history : "\(history).\(runSeed)") }
            try writeTrace(runTrace, seed: runSeed, of: range)
            report(summary, seed: runSeed, of: range, failures: &failures)
        }
        try finish(range, failures: failures)
    }

    /// Prints a run's summary (only failures with --quiet) and notes a failing seed.
    private func report(_ summary: ChaosSummary, seed runSeed: UInt64, of range: ClosedRange<UInt64>, failures: inout [UInt64]) {
        if !summary.passed { failures.append(runSeed) }
        if !quiet || !summary.passed {
            print(summary)
            if range.count > 1 { print("") }
        }
    }

    /// The tally over a range of seeds, and exit status 1 if any failed.
    private func finish(_ range: ClosedRange<UInt64>, failures: [UInt64]) throws {
        if range.count > 1 {
            print("\(range.count - failures.count) passed, \(failures.count) failed"
                  + (failures.isEmpty ? "" : " (seeds: \(failures.map(String.init).joined(separator: ", ")))"))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// With --trace, writes the run's trace lines (one file per seed with --seeds).
    private func writeTrace(_ runTrace: SimulationTrace, seed runSeed: UInt64, of range: ClosedRange<UInt64>) throws {
        guard let trace else { return }
        let path = range.count == 1 ? trace : "\(trace).\(runSeed)"
        do {
            try (runTrace.lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--trace: cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    private func writeHistory(_ operations: [HistoryOperation], to path: String) throws {
        var text = ""
        text.reserveCapacity(operations.count * 120)
        for operation in operations {
            text += HistoryFormat.encode(operation)
            text += "\n"
        }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--history: cannot write '\(path)': \(error.localizedDescription)")
        }
    }
}

/// `conclave check FILE`: checks a history file for linearizability.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check an operation history (JSON Lines, ../shared/HISTORY.md) for linearizability.",
        discussion: "Exit status: 0 linearizable, 1 not linearizable, 2 unreadable or malformed input, 3 unknown (search budget exhausted)."
    )

    @Argument(help: "The history file.")
    var file: String

    @Option(help: "States the search may explore per key before answering 'unknown'.")
    var statesPerKey = 2_000_000

    func run() throws {
        guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
            FileHandle.standardError.write(Data("error: cannot read '\(file)' as UTF-8 text\n".utf8))
            throw ExitCode(2)
        }
        let operations: [HistoryOperation]
        do {
            operations = try HistoryFormat.read(contents: contents)
        } catch {
            FileHandle.standardError.write(Data("error: \(file): \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        let report = LinearizabilityChecker(maxStatesPerKey: statesPerKey).check(operations)
        print("\(operations.count) operations on \(report.keys.count) keys")
        print(report)
        switch report.verdict {
        case .linearizable: return
        case .notLinearizable: throw ExitCode(1)
        case .unknown: throw ExitCode(3)
        }
    }
}
