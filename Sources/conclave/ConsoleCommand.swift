import ArgumentParser
import ConclaveCluster
import ConclaveConsole
import ConclaveTerminal
import ConclaveWire
import Foundation

/// `conclave` / `conclave console`: the ncurses console over an embedded five-node cluster with a
/// live workload; `--headless` renders frames from a key script without a tty.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Open the operations console on an embedded simulated cluster (the default command), real nodes (--connect), etcd (--etcd) or Redis (--redis)."
    )

    @Option(help: "Nodes in the embedded cluster (3…9).")
    var nodes = 5

    @Option(help: "The consensus engine of the embedded cluster: \(ConsensusEngine.accepted).")
    var engine = "raft"

    @Option(help: "Seed of the simulation.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds per wall-clock second (0.01…100).")
    var speed = 1.0

    @Option(name: .customLong("run"), help: "Stop after this much time (\(DurationArgument.accepted)): wall time live, virtual time headless.")
    var runFor: DurationArgument?

    @Option(help: "Theme: \(Theme.builtinNames.joined(separator: ", ")), or a path to a .toml theme file.")
    var theme: String?

    @Flag(name: .customLong("read-only"), help: "Remove every key and command that changes the cluster.")
    var readOnly = false

    @Flag(inversion: .prefixedNo, help: "Ask (y/n) before an action that changes the cluster: a kill, a partition, a pause. On by default; --no-confirm for demos.")
    var confirm = true

    @Option(help: "Real nodes' client addresses, comma-separated host:port: show that cluster instead of the embedded one.")
    var connect: String?

    @Option(help: "With --connect: a file holding the cluster token, sent with AUTH.")
    var tokenFile: String?

    @Option(help: "An existing etcd (v3.4+, JSON gateway): its members' client URLs, comma-separated http://host:port.")
    var etcd: String?

    @Option(help: "Existing Redis instances, comma-separated redis://host:port (three or more independent ones: Redlock's view).")
    var redis: String?

    @Option(name: .customLong("lock-prefix"), help: "With --etcd: show mutex keys under this prefix only (default: every key shaped NAME/<lease hex> on that lease).")
    var lockPrefix: String?

    @Option(name: .customLong("lock-pattern"), help: "With --redis: the SCAN pattern of lock keys (default *).")
    var lockPattern = "*"

    @Option(name: .customLong("watch-prefix"), help: "With --etcd: the prefix watched into the event log and view 8 (default: everything).")
    var watchPrefix = ""

    @Flag(help: "Render frames without a terminal (for scripts, tests and the README).")
    var headless = false

    @Option(help: "Headless: keys to press, e.g. \"2 :kill 1<Enter> 1\" (space separates groups; <Enter> <Esc> <Tab> <Up> <Space> name keys).")
    var keys = ""

    @Option(name: .customLong("key-interval"), help: "Headless: virtual time between key groups (\(DurationArgument.accepted)).")
    var keyInterval = DurationArgument(argument: "1s")!

    @Option(help: "Headless: the frame size, WIDTHxHEIGHT.")
    var size = "160x48"

    @Option(help: "Headless: write the captured frames to this file (default: standard output).")
    var dump: String?

    func validate() throws {
        guard (0.01...100).contains(speed) else { throw ValidationError("--speed must be in 0.01…100, got \(speed)") }
        guard (3...9).contains(nodes) else { throw ValidationError("--nodes must be in 3…9, got \(nodes)") }
        let chosenEngine = try consensusEngine()
        if !headless {
            for (flag, given) in [("--keys", !keys.isEmpty), ("--dump", dump != nil)] where given {
                throw ValidationError("\(flag) needs --headless")
            }
        }
        _ = try frameSize()
        try validateEngines()
        if let connect {
            _ = try connectAddresses(connect)
            if headless { throw ValidationError("--connect shows a live cluster; --headless renders the embedded one") }
            if chosenEngine != .raft { throw ValidationError("--engine \(engine) is for the embedded cluster; real nodes (--connect) run Raft") }
        } else if tokenFile != nil {
            throw ValidationError("--token-file needs --connect")
        }
        do { _ = try HeadlessRun.parse(keys) } catch { throw ValidationError("--keys: \(error.description)") }
    }

    /// `--etcd` / `--redis`: one source at a time, URLs of the right scheme, live only.
    func validateEngines() throws {
        let sources = [("--connect", connect != nil), ("--etcd", etcd != nil), ("--redis", redis != nil)].filter(\.1).map(\.0)
        if sources.count > 1 { throw ValidationError("\(sources.joined(separator: " and ")): choose one source") }
        if let etcd { _ = try EngineStatus.endpoints(etcd, scheme: "http", flag: "--etcd") }
        if let redis { _ = try EngineStatus.endpoints(redis, scheme: "redis", flag: "--redis") }
        if lockPrefix != nil && etcd == nil { throw ValidationError("--lock-prefix needs --etcd (Redis takes --lock-pattern)") }
        if lockPattern != "*" && redis == nil { throw ValidationError("--lock-pattern needs --redis (etcd takes --lock-prefix)") }
        if !watchPrefix.isEmpty && etcd == nil { throw ValidationError("--watch-prefix needs --etcd") }
        if (etcd != nil || redis != nil) && headless { throw ValidationError("--etcd and --redis show a live engine; --headless renders the embedded cluster") }
    }

    /// The existing engine asked for, if any.
    func engineCluster() throws -> EngineCluster? {
        let chosen: (ForeignEngineSnapshot.Kind, [String], String?, String?)
        if let etcd {
            chosen = (.etcd, try EngineStatus.endpoints(etcd, scheme: "http", flag: "--etcd").map(\.url), lockPrefix, watchPrefix)
        } else if let redis {
            chosen = (.redis, try EngineStatus.endpoints(redis, scheme: "redis", flag: "--redis").map(\.url), lockPattern, nil)
        } else {
            return nil
        }
        do throws(ControlError) {
            return try EngineCluster(kind: chosen.0, urls: chosen.1, lockScope: chosen.2, watchPrefix: chosen.3)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func consensusEngine() throws -> ConsensusEngine {
        guard let chosen = ConsensusEngine.embedded(engine) else {
            throw ValidationError("--engine: unknown engine '\(engine)'; accepted: \(ConsensusEngine.accepted)")
        }
        return chosen
    }

    func frameSize() throws -> Size { try TerminalSupport.size(size, minimum: Size(width: 20, height: 5)) }

    func run() throws {
        let chosen = ThemeLoader.load(theme)
        if let warning = chosen.warning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        if let connect {
            let remote = RemoteCluster(addresses: try connectAddresses(connect), token: try tokenFile.map(readTokenOption))
            let terminal = try TerminalSupport.openTerminal()
            // Changing a real cluster always asks first (--read-only removes the keys altogether).
            LiveConsole(source: FeedSource(remote), initial: remote.snapshot(), terminal: terminal, theme: chosen.theme,
                        readOnly: readOnly, confirm: true, stopAfterNanos: runFor?.nanoseconds).run()
            return
        }
        if let engine = try engineCluster() {
            let terminal = try TerminalSupport.openTerminal()
            // Changing a real engine always asks first (--read-only removes the actions altogether).
            LiveConsole(source: FeedSource(engine), initial: engine.snapshot(), terminal: terminal, theme: chosen.theme,
                        readOnly: readOnly, confirm: true, stopAfterNanos: runFor?.nanoseconds).run()
            return
        }
        let cluster = try makeCluster()
        if headless {
            try runHeadless(cluster)
            return
        }
        _ = cluster.apply(.time(.speed(speed)))
        let terminal = try TerminalSupport.openTerminal()
        LiveConsole(source: SimulationThread(cluster: cluster), initial: cluster.snapshot(), terminal: terminal, theme: chosen.theme,
                    readOnly: readOnly, confirm: confirm, stopAfterNanos: runFor?.nanoseconds).run()
    }

    func makeCluster() throws -> any EmbeddedEngine {
        do {
            return try EmbeddedEngines.make(try consensusEngine(), seed: seed, nodes: nodes)
        } catch let error as ControlError {
            throw ValidationError(error.description)
        }
    }

    private func runHeadless(_ cluster: any EmbeddedEngine) throws {
        let session = ConsoleSession(cluster: cluster, readOnly: readOnly, confirmDangerous: confirm)
        _ = cluster.apply(.time(.speed(speed)))
        let items = try HeadlessRun.parse(keys)
        let captures = HeadlessRun.run(session, items: items, intervalNanos: keyInterval.nanoseconds,
                                       runNanos: runFor?.nanoseconds ?? 10_000_000_000, size: try frameSize())
        let text = HeadlessRun.dump(captures)
        if let dump {
            do {
                try text.write(toFile: dump, atomically: true, encoding: .utf8)
            } catch {
                FileHandle.standardError.write(Data("conclave: cannot write --dump \(dump): \(error.localizedDescription)\n".utf8))
                throw ExitCode(1)
            }
        } else {
            print(text, terminator: "")
        }
    }
}

/// Themes by name or path. A bad file is reported (file, line, key) and the default theme used.
enum ThemeLoader {
    static func load(_ choice: String?) -> (theme: Theme, warning: String?) {
        guard let choice else { return (Theme.fallback, nil) }
        if let builtin = Theme.builtin(choice) { return (builtin, nil) }
        guard choice.contains("/") || choice.hasSuffix(".toml") else {
            return (Theme.fallback, "conclave: unknown theme '\(choice)'; built-in: \(Theme.builtinNames.joined(separator: ", ")), or a path to a .toml file; using default")
        }
        guard let data = FileManager.default.contents(atPath: choice), let text = String(data: data, encoding: .utf8) else {
            return (Theme.fallback, "conclave: cannot read theme file \(choice); using default")
        }
        do {
            return (try ThemeParser.parse(text, file: choice), nil)
        } catch {
            return (Theme.fallback, "conclave: bad theme: \(error.description); using default")
        }
    }
}
