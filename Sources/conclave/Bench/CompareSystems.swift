import ArgumentParser
import ConclaveWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client with keep-alive, for etcd's JSON gateway (`/v3/...`): one request
/// at a time on one connection, as RESPClient is for RESP, so every system in the race costs the
/// load generator the same: a syscall to send, one to receive.
final class HTTPClient {
    private let descriptor: Int32
    private let host: String
    private var buffer: [UInt8] = []

    init(_ address: PeerAddress, timeoutMillis: Int = 10_000) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        host = "\(address)"
        guard descriptor >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutMillis / 1_000, tv_usec: Int(timeoutMillis % 1_000) * 1_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(address.port).bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(address.host)
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("connect \(address): \(reason)")
        }
    }

    deinit { close(descriptor) }

    /// POSTs `body` (JSON) to `path`; returns the status and the body.
    func post(_ path: String, _ body: String) throws -> (status: Int, body: String) {
        let request = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + sent, $0.count - sent) }
            guard count > 0 else { throw ValidationError("write to \(host): \(String(cString: strerror(errno)))") }
            sent += count
        }
        return try readResponse()
    }

    private func readResponse() throws -> (status: Int, body: String) {
        while true {
            if let end = headerEnd() {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
                    throw ValidationError("\(host): not an HTTP response: \(head.prefix(80))")
                }
                let length = lines.first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
                guard let length else { throw ValidationError("\(host): a response without Content-Length") }
                let bodyStart = end + 4
                while buffer.count < bodyStart + length { try fill() }
                let body = String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)
                buffer.removeFirst(bodyStart + length)
                return (status, body)
            }
            try fill()
        }
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { throw ValidationError("\(host): connection closed or timed out") }
        buffer += chunk[..<count]
    }
}

/// Server processes for the race, each in its own directory under one temporary one, on
/// loopback, stopped (SIGTERM, then SIGKILL) by `stop()`.
final class ForeignProcesses {
    private var processes: [Process] = []

    /// Starts `executable` with `arguments`, its output to `log`.
    func launch(_ executable: String, _ arguments: [String], log: String) throws {
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

    var allRunning: Bool { processes.allSatisfy(\.isRunning) }

    func stop() {
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
    static func which(_ name: String) -> String? {
        ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A 3-member etcd on loopback (fsync on: etcd's default; no --unsafe-no-fsync).
struct EtcdCluster {
    let clientPorts: [Int]

    static func start(in directory: String, basePort: Int, members: Int = 3, processes: ForeignProcesses) throws -> EtcdCluster {
        guard let etcd = ForeignProcesses.which("etcd") else {
            throw ValidationError("etcd is not installed (apt-get install etcd-server)")
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
            if let client = try? HTTPClient(PeerAddress(host: "127.0.0.1", port: cluster.clientPorts[0]), timeoutMillis: 1_000),
               let answer = try? client.post("/v3/kv/put", #"{"key":"cmFjZQ==","value":"MQ=="}"#), answer.status == 200 {
                return cluster
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ValidationError("etcd did not accept a write within 30 s; see \(directory)/etcd-1.log")
    }
}

/// One Redis with an append-only file synced every second (the durability Redis users run with).
struct RedisServer {
    let port: Int

    static func start(in directory: String, port: Int, processes: ForeignProcesses) throws -> RedisServer {
        guard let redis = ForeignProcesses.which("redis-server") else {
            throw ValidationError("redis-server is not installed (apt-get install redis-server)")
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
        throw ValidationError("redis-server did not answer within 20 s; see \(directory)/redis.log")
    }
}
