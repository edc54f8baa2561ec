import ConclaveClient
import Foundation
import Testing

/// Conclave's etcd Locker and `etcdctl lock` (etcd's own Go concurrency.Mutex) queue behind one
/// another on a real etcd: same key layout, same order by create revision.
@Suite(.serialized) struct EtcdInteropTests {
    /// `etcdctl lock name` holding until stopped; its output (the key, once it holds) collected.
    final class EtcdctlLock: @unchecked Sendable {
        let process = Process()
        private let output = Pipe()
        private let lock = NSLock()
        private var text = ""

        init(_ name: String, endpoints: [String]) throws {
            let etcdctl = try #require(ForeignProcesses.which("etcdctl"), "etcdctl is not installed (apt-get install etcd-client)")
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

        var printed: String { lock.withLock { text } }

        /// SIGINT: etcdctl closes its session (revoking the lease) and exits.
        func stop() {
            if process.isRunning { process.interrupt() }
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
        }
    }

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
