import ConclaveClient
import Foundation
import Testing

/// One behaviour suite, every backend: Conclave's nodes, a 3-member etcd, one Redis, and Redlock
/// over three Redis instances — all real servers (see `Engines`). What a backend cannot do is a
/// stated refusal, checked here too.
@Suite struct LockerBehaviourTests {
    static func name(_ test: String) -> String { "client-test/\(test)-\(UUID().uuidString.prefix(8))" }

    /// Two clients of one backend, and a lock name of the test's own.
    static func two(_ backend: Backend, _ test: String) throws -> (first: any Locker, second: any Locker, name: String) {
        let engines = try Engines.shared()
        return (try backend.locker(engines), try backend.locker(engines), name(test))
    }

    @Test("acquire, release, acquire again", arguments: Backend.allCases)
    func acquireAndRelease(_ backend: Backend) async throws {
        let locker = try backend.locker(try Engines.shared())
        let name = Self.name("acquire")
        let grant = try #require(try await locker.tryLock(name, ttl: .seconds(10)))
        #expect(grant.name == name)
        #expect(grant.validUntil > .now)
        try await locker.unlock(grant)
        let again = try #require(try await locker.tryLock(name, ttl: .seconds(10)))
        try await locker.unlock(again)
    }

    @Test("contend: a second client is refused while the lock is held and granted once it is released", arguments: Backend.allCases)
    func contend(_ backend: Backend) async throws {
        let engines = try Engines.shared()
        let (first, second) = (try backend.locker(engines), try backend.locker(engines))
        let name = Self.name("contend")
        let held = try #require(try await first.tryLock(name, ttl: .seconds(20)))
        #expect(try await second.tryLock(name, ttl: .seconds(20)) == nil, "a held lock was granted twice")
        let released = Flag()
        let waiter = Task { () -> LockGrant? in
            let grant = try await second.lock(name, ttl: .seconds(20), timeout: .seconds(20))
            #expect(released.isSet, "the waiter was granted before the holder released")
            return grant
        }
        if backend.waiters(name, engines) != nil {
            #expect(await eventually(seconds: 10) { backend.waiters(name, engines) == 1 }, "the waiter never queued")
        }
        released.set()
        try await first.unlock(held)
        let granted = try #require(try await waiter.value, "the waiter was not granted within its timeout")
        if backend != .redlock {
            // Fencing: every grant of the name carries a larger token.
            #expect((granted.fencingToken ?? 0) > (held.fencingToken ?? 0) || !first.traits.fencing)
        }
        try await second.unlock(granted)
    }

    @Test("a lock that is not renewed expires; its old grant can no longer release or renew", arguments: Backend.allCases)
    func expire(_ backend: Backend) async throws {
        let (first, second, name) = try Self.two(backend, "expire")
        let stale = try #require(try await first.tryLock(name, ttl: backend.shortTTL))
        var taken: LockGrant?
        let expired = try await eventually(seconds: 15) {
            taken = try await second.tryLock(name, ttl: .seconds(20))
            return taken != nil
        }
        #expect(expired, "the lock never expired")
        let current = try #require(taken)
        await #expect(throws: ClientError.self) { try await first.unlock(stale) }
        await #expect(throws: ClientError.self) { _ = try await first.renew(stale) }
        // The stale release did not free the new holder's lock.
        #expect(try await first.tryLock(name, ttl: .seconds(5)) == nil, "a stale grant's release freed the new holder's lock")
        try await second.unlock(current)
    }

    @Test("renew extends a lock; a lease keeper keeps it past its ttl, independent of the task pool", arguments: Backend.allCases)
    func renew(_ backend: Backend) async throws {
        let (first, second, name) = try Self.two(backend, "renew")
        let grant = try #require(try await first.tryLock(name, ttl: backend.shortTTL))
        let renewed = try await first.renew(grant)
        #expect(renewed.validUntil > grant.validUntil)
        let keeper = LeaseKeeper(first, renewed)
        try await Task.sleep(for: renewed.ttl * 5 / 2)  // the ttl passes twice over while the keeper renews
        #expect(keeper.lost == nil, "a renewal failed: \(String(describing: keeper.lost))")
        #expect(try await second.tryLock(name, ttl: .seconds(5)) == nil, "a kept lock was granted to another")
        let last = keeper.stop()
        #expect(last.validUntil > renewed.validUntil)
        try await first.unlock(last)
    }

    @Test("fencing tokens grow with every grant where the backend has them; where not, the grant says so", arguments: Backend.allCases)
    func fencing(_ backend: Backend) async throws {
        let (first, second, name) = try Self.two(backend, "fencing")
        var tokens: [UInt64] = []
        for round in 0..<4 {
            let locker = round.isMultiple(of: 2) ? first : second
            let grant = try #require(try await locker.tryLock(name, ttl: .seconds(10)))
            if let token = grant.fencingToken { tokens.append(token) }
            try await locker.unlock(grant)
        }
        if first.traits.fencing {
            #expect(tokens.count == 4)
            #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 }, "tokens did not grow: \(tokens)")
        } else {
            #expect(tokens.isEmpty)
            #expect(first.traits.limits.contains { $0.contains("no fencing token") })
        }
    }

    @Test("withLock runs the body holding the lock, renewing it, and releases it after", arguments: Backend.allCases)
    func withLock(_ backend: Backend) async throws {
        let (first, second, name) = try Self.two(backend, "with")
        let ttl = backend.shortTTL
        let result = try await first.withLock(name, ttl: ttl, timeout: .seconds(5)) { grant in
            try await Task.sleep(for: grant.ttl * 2)  // outlives the ttl: the renewals keep it
            return try await second.tryLock(name, ttl: .seconds(5)) == nil
        }
        #expect(result, "the lock was lost while the body ran")
        let after = try #require(try await second.tryLock(name, ttl: .seconds(5)), "withLock did not release")
        try await second.unlock(after)
    }

    @Test("fair backends grant waiters in the order they asked", arguments: [Backend.conclave, .etcd, .redis])
    func fairness(_ backend: Backend) async throws {
        let engines = try Engines.shared()
        let holder = try backend.locker(engines)
        let name = Self.name("fair")
        let held = try #require(try await holder.tryLock(name, ttl: .seconds(30)))
        let order = Order()
        var waiters: [Task<Void, Error>] = []
        for index in 0..<3 {
            let locker = try backend.locker(engines)
            waiters.append(Task {
                let grant = try #require(try await locker.lock(name, ttl: .seconds(30), timeout: .seconds(30)))
                order.append(index)
                try await locker.unlock(grant)
            })
            #expect(await eventually(seconds: 10) { backend.waiters(name, engines) == index + 1 }, "waiter \(index) never queued")
        }
        try await holder.unlock(held)
        for waiter in waiters { try await waiter.value }
        #expect(order.values == [0, 1, 2], "granted out of order: \(order.values)")
    }
}

/// Set once, read from any task.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// An order of events from several tasks.
final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func append(_ value: Int) { lock.withLock { list.append(value) } }
    var values: [Int] { lock.withLock { list } }
}
