import ConclaveClient
import ConclaveWire
import Foundation
import Testing

/// IDs, throttles, delay queues and config through the one API on every backend that has them;
/// etcd's refusals are checked as refusals.
@Suite struct ServiceBehaviourTests {
    enum Services: String, CaseIterable, Sendable, CustomStringConvertible {
        case conclave, etcd, redis
        var description: String { rawValue }

        func make(_ engines: Engines) throws -> any IDSource & Throttle & DelayQueue & ConfigStore {
            let namespace = "client-test-\(UUID().uuidString.prefix(8))"
            switch self {
            case .conclave: return try ConclaveServices(engines.conclaveURLs)
            case .etcd: return try EtcdServices(engines.etcd.urls, namespace: namespace)
            case .redis: return try RedisServices(engines.redis[0].url, namespace: namespace)
            }
        }
    }

    static func unique(_ text: String) -> String { "\(text)-\(UUID().uuidString.prefix(8))" }

    @Test("IDs are unique and increase", arguments: Services.allCases)
    func ids(_ backend: Services) async throws {
        let services = try backend.make(try Engines.shared())
        let ids = try await services.next(5) + services.next(5)
        #expect(ids.count == 10)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "\(ids)")
        await #expect(throws: ClientError.badArgument("count 0: accepted: 1…1000")) { _ = try await services.next(0) }
    }

    @Test("a throttle allows its burst and then limits, with a retry time", arguments: [Services.conclave, .redis])
    func throttle(_ backend: Services) async throws {
        let services = try backend.make(try Engines.shared())
        let key = Self.unique("throttle")
        var decisions: [ThrottleDecision] = []
        for _ in 0..<4 { decisions.append(try await services.take(key, burst: 2, count: 1, period: .seconds(60), quantity: 1)) }
        #expect(decisions.map(\.allowed) == [true, true, true, false])
        #expect(decisions[0].limit == 3)
        #expect(decisions[3].retryAfter != nil)
        await #expect(throws: ClientError.self) { _ = try await services.take(key, burst: -1, count: 1, period: .seconds(1), quantity: 1) }
    }

    @Test("a delay queue delivers after the delay, hides a popped message, and forgets an acknowledged one", arguments: [Services.conclave, .redis])
    func delayQueue(_ backend: Services) async throws {
        let services = try backend.make(try Engines.shared())
        let queue = Self.unique("queue")
        let scheduledAt = ContinuousClock.now
        _ = try await services.schedule(queue, payload: "hello", after: .milliseconds(300))
        var popped: [DelayedMessage] = []
        try #require(try await eventually(seconds: 15) {
            popped = try await services.pop(queue, count: 10, visibility: .seconds(30))
            return !popped.isEmpty
        }, "the message was never delivered")
        #expect(ContinuousClock.now - scheduledAt >= .milliseconds(300), "delivered before its delay")
        #expect(popped.map(\.payload) == ["hello"])
        #expect(try await services.pop(queue, count: 10, visibility: .seconds(30)).isEmpty, "a popped message was delivered twice within its visibility")
        try await services.ack(queue, popped[0])
    }

    @Test("etcd refuses throttles and delay queues, saying why")
    func etcdRefusals() async throws {
        let services = try Services.etcd.make(try Engines.shared())
        await #expect {
            _ = try await services.take("t", burst: 1, count: 1, period: .seconds(1), quantity: 1)
        } throws: { error in
            guard case ClientError.unsupported(let backend, _, let why) = error else { return false }
            return backend == "etcd" && why.contains("clock")
        }
        await #expect {
            _ = try await services.schedule("q", payload: "p", after: .seconds(1))
        } throws: { error in
            guard case ClientError.unsupported(_, _, let why) = error else { return false }
            return why.contains("timers")
        }
    }

    @Test("config: revisions grow; a watch resumed from the last revision seen misses nothing and repeats nothing", arguments: Services.allCases)
    func configWatchResume(_ backend: Services) async throws {
        let services = try backend.make(try Engines.shared())
        let prefix = Self.unique("config") + "/"
        let start = try await services.set(prefix + "a", "1")
        #expect(try await services.get(prefix + "a")?.value == "1")
        var seen: [ConfigEvent] = []
        let first = services.watch(prefix, after: start)
        var iterator = first.makeAsyncIterator()
        let second = try await services.set(prefix + "b", "2")
        #expect(second > start)
        let third = try await services.delete(prefix + "a")
        for _ in 0..<2 { if let event = try await iterator.next() { seen.append(event) } }
        _ = consume iterator  // drop the first watch
        // Changes while no watch is open.
        _ = try await services.set(prefix + "c", "3")
        _ = try await services.set("elsewhere-\(prefix)", "x")
        _ = try await services.set(prefix + "b", "4")
        var resumed = services.watch(prefix, after: seen.last?.revision ?? 0).makeAsyncIterator()
        for _ in 0..<2 { if let event = try await resumed.next() { seen.append(event) } }
        #expect(seen.map(\.key) == [prefix + "b", prefix + "a", prefix + "c", prefix + "b"])
        #expect(seen.map(\.value) == ["2", nil, "3", "4"])
        #expect(seen[1].revision == third)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.revision < $1.revision })
        #expect(try await services.get(prefix + "a") == nil)
    }
}

