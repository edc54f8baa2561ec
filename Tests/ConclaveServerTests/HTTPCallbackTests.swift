import ConclaveCluster
import ConclaveWire
import Foundation
import Testing
@testable import ConclaveServer
#if canImport(Glibc)
import Glibc
#endif

/// Delay-task callbacks on a real daemon: each try is an HTTP POST to the target named in the
/// node's configuration, answered by a real HTTP server on 127.0.0.1 in the test; the node's
/// breaker and the task's report follow what the server answered.
@Suite(.serialized) struct HTTPCallbackTests {
    /// A bounded HTTP/1.1 server: answers each request with the status `answer` gives, records
    /// what it received, and stops when told (closing its socket ends `accept`).
    final class HookServer: @unchecked Sendable {
        let fd: Int32
        let port: Int
        private let lock = NSLock()
        private var received: [String] = []
        private var statuses: [Int]

        /// Answers the n-th request with `statuses[n]` (the last one after that).
        init(statuses: [Int]) throws {
            self.statuses = statuses
            guard let (fd, port) = bindLoopback(listening: 16) else { throw ServerInputError("the test's HTTP server cannot listen") }
            self.fd = fd
            self.port = port
            Thread { [self] in
                while case let client = accept(fd, nil, nil), client >= 0 { serve(client) }
            }.start()
        }

