import ConclaveClient
import Foundation
import Testing

/// Conclave's etcd Locker and `etcdctl lock` (etcd's own Go concurrency.Mutex) queue behind one
/// another on a real etcd: same key layout, same order by create revision.
@Suite(.serialized) struct EtcdInteropTests {
    @Test("a lock held by etcdctl: Conclave's Locker is refused, queues behind it and is granted when etcdctl lets go, with a larger token")
    func behindEtcdctl() async throws {
        let engines = try Engines.shared()
        let name = "interop-\(UUID().uuidString.prefix(8))"
        let etcdctl = try EtcdctlLock(name, endpoints: engines.etcd.urls)
        defer { etcdctl.stop() }
        #expect(await eventually(seconds: 15) { etcdctl.printed.contains("\(name)/") }, "etcdctl never took the lock: \(etcdctl.printed)")
        let locker = try EtcdLocker(engines.etcd.urls)
        #expect(try await locker.tryLock(name, ttl: .seconds(10)) == nil, "granted while etcdctl held the lock")
        let waiter = Task { try await locker.lock(name, ttl: .seconds(10), timeout: .seconds(20)) }
        #expect(await eventually(seconds: 10) { Backend.etcd.waiters(name, engines) == 1 }, "our waiter never queued")
        etcdctl.stop()
        let grant = try #require(try await waiter.value, "not granted after etcdctl let go")
        try await locker.unlock(grant)
    }

    @Test("a lock held by Conclave's Locker: etcdctl waits for it and takes it on release")
    func etcdctlBehindUs() async throws {
        let engines = try Engines.shared()
        let name = "interop-\(UUID().uuidString.prefix(8))"
        let locker = try EtcdLocker(engines.etcd.urls)
        let grant = try #require(try await locker.tryLock(name, ttl: .seconds(30)))
        let etcdctl = try EtcdctlLock(name, endpoints: engines.etcd.urls)
        defer { etcdctl.stop() }
        #expect(await eventually(seconds: 10) { Backend.etcd.waiters(name, engines) == 1 }, "etcdctl never queued")
        #expect(!etcdctl.printed.contains("\(name)/"), "etcdctl took a lock we hold")
        try await locker.unlock(grant)
        #expect(await eventually(seconds: 15) { etcdctl.printed.contains("\(name)/") }, "etcdctl did not take the lock after our release")
        #expect(try await locker.tryLock(name, ttl: .seconds(5)) == nil, "granted while etcdctl holds it")
    }
}
