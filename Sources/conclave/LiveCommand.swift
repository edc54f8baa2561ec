import ArgumentParser
import ConclaveCluster
import ConclaveCore
import Foundation

/// `conclave` / `conclave console`: an embedded simulated cluster with a background workload and
/// a gentle nemesis, run against wall time × speed, its status printed live. (The ncurses console
/// replaces this printer in a later issue; the cluster underneath stays the same.)
struct LiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Run an embedded simulated cluster and show its live status (the default command)."
    )

    @Option(help: "Nodes in the embedded cluster (\(SimulationConfig.nodesRange.lowerBound)…\(SimulationConfig.nodesRange.upperBound)).")
    var nodes = 5

    @Option(help: "Seed of the simulation.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds per wall-clock second (0.01…100).")
    var speed = 1.0

    @Option(name: .customLong("run"), help: "Stop after this much wall time (\(DurationArgument.accepted)); default: until interrupted.")
    var runFor: DurationArgument?

    @Option(help: "Faults the background nemesis injects: \(NemesisKind.allCases.map(\.rawValue).joined(separator: ",")), all or none.")
    var nemesis = "crash,partition,pause"

    func validate() throws {
        guard (0.01...100).contains(speed) else { throw ValidationError("--speed must be in 0.01…100, got \(speed)") }
        guard SimulationConfig.nodesRange.contains(nodes) else {
            throw ValidationError("--nodes must be in \(SimulationConfig.nodesRange.lowerBound)…\(SimulationConfig.nodesRange.upperBound), got \(nodes)")
        }
        do { _ = try NemesisKind.parseList(nemesis) } catch { throw ValidationError("--nemesis: \(error.description)") }
    }

    func run() throws {
        var options = ChaosOptions(seed: seed)
        options.nodes = nodes
        options.clients = 4
        options.durationNanos = ChaosOptions.durationRangeNanos.upperBound
        options.nemesis = try NemesisKind.parseList(nemesis)
        options.nemesisIntervalNanos = 4_000_000_000
        options.recordHistory = false
        let runner = try ChaosRunner(options: options)
        runner.start()
        let interactive = isatty(STDOUT_FILENO) != 0
        let startWall = BenchClock.nanoseconds()
        let stopWall = runFor.map { startWall + $0.nanoseconds }
        var nextPrint = startWall
        while stopWall.map({ BenchClock.nanoseconds() < $0 }) ?? true {
            let elapsed = Double(BenchClock.nanoseconds() - startWall)
            runner.advance(until: UInt64(elapsed * speed))
            if BenchClock.nanoseconds() >= nextPrint {
                print(StatusView.render(runner), terminator: interactive ? "" : "\n")
                fflush(nil)
                nextPrint += 1_000_000_000
            }
            usleep(20_000)
        }
        if interactive { print("") }
    }
}

/// The plain-text status block: one line for the cluster, one per node.
enum StatusView {
    static func render(_ runner: ChaosRunner) -> String {
        let simulator = runner.simulator
        let interactive = isatty(STDOUT_FILENO) != 0
        var lines: [String] = []
        let leader = simulator.leader.map { "node \($0)" } ?? "none"
        let tally = runner.tally
        lines.append(String(format: "conclave · embedded · t=%.1fs · leader %@ · ops ok %d, failed %d, unknown %d",
                            Double(simulator.now) / 1e9, leader, tally.succeeded, tally.failed, tally.unknown))
        let faults = runner.faultsInjected.keys.sorted().map { "\($0) \(runner.faultsInjected[$0]!)" }
        lines.append("faults so far: " + (faults.isEmpty ? "none" : faults.joined(separator: ", "))
                     + " · partition: " + simulator.partitionGroups.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | "))
        lines.append("node  health   role          term  commit  applied  last")
        for node in simulator.nodeIDs {
            let status = simulator.status(of: node)
            let raft = status.raft
            lines.append(pad("\(node)", 6) + pad(status.health, 9) + pad(raft?.role.rawValue ?? "-", 14)
                         + pad(raft.map { "\($0.term)" } ?? "-", 6) + pad(raft.map { "\($0.commit)" } ?? "-", 8)
                         + pad(raft.map { "\($0.applied)" } ?? "-", 9) + (raft.map { "\($0.lastIndex)" } ?? "-"))
        }
        let block = lines.joined(separator: "\n")
        return interactive ? "\u{1B}[H\u{1B}[2J" + block + "\n" : block + "\n"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
