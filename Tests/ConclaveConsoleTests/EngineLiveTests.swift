import ConclaveClient
import ConclaveWire
import Foundation
import Testing
@testable import ConclaveConsole

/// The console's engine source on real servers: a 3-member etcd and a Redis started by
/// ConclaveClient's launchers in a temporary directory, locks taken by `etcdctl lock` and by the
/// client API, snapshots read through `EngineCluster` as the live console reads them. Every wait
/// polls with a deadline; every process started is stopped.
@Suite(.serialized) struct EngineLiveTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "conclave-console-engines-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func fast() -> EngineCluster.Settings {
        var settings = EngineCluster.Settings()
        settings.intervalMillis = 100
        settings.backoffMillisMax = 400
        return settings
    }

    /// Polls `cluster`'s snapshot every 20 ms until `condition` holds or `seconds` pass.
    /// (Suspends between looks: a blocked thread of the shared pool would stall other suites' tasks.)
    static func eventually(_ cluster: EngineCluster, seconds: Double = 20, _ condition: (ClusterSnapshot) -> Bool) async -> ClusterSnapshot? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let snapshot = cluster.snapshot()
            if condition(snapshot) { return snapshot }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test("etcd: etcdctl lock holds, the Locker API and a second etcdctl wait behind it in order; release hands it on; leases, watch, put, move leader")
    func etcd() async throws {
        let directory = try Self.directory()
        let processes = ForeignProcesses()
        defer {
            processes.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let etcd = try EtcdCluster.start(in: directory, basePort: 29_000 + Int(getpid() % 150) * 20, processes: processes)
        let cluster = try EngineCluster(kind: .etcd, urls: etcd.urls, lockScope: "locks/", watchPrefix: "config/", settings: Self.fast())
        cluster.start()
        defer { cluster.stop() }

        let first = try EtcdctlLock("locks/orders", endpoints: etcd.urls)
        defer { first.stop() }
        #expect(await poll(seconds: 15) { first.printed.contains("locks/orders/") }, "etcdctl never took the lock: \(first.printed)")
        let locker = try EtcdLocker(etcd.urls)
        let waiting = Task { try await locker.lock("locks/orders", ttl: .seconds(30), timeout: .seconds(60)) }
        defer { waiting.cancel() }
        #expect(await Self.eventually(cluster) { $0.locks.first?.waiterOwners.count == 1 } != nil, "the Locker never queued")
        let second = try EtcdctlLock("locks/orders", endpoints: etcd.urls)
        defer { second.stop() }

        let queued = try #require(await Self.eventually(cluster) { $0.locks.first?.waiterOwners.count == 2 })
        let orders = try #require(queued.locks.first)
        let heldKey = first.printed.split(separator: "\n").first.map(String.init) ?? ""
        #expect(orders.name == "locks/orders")
        #expect(heldKey == "locks/orders/" + (orders.holders.first?.owner ?? "").replacingOccurrences(of: "lease ", with: ""),
                "the holder is etcdctl's key \(heldKey)")
        let revisions = orders.waiterOwners.compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(revisions.count == 2 && revisions == revisions.sorted() && revisions[0] > Int(orders.holders[0].token),
                "waiters in create-revision order after the holder: \(orders.waiterOwners)")
        #expect((orders.holders.first?.leaseLeftMillis ?? 0) > 0, "the holder's lease TTL is read")
        let foreign = try #require(queued.foreign)
        #expect(foreign.endpoints.allSatisfy(\.answers) && foreign.endpoints.filter(\.isLeader).count == 1)
        #expect(foreign.leases.count >= 3)

        // Release the shown holder (etcdctl's key): the Locker, next in line, is granted.
        let released = cluster.apply(.lockRelease(name: "locks/orders", client: 1))
        #expect(!released.isError, "\(released.text)")
        let grant = try #require(try await waiting.value)
        #expect(await Self.eventually(cluster) { $0.locks.first?.holders.first?.token == grant.fencingToken } != nil,
                "the console shows the Locker as holder with its fencing token \(grant.fencingToken ?? 0)")

        // Put into the watched prefix: the watch feeds the log and view 8.
        #expect(!cluster.apply(.engine(.put(key: "config/timeout", value: "45s"))).isError)
        #expect(await Self.eventually(cluster) { $0.config.contains { $0.key == "config/timeout" && $0.value == "45s" } } != nil)
        // Move the leader to a follower (etcd 3.4's /v3/maintenance/transfer-leadership).
        let follower = try #require(cluster.snapshot().nodes.first { $0.role == .follower })
        let moved = cluster.apply(.transfer(to: .id(follower.id)))
        #expect(!moved.isError, "\(moved.text)")
        #expect(await Self.eventually(cluster) { $0.nodes.first { $0.id == follower.id }?.role == .leader } != nil)
        // Revoke the Locker's lease: its key goes, and the waiting etcdctl holds.
        let lease = String(grant.owner.split(separator: "/").last ?? "")
        #expect(!cluster.apply(.engine(.revokeLease(lease))).isError)
        #expect(await poll(seconds: 15) { second.printed.contains("locks/orders/") }, "the second etcdctl never took the lock")
    }

    @Test("Redis: a lock taken with the Locker API shows with its owner and TTL; the console takes and releases one; a dead endpoint is named and retried")
    func redis() async throws {
        let directory = try Self.directory()
        let processes = ForeignProcesses()
        defer {
            processes.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let port = 31_000 + Int(getpid() % 300) * 3
        let server = try RedisServer.start(in: directory, port: port, processes: processes)
        let dead = "redis://127.0.0.1:\(port + 1)"
        let cluster = try EngineCluster(kind: .redis, urls: [server.url, dead], lockScope: "*", watchPrefix: nil, settings: Self.fast())
        cluster.start()
        defer { cluster.stop() }
        let grant = try #require(try await RedisLocker(server.url).tryLock("orders", ttl: .seconds(30)))
        let shown = try #require(await Self.eventually(cluster) { $0.locks.contains { $0.name == "orders" } })
        let orders = try #require(shown.locks.first { $0.name == "orders" })
        #expect(orders.holders.first?.owner == grant.owner)
        #expect((orders.holders.first?.leaseLeftMillis ?? 0) > 20_000)
        #expect(orders.placement == "on 1/2 (no majority) · owners agree")
        let endpoints = try #require(shown.foreign?.endpoints)
        #expect(endpoints[0].answers && endpoints[0].role == "master")
        #expect(!endpoints[1].answers && endpoints[1].problem?.contains("cannot connect") == true)
        #expect(shown.events.contains { $0.kind == .fault && $0.text.hasPrefix(dead) })

        #expect(cluster.apply(.engine(.revokeLease("1"))).text.contains("no leases"))
        let taken = cluster.apply(.lockAcquire(name: "inventory", client: 1, ttlMillis: 20_000))
        #expect(!taken.isError && taken.text.hasPrefix("took inventory"), "\(taken.text)")
        #expect(await Self.eventually(cluster) { $0.locks.contains { $0.name == "inventory" } } != nil)
        #expect(!cluster.apply(.lockRelease(name: "inventory", client: 1)).isError)
        // Someone else's lock: released by the owner shown, owner-checked.
        let released = cluster.apply(.lockRelease(name: "orders", client: 1))
        #expect(!released.isError && released.text.contains(grant.owner), "\(released.text)")
        #expect(await Self.eventually(cluster) { !$0.locks.contains { $0.name == "orders" || $0.name == "inventory" } } != nil)
    }

    @Test("a wrong scheme is refused naming the URL; a server that is not etcd is named with what failed")
    func badInput() async throws {
        #expect(throws: ControlError.self) { try EngineCluster(kind: .etcd, urls: ["redis://127.0.0.1:2379"], lockScope: nil, watchPrefix: nil) }
        let directory = try Self.directory()
        let processes = ForeignProcesses()
        defer {
            processes.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let server = try RedisServer.start(in: directory, port: 31_900 + Int(getpid() % 90), processes: processes)
        let cluster = try EngineCluster(kind: .etcd, urls: ["http://127.0.0.1:\(server.port)"], lockScope: nil, watchPrefix: nil,
                                        settings: Self.fast())
        cluster.start()
        defer { cluster.stop() }
        let failed = try #require(await Self.eventually(cluster, seconds: 10) { $0.foreign?.endpoints.first?.problem != nil })
        let problem = failed.foreign?.endpoints.first?.problem ?? ""
        #expect(problem.contains("/v3/maintenance/status"), "\(problem)")
        #expect(failed.events.contains { $0.text.hasPrefix("http://127.0.0.1:\(server.port)") })
    }
}

/// Polls `condition` every 20 ms, suspending between looks, until it holds or `seconds` pass.
func poll(seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
