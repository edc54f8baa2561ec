import ArgumentParser
import ConclaveServer
import ConclaveWire
import Dispatch
import Foundation
import Logging

/// `conclave node`: one node of a cluster as a process (the daemon), reached by peers over the
/// peer transport and by clients over RESP.
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one cluster node as a process: WAL on disk, peers over TCP, clients over RESP.",
        discussion: """
            A new data directory bootstraps a cluster whose voters are --peers; an existing one \
            restarts from its snapshot and WAL. Flags override the --config file (TOML, same keys).
            Example: conclave node --id 1 --data /tmp/c/1 --peer-listen 127.0.0.1:7101 \
            --client-listen 127.0.0.1:6381 --peers 1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103
            SIGTERM or SIGINT drains the commands in flight and exits 0.
            Exit status: 0 stopped cleanly; 2 wrong flags or configuration; 65 the data directory \
            belongs to another cluster or node, or its WAL or snapshot is damaged (the file and byte \
            offset are named); 69 a listener cannot bind (port in use); 73 another process holds the \
            data directory; 74 a disk error (a failed fsync stops the node and is never retried).
            """
    )

    @Option(help: "This node's ID (1…\(NodeConfiguration.nodesMax)).") var id: String?
    @Option(help: "The data directory (WAL and snapshots); created if missing.") var data: String?
    @Option(help: "host:port for peers.") var peerListen: String?
    @Option(help: "host:port for RESP clients.") var clientListen: String?
    @Option(help: "Every member as ID=host:port, comma-separated, this node included.") var peers: String?
    @Option(help: "The cluster's name; peers must share it (default conclave).") var cluster: String?
    @Option(help: "A file holding the cluster token (peers' hello, clients' AUTH); required beyond loopback.") var tokenFile: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).") var logLevel: String?
    @Option(help: "Client connections at once; one more is told and closed (default 10000).") var maxClients: String?
    @Option(help: "Close a client idle this many seconds; 0: never (default 0, as Redis).") var clientIdleTimeoutSeconds: String?
    @Option(help: "Delay-task callback targets: name=http://host:port/path, comma-separated (SCHED.ADD … CALLBACK name POSTs there).")
    var callbacks: String?
    @Flag(help: "Start a new data directory as a member of no configuration and wait to be added (ADMIN.ADD-MEMBER id host:port on the leader).")
    var join = false
    @Option(help: "A TOML file with the same keys (id, data, peer-listen, client-listen, cluster, token-file, log-level, max-clients, client-idle-timeout-seconds, join, [peers], [callbacks]).")
    var config: String?
    @Option(help: "Milliseconds per tick; heartbeats every 10 ticks, elections after 100–200 (default 10).") var tickMillis: UInt64 = 10
    @Option(help: "WAL segment size in MiB, each preallocated when opened (1…16384; default 64).") var walSegmentMib = 64

    @Flag(help: "Never sync the WAL (etcd's flag of this name): a machine crash may lose acknowledged writes. For benchmarks and tests only.")
    var unsafeNoFsync = false

    static let walSegmentMibRange = 1...16_384

    func run() throws {
        let configuration: NodeConfiguration
        do {
            configuration = try resolveConfiguration()
        } catch {
            fail("conclave node: \(error)", status: NodeExit.usage.rawValue)
        }
        guard (1...1_000).contains(tickMillis) else {
            fail("conclave node: --tick-millis \(tickMillis): accepted: 1…1000", status: NodeExit.usage.rawValue)
        }
        guard Self.walSegmentMibRange.contains(walSegmentMib) else {
            fail("conclave node: --wal-segment-mib \(walSegmentMib): accepted: 1…16384", status: NodeExit.usage.rawValue)
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "conclave.node")
        logger[metadataKey: "node"] = "\(configuration.id)"
        var settings = NodeDaemon.Settings()
        settings.tickMillis = tickMillis
        settings.wal.segmentBytes = walSegmentMib << 20
        settings.unsafeNoFsync = unsafeNoFsync
        let daemon: NodeDaemon
        do {
            daemon = try NodeDaemon.start(configuration, settings: settings, logger: logger)
        } catch {
            fail("conclave node \(configuration.id): \(error.description)", status: error.exit.rawValue)
        }
        let signals = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { daemon.shutdown() }
            source.resume()
            return source
        }
        let status = daemon.wait()
        signals.forEach { $0.cancel() }
        Foundation.exit(status)
    }

    /// The flags over the file, validated.
    private func resolveConfiguration() throws -> NodeConfiguration {
        var flags = NodeConfiguration.Settings()
        flags.id = id
        flags.data = data
        flags.peerListen = peerListen
        flags.clientListen = clientListen
        flags.peers = peers
        flags.cluster = cluster
        flags.logLevel = logLevel
        flags.maxClients = maxClients
        flags.clientIdleTimeoutSeconds = clientIdleTimeoutSeconds
        flags.callbacks = callbacks
        if join { flags.join = "true" }
        var settings = flags
        var tokenPath = tokenFile
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ServerInputError("--config \(config): cannot read the file")
            }
            let (fileSettings, fileToken) = try NodeConfiguration.settings(fromTOML: text, file: config)
            settings = flags.over(fileSettings)
            tokenPath = tokenFile ?? fileToken
        }
        if let tokenPath {
            settings.token = try readTokenFile(tokenPath)
        }
        return try NodeConfiguration(validating: settings)
    }

    private func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(status)
    }
}

/// The cluster token in `path` (surrounding whitespace and the final newline dropped), for
/// `--token-file` wherever a command takes it.
func readTokenFile(_ path: String) throws(ServerInputError) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ServerInputError("--token-file \(path): cannot read the file")
    }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}