/// Bad input and unreachable servers: clear errors naming the endpoint and what is accepted.
@Suite struct ClientInputTests {
    @Test("an unreachable endpoint is named in the error")
    func unreachable() async throws {
        let locker = try RedisLocker("redis://127.0.0.1:1", timeoutMillis: 500)
        await #expect {
            _ = try await locker.tryLock("x", ttl: .seconds(1))
        } throws: { error in
            guard case ClientError.unreachable(let why) = error else { return false }
            return why.contains("127.0.0.1:1")
        }
        let etcd = try EtcdLocker(["http://127.0.0.1:1", "http://127.0.0.1:2"], timeoutMillis: 500)
        await #expect {
            _ = try await etcd.tryLock("x", ttl: .seconds(1))
        } throws: { error in
            guard case ClientError.unreachable(let why) = error else { return false }
            return why.contains("127.0.0.1:1") && why.contains("127.0.0.1:2")
        }
    }

    @Test("a wrong scheme, a bad address, Redlock over an even number and a session TTL out of range are refused")
    func refusals() throws {
        #expect(throws: ClientError.badArgument("'https://127.0.0.1:2379': accepted: http://host:port (TLS is not supported)")) {
            _ = try EtcdLocker(["https://127.0.0.1:2379"])
        }
        #expect(throws: ClientError.self) { _ = try RedisLocker("redis://nohost") }
        #expect(throws: ClientError.badArgument("Redlock over 2 instances: accepted: an odd number, 3…15 independent instances")) {
            _ = try RedlockLocker(["redis://127.0.0.1:1", "redis://127.0.0.1:2"])
        }
        #expect(throws: ClientError.badArgument("session TTL 0.5 seconds: accepted: 1 s…1 h")) {
            _ = try ConclaveLocker(["redis://127.0.0.1:1"], sessionTTL: .milliseconds(500))
        }
    }
}

/// Redlock's majority, on three real instances.
@Suite struct RedlockTests {
    @Test("a lock held on two of three instances is not granted, and the round's own SET is undone; one of three is outvoted")
    func majority() async throws {
        let engines = try Engines.shared()
        let locker = try RedlockLocker(engines.redis.map(\.url))
        let clients = try engines.redis.map { try RESPClient(PeerAddress(host: "127.0.0.1", port: $0.port)) }
        let name = "redlock-\(UUID().uuidString.prefix(8))"
        for client in clients.prefix(2) { _ = try client.call(["SET", name, "someone-else", "PX", "30000"]) }
        #expect(try await locker.tryLock(name, ttl: .seconds(10)) == nil)
        #expect(try clients[2].call(["GET", name]) == .null, "the failed round left its key on the third instance")
        _ = try clients[1].call(["DEL", name])
        let grant = try #require(try await locker.tryLock(name, ttl: .seconds(10)))
        #expect(grant.fencingToken == nil)
        try await locker.unlock(grant)
        #expect(try clients[0].call(["GET", name]) == .bulkString(Array("someone-else".utf8)), "unlock deleted another owner's key")
    }
}
