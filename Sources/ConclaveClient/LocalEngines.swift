import ConclaveWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real etcd and Redis servers on loopback, for the race (`conclave bench compare`), the client
/// tests and demos: each in its own directory under one temporary one, stopped (SIGTERM, then
/// SIGKILL) by `stop()`. Not part of the client API proper: what runs them beside it.
public final class ForeignProcesses: @unchecked Sendable {  // the signal handler only stops it
    private var processes: [Process] = []

    public init() {}

    /// Starts `executable` with `arguments`, its output to `log`.
    public func launch(_ executable: String, _ arguments: [String], log: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
    }

    public var allRunning: Bool { processes.allSatisfy(\.isRunning) }

    /// The process IDs, in launch order (for pausing or killing one in a test).
    public var pids: [Int32] { processes.map(\.processIdentifier) }

    public func stop() {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        for process in processes {
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        processes.removeAll()
    }

    /// The path of `name` on PATH, or nil.
    public static func which(_ name: String) -> String? {
        ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A 3-member etcd on loopback (fsync on: etcd's default; no --unsafe-no-fsync).
public struct EtcdCluster: Sendable {
    public let clientPorts: [Int]
    public var urls: [String] { clientPorts.map { "http://127.0.0.1:\($0)" } }

    public static func start(in directory: String, basePort: Int, members: Int = 3, processes: ForeignProcesses) throws -> EtcdCluster {
        guard let etcd = ForeignProcesses.which("etcd") else {
            throw ClientError.unreachable("etcd is not installed (apt-get install etcd-server)")
        }
        let peers = (1...members).map { "e\($0)=http://127.0.0.1:\(basePort + 10 + $0)" }.joined(separator: ",")
        for member in 1...members {
            let client = "http://127.0.0.1:\(basePort + member)"
            let peer = "http://127.0.0.1:\(basePort + 10 + member)"
            try processes.launch(etcd, [
                "--name", "e\(member)", "--data-dir", "\(directory)/etcd-\(member)",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", peers, "--initial-cluster-state", "new", "--initial-cluster-token", "conclave-race",
                "--log-level", "error",
            ], log: "\(directory)/etcd-\(member).log")
        }
        let cluster = EtcdCluster(clientPorts: (1...members).map { basePort + $0 })
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let client = try? HTTPConnection(PeerAddress(host: "127.0.0.1", port: cluster.clientPorts[0]), timeoutMillis: 1_000),
               let answer = try? client.post("/v3/kv/put", #"{"key":"cmFjZQ==","value":"MQ=="}"#), answer.status == 200 {
                return cluster
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ClientError.unreachable("etcd did not accept a write within 30 s; see \(directory)/etcd-1.log")
    }
}

/// One Redis with an append-only file synced every second (the durability Redis users run with).
public struct RedisServer: Sendable {
    public let port: Int
    public var url: String { "redis://127.0.0.1:\(port)" }

    public static func start(in directory: String, port: Int, processes: ForeignProcesses) throws -> RedisServer {
        guard let redis = ForeignProcesses.which("redis-server") else {
            throw ClientError.unreachable("redis-server is not installed (apt-get install redis-server)")
        }
        try FileManager.default.createDirectory(atPath: "\(directory)/redis", withIntermediateDirectories: true)
        try processes.launch(redis, [
            "--port", "\(port)", "--bind", "127.0.0.1", "--dir", "\(directory)/redis", "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
        ], log: "\(directory)/redis.log")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? RESPClient(PeerAddress(host: "127.0.0.1", port: port), timeoutMillis: 1_000),
               case .simpleString("PONG")? = try? client.call(["PING"]) {
                return RedisServer(port: port)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ClientError.unreachable("redis-server did not answer within 20 s; see \(directory)/redis.log")
    }
}

/// `etcdctl lock name` holding until stopped — etcd's own Go `concurrency.Mutex`, as another
/// team's client takes a lock; its output (the key, once it holds) collected. For interop tests
/// and demos beside the client API.
public final class EtcdctlLock: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var text = ""

    public init(_ name: String, endpoints: [String]) throws {
        guard let etcdctl = ForeignProcesses.which("etcdctl") else {
            throw ClientError.unreachable("etcdctl is not installed (apt-get install etcd-client)")
        }
        process.executableURL = URL(fileURLWithPath: etcdctl)
        process.arguments = ["--endpoints", endpoints.joined(separator: ","), "lock", name]
        process.environment = ["ETCDCTL_API": "3", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""]
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            lock.withLock { text += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    public var printed: String { lock.withLock { text } }

    /// SIGINT: etcdctl closes its session (revoking the lease) and exits.
    public func stop() {
        if process.isRunning { process.interrupt() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
    }
}
