import ConclaveClient
import ConclaveServer
import ConclaveWire
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The real servers every backend test runs against, started once per test process: a 3-member
/// etcd and three Redis instances (Debian's etcd-server and redis-server, on loopback ports in a
/// temporary directory) and three Conclave nodes (daemons in this process). Stopped when the
/// process exits; every wait polls with a deadline.
final class Engines: @unchecked Sendable {
    let etcd: EtcdCluster
    let redis: [RedisServer]
    let conclave: [NodeDaemon]
    let foreign: ForeignProcesses
    let directory: String

    var conclaveURLs: [String] { conclave.map { "redis://127.0.0.1:\($0.boundPorts.client ?? 0)" } }

    nonisolated(unsafe) private static var started: Engines?
    private static let lock = NSLock()

    /// The engines, started by the first test that asks.
    static func shared() throws -> Engines {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        let engines = try Engines()
        started = engines
        atexit { Engines.started?.stop() }
        return engines
    }

    private init() throws {
        directory = NSTemporaryDirectory() + "conclave-client-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let processes = ForeignProcesses()
        foreign = processes
        let directory = directory
        do {
            etcd = try EtcdCluster.start(in: directory, basePort: Self.portBlock(), processes: processes)
            redis = try (0..<3).map { try RedisServer.start(in: "\(directory)/redis-\($0)", port: Self.freePort(), processes: processes) }
            conclave = try Self.startConclave(in: directory)
        } catch {
            processes.stop()
            throw error
        }
    }

    func stop() {
        for node in conclave { node.shutdown(drain: false) }
        for node in conclave { _ = node.wait() }
        foreign.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func startConclave(in directory: String) throws -> [NodeDaemon] {
        let peerPorts = (0..<3).map { _ in freePort() }
        let peers = (0..<3).map { "\($0 + 1)=127.0.0.1:\(peerPorts[$0])" }.joined(separator: ",")
        let nodes = try (0..<3).map { index in
            var settings = NodeConfiguration.Settings()
            settings.id = "\(index + 1)"
            settings.data = "\(directory)/conclave-\(index + 1)"
            settings.peerListen = "127.0.0.1:\(peerPorts[index])"
            settings.clientListen = "127.0.0.1:\(freePort())"
            settings.peers = peers
            var timing = NodeDaemon.Settings()
            timing.electionTimeoutTicks = 10
            timing.heartbeatTicks = 2
            var logger = Logger(label: "test.client")
            logger.logLevel = .critical
            return try NodeDaemon.start(try NodeConfiguration(validating: settings), settings: timing, logger: logger)
        }
        // Ready when a write commits and every node has applied a clock entry (cluster time > 0).
        let ready = poll(seconds: 30) {
            nodes.allSatisfy { node in
                guard let client = try? RESPClient(PeerAddress(host: "127.0.0.1", port: node.boundPorts.client ?? 0), timeoutMillis: 2_000),
                      case .simpleString("OK")? = try? client.call(["SET", "ready", "1"]),
                      case .bulkString(let text)? = try? client.call(["INFO", "replication"]) else { return false }
                return !String(decoding: text, as: UTF8.self).contains("cluster_time_ms:0\r")
            }
        }
        guard ready else {
            for node in nodes { node.shutdown(drain: false); _ = node.wait() }
            throw ClientError.unreachable("the 3 Conclave nodes did not become ready in 30 s")
        }
        return nodes
    }

    /// A free loopback port (bound, read, closed).
    static func freePort() -> Int { freeLoopbackPort() }

    /// A base for etcd's six ports (base+1…3 clients, base+11…13 peers), below the ephemeral range
    /// and apart from the race's and chaos's blocks.
    static func portBlock() -> Int { 21_000 + Int(getpid() % 400) * 20 }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func poll(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return false
}

/// Polls a condition every 20 ms, suspending (not blocking) between looks, until it holds or
/// `seconds` pass.
func eventually(seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// The backends the behaviour suite runs against.
enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case conclave, etcd, redis, redlock

    var description: String { rawValue }

    func locker(_ engines: Engines) throws -> any Locker {
        switch self {
        case .conclave: try ConclaveLocker(engines.conclaveURLs)
        case .etcd: try EtcdLocker(engines.etcd.urls)
        case .redis: try RedisLocker(engines.redis[0].url)
        case .redlock: try RedlockLocker(engines.redis.map(\.url))
        }
    }

    /// How many wait in line for `name` (nil: this backend keeps no line).
    func waiters(_ name: String, _ engines: Engines) -> Int? {
        switch self {
        case .conclave:
            let client = try? RESPClient(PeerAddress(host: "127.0.0.1", port: engines.conclave[0].boundPorts.client ?? 0))
            guard let reply = try? client?.call(["LOCK.INFO", name]), case .array(let flat) = reply else { return 0 }
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if case .bulkString(let field) = flat[index], String(decoding: field, as: UTF8.self) == "waiters",
                   case .array(let list) = flat[index + 1] { return list.count }
            }
            return 0
        case .etcd:
            let http = try? HTTPConnection(PeerAddress(host: "127.0.0.1", port: engines.etcd.clientPorts[0]))
            let prefix = Data((name + "/").utf8).base64EncodedString()
            let end = Data((name + "0").utf8).base64EncodedString()
            guard let answer = try? http?.post("/v3/kv/range", #"{"key":"\#(prefix)","range_end":"\#(end)","count_only":true}"#) else { return 0 }
            let count = ((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any])?["count"] as? String
            return max(0, (Int(count ?? "0") ?? 0) - 1)  // less the holder's key
        case .redis:
            let client = try? RESPClient(PeerAddress(host: "127.0.0.1", port: engines.redis[0].port))
            guard case .integer(let count)? = try? client?.call(["ZCARD", "\(name):waiters"]) else { return 0 }
            return Int(count)
        case .redlock:
            return nil
        }
    }

    /// A short ttl the backend honours: etcd's leases are whole seconds (~2 s at least); Conclave
    /// measures a lock's TTL on cluster time, which moves in clock steps of ~100 ms, and each
    /// renewal is a commit on daemons sharing this test process's two cores: two seconds leave
    /// room for a busy machine (a 400 ms ttl lost its lock once in CI's run).
    var shortTTL: Duration {
        switch self {
        case .etcd: .seconds(1)
        case .conclave: .seconds(2)
        case .redis, .redlock: .milliseconds(400)
        }
    }
}