        private func serve(_ client: Int32) {
            defer { close(client) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4_096)
            while bytes.count < 65_536 {
                let text = String(decoding: bytes, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let length = text[..<end.lowerBound].split(separator: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text.utf8.distance(from: end.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex) >= length { break }
                }
                let count = read(client, &chunk, chunk.count)
                guard count > 0 else { return }
                bytes += chunk[..<count]
            }
            let status: Int = lock.withLock {
                received.append(String(decoding: bytes, as: UTF8.self))
                return statuses.count > 1 ? statuses.removeFirst() : statuses[0]
            }
            let answer = Array("HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
        }

        var requests: [String] { lock.withLock { received } }

        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    static func ask(_ client: TestSocket, _ line: String) -> RESPValue? {
        client.send(line + "\r\n")
        return client.replies(1).values.first
    }

    /// SCHED.GET's map as text pairs.
    static func task(_ client: TestSocket, _ id: Int64) -> [String: String] {
        guard case .array(let items)? = ask(client, "SCHED.GET \(id)") else { return [:] }
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < items.count {
            if case .bulkString(let key) = items[index] {
                switch items[index + 1] {
                case .bulkString(let value): fields[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
                case .integer(let value): fields[String(decoding: key, as: UTF8.self)] = String(value)
                default: break
                }
            }
            index += 2
        }
        return fields
    }

    /// Polls SCHED.GET until `done` holds, or fails after 20 s with the last answer.
    static func waitForTask(_ client: TestSocket, _ id: Int64, _ done: ([String: String]) -> Bool) -> [String: String] {
        let deadline = Date().addingTimeInterval(20)
        var last: [String: String] = [:]
        while Date() < deadline {
            last = task(client, id)
            if done(last) { return last }
            usleep(20_000)
        }
        Issue.record("task \(id) did not get there in 20 s; last: \(last)")
        return last
    }

    static func schedule(_ client: TestSocket, _ arguments: String) throws -> Int64 {
        guard case .integer(let id)? = ask(client, "SCHED.ADD " + arguments) else {
            throw ServerInputError("SCHED.ADD \(arguments) gave no task ID")
        }
        return id
    }

    @Test("a callback is an HTTP POST with the firing as JSON and its idempotency key; a 2xx answer is a success")
    func deliversToTheEndpoint() throws {
        let hook = try HookServer(statuses: [204])
        defer { hook.stop() }
        let node = try NodeDaemonTests.start(callbacks: "hook=http://127.0.0.1:\(hook.port)/fire")
        defer { NodeDaemonTests.stop(node) }
        let client = try TestSocket(port: node.port)
        try NodeDaemonTests.waitForClusterTime(client)
        let id = try Self.schedule(client, "invoice AFTER 10 CALLBACK hook PAYLOAD \"{\\\"n\\\":1}\" KEY inv-7")
        let done = Self.waitForTask(client, id) { $0["succeeded"] == "1" }
        #expect(done["failed"] == "0")
        let request = try #require(hook.requests.first)
        #expect(request.hasPrefix("POST /fire HTTP/1.1\r\n"))
        #expect(request.contains("\r\nIdempotency-Key: inv-7\r\n"))
        #expect(request.contains("\r\nConclave-Task: \(id)\r\n"))
        #expect(request.contains("\r\nConclave-Attempt: 1\r\n"))
        #expect(request.hasSuffix("\"name\":\"invoice\",\"fire\":1,\"attempt\":1,\"key\":\"inv-7\",\"payload\":\"{\\\"n\\\":1}\"}"))
        #expect(hook.requests.count == 1, "one delivery for one success")
    }

    @Test("a failing target is tried again with the same key, and its failures reach the node's breaker in the status report")
    func failuresRetryAndReachTheBreaker() throws {
        let hook = try HookServer(statuses: [503, 503, 200])
        defer { hook.stop() }
        let node = try NodeDaemonTests.start(callbacks: "flaky=http://127.0.0.1:\(hook.port)/")
        defer { NodeDaemonTests.stop(node) }
        let client = try TestSocket(port: node.port)
        try NodeDaemonTests.waitForClusterTime(client)
        let id = try Self.schedule(client, "retry AFTER 10 CALLBACK flaky RETRIES 3 BACKOFF 10")
        _ = Self.waitForTask(client, id) { $0["succeeded"] == "1" }
        let requests = hook.requests
        #expect(requests.count == 3)
        #expect(Set(requests.compactMap { $0.split(separator: "\r\n").first { $0.hasPrefix("Idempotency-Key:") } }).count == 1,
                "every try carries the same key")
        #expect(requests.map { $0.contains("Conclave-Attempt: \(requests.firstIndex(of: $0)! + 1)\r\n") } == [true, true, true])
        let report = node.daemon.loop.submit { node.daemon.statusReport() }
        let breaker = try #require(try report.wait().breakers.first { $0.name == "callback:flaky" })
        #expect(breaker.calls == 3)
        #expect(breaker.failureRatePercent.map { abs($0 - 200.0 / 3) < 0.5 } ?? true)
    }

    @Test("a target that refuses connections, one that never answers (the task's timeout), and a name not configured: each fails with why")
    func failuresNamed() throws {
        // Listens, never accepts: the call times out.
        guard let (silent, silentPort) = bindLoopback(listening: 4) else { throw ServerInputError("cannot listen on loopback") }
        defer { close(silent) }
        let closedPort = NodeDaemonTests.freePort()
        let node = try NodeDaemonTests.start(callbacks: "gone=http://127.0.0.1:\(closedPort)/,slow=http://127.0.0.1:\(silentPort)/")
        defer { NodeDaemonTests.stop(node) }
        let client = try TestSocket(port: node.port)
        try NodeDaemonTests.waitForClusterTime(client)
        for target in ["gone", "slow", "unknown"] {
            let id = try Self.schedule(client, "t-\(target) AFTER 10 CALLBACK \(target) TIMEOUT 200 RETRIES 1")
            let ended = Self.waitForTask(client, id) { $0["failed"] == "1" }
            #expect(ended["succeeded"] == "0", "\(target)")
        }
        let report = try node.daemon.loop.submit { node.daemon.statusReport() }.wait()
        #expect(Set(report.breakers.map(\.name)) == ["callback:gone", "callback:slow", "callback:unknown"])
        let counters = try node.daemon.loop.submit { node.daemon.core.schedulerCounters }.wait()
        #expect(counters.callbacksTimedOut == 1, "only the silent target timed out")
        #expect(counters.callbacksFailed == 3)
    }

    @Test("callback URLs and names: what is accepted, and bad ones named")
    func configuration() throws {
        let endpoints = try CallbackEndpoint.parseList("a=http://127.0.0.1:8080/x/y, b-2=http://localhost")
        #expect(endpoints["a"]?.description == "http://127.0.0.1:8080/x/y")
        #expect(endpoints["b-2"]?.description == "http://localhost:80/")
        #expect(throws: ServerInputError("callback URL 'https://x/': accepted: http://host[:port][/path] (plain HTTP; no https)")) {
            try CallbackEndpoint.parseList("a=https://x/")
        }
        #expect(throws: ServerInputError("--callbacks item 'nourl': accepted: name=http://host:port/path")) {
            try CallbackEndpoint.parseList("nourl")
        }
        #expect(throws: ServerInputError("callback name 'bad name': accepted: 1…64 of A-Z a-z 0-9 . _ -")) {
            try CallbackEndpoint.parseList("bad name=http://x/")
        }
        #expect(throws: ServerInputError("--callbacks names 'a' twice")) { try CallbackEndpoint.parseList("a=http://x/,a=http://y/") }
        let many = (0...CallbackEndpoint.namesMax).map { "t\($0)=http://x/" }.joined(separator: ",")
        #expect(throws: ServerInputError("--callbacks names 65 targets; at most 64")) { try CallbackEndpoint.parseList(many) }
        #expect(throws: ServerInputError("address '127.0.0.1:x': the port must be a number in 0…65535")) {
            try CallbackEndpoint.parseList("a=http://127.0.0.1:x/")
        }
        let (settings, _) = try NodeConfiguration.settings(fromTOML: "[callbacks]\nbilling = \"http://127.0.0.1:9/fire\"\n", file: "n.toml")
        #expect(settings.callbacks == "billing=http://127.0.0.1:9/fire")
        #expect(HTTPCallbackClient.status(ofLine: "HTTP/1.1 204 No Content") == 204)
        #expect(HTTPCallbackClient.status(ofLine: "HTTP/1.0 500") == 500)
        #expect(HTTPCallbackClient.status(ofLine: "SSH-2.0-OpenSSH") == nil)
        #expect(HTTPCallbackClient.status(ofLine: "HTTP/1.1 2000 X") == nil)
        #expect(HTTPCallbackClient.json("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
        #expect(HTTPCallbackClient.headerSafe("k\r\nX-Evil: 1") == "k%0D%0AX-Evil: 1")
    }
}
