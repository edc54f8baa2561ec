import ConclaveClient
import ConclaveServer
import ConclaveWire
import Foundation
import Testing

/// Endpoint lists and credentials: a node going away mid-session, a dead endpoint first in the
/// list, and Redis AUTH from the URL.
@Suite(.serialized) struct FailoverTests {
    @Test("Conclave: the session's node stops; the session moves to the next node, the lock is still held, IDs still flow")
    func conclaveNodeStops() async throws {
        let directory = NSTemporaryDirectory() + "conclave-failover-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nodes = try await waitOnThread { try Engines.startConclave(in: directory) }
        defer { for node in nodes.dropFirst() { node.shutdown(drain: false); _ = node.wait() } }  // node 1 is stopped below
        let urls = nodes.map { "redis://127.0.0.1:\($0.boundPorts.client ?? 0)" }
        let locker = try ConclaveLocker(urls)
        let other = try ConclaveLocker(Array(urls.dropFirst()))
        let grant = try #require(try await locker.tryLock("failover", ttl: .seconds(20)))
        nodes[0].shutdown(drain: false)
        _ = nodes[0].wait()
        // The session was on node 1 (first in the list): the renewal finds it gone, attaches the
        // session on node 2 and renews there.
        var renewed: LockGrant?
        #expect(try await eventually(seconds: 20) {
            renewed = try? await locker.renew(grant)
            return renewed != nil
        }, "the session did not move to another node")
        #expect(try await other.tryLock("failover", ttl: .seconds(5)) == nil, "the lock was lost in the move")
        try await locker.unlock(try #require(renewed))
        let services = try ConclaveServices(urls)
        #expect(try await services.next(3).count == 3)
        locker.close()
        other.close()
    }

    @Test("etcd: a dead endpoint first in the list is passed over")
    func etcdDeadEndpointFirst() async throws {
        let engines = try Engines.shared()
        let locker = try EtcdLocker(["http://127.0.0.1:1"] + engines.etcd.urls, timeoutMillis: 2_000)
        let grant = try #require(try await locker.tryLock("failover-\(UUID().uuidString.prefix(8))", ttl: .seconds(5)))
        try await locker.unlock(grant)
    }

    @Test("Redis AUTH from the URL: the right password works; a wrong one and none are refused, naming the endpoint")
    func redisAuth() async throws {
        let directory = NSTemporaryDirectory() + "conclave-auth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let processes = ForeignProcesses()
        defer {
            processes.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let port = Engines.freePort()
        let redis = try #require(ForeignProcesses.which("redis-server"))
        try processes.launch(redis, ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--requirepass", "s3cret p@ss",
                                     "--dir", directory], log: directory + "/redis.log")
        #expect(poll(seconds: 10) { (try? RESPClient(PeerAddress(host: "127.0.0.1", port: port)).call(["PING"])) != nil })
        let good = try RedisLocker("redis://:s3cret%20p%40ss@127.0.0.1:\(port)")
        let grant = try #require(try await good.tryLock("auth", ttl: .seconds(5)))
        try await good.unlock(grant)
        await #expect {
            _ = try await RedisLocker("redis://:wrong@127.0.0.1:\(port)").tryLock("auth", ttl: .seconds(5))
        } throws: { error in
            guard case ClientError.refused(let endpoint, let message) = error else { return false }
            return endpoint == "127.0.0.1:\(port)" && message.contains("AUTH refused") && message.contains("WRONGPASS")
        }
        await #expect {
            _ = try await RedisLocker("redis://127.0.0.1:\(port)").tryLock("auth", ttl: .seconds(5))
        } throws: { error in
            guard case ClientError.refused(_, let message) = error else { return false }
            return message.contains("NOAUTH")
        }
        #expect(throws: ClientError.self) { _ = try RedisLocker("redis://justauser@127.0.0.1:\(port)") }
    }
}

/// Runs blocking work (starting servers) on a thread of its own, not on the shared pool.
func waitOnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// etcd with authentication on: credentials from the URL, a token on every request and stream.
@Suite struct EtcdAuthTests {
    @Test("etcd auth: the right user locks and watches; no credentials and a wrong password are refused, saying what failed")
    func etcdAuth() async throws {
        let directory = NSTemporaryDirectory() + "conclave-etcd-auth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let processes = ForeignProcesses()
        defer {
            processes.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let etcd = try await waitOnThread {
            try EtcdCluster.start(in: directory, basePort: 29_000 + Int(getpid() % 150) * 20 + 5, members: 1, processes: processes)
        }
        let etcdctl = try #require(ForeignProcesses.which("etcdctl"), "etcdctl is not installed (apt-get install etcd-client)")
        for arguments in [["user", "add", "root:r00t-pw"], ["auth", "enable"]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: etcdctl)
            process.arguments = ["--endpoints", etcd.urls[0]] + arguments
            process.environment = ["ETCDCTL_API": "3"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "etcdctl \(arguments.joined(separator: " ")) failed")
        }
        let url = etcd.urls[0].replacingOccurrences(of: "http://", with: "http://root:r00t-pw@")
        let locker = try EtcdLocker([url])
        let grant = try #require(try await locker.tryLock("auth-lock", ttl: .seconds(5)))
        try await locker.unlock(grant)
        let services = try EtcdServices([url], namespace: "auth")
        let start = try await services.set("auth/a", "1")
        var events = services.watch("auth/", after: start).makeAsyncIterator()
        _ = try await services.set("auth/b", "2")
        #expect(try await events.next()?.key == "auth/b", "a watch with a token saw nothing")
        await #expect {
            _ = try await EtcdLocker(etcd.urls).tryLock("auth-lock", ttl: .seconds(5))
        } throws: { error in
            guard case ClientError.refused(let endpoint, let message) = error else { return false }
            return endpoint.contains("127.0.0.1") && message.contains("user name")
        }
        await #expect {
            _ = try await EtcdLocker([url.replacingOccurrences(of: "r00t-pw", with: "wrong")]).tryLock("auth-lock", ttl: .seconds(5))
        } throws: { error in
            guard case ClientError.refused(_, let message) = error else { return false }
            return message.contains("authentication as 'root' failed")
        }
    }
}
