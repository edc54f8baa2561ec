import ConclaveWire
import Foundation

/// A resource that locked clients write to: a plain store takes every write; a fenced one
/// refuses a write whose fencing token is older than the newest it took.
public protocol GuardedResource: Sendable {
    var fenced: Bool { get }
    /// Writes `value` to `key` on behalf of the holder of `lock` with `token` (nil: no token);
    /// answers whether the resource took it.
    func write(_ key: String, _ value: String, lock: String, token: UInt64?) async throws -> Bool
    func read(_ key: String) async throws -> String?
}

/// A Redis key written with SET: it takes every write, as any store does that cannot check a token.
public struct RedisResource: GuardedResource {
    let endpoint: RESPEndpoint
    public let fenced = false

    public init(_ url: String) throws {
        endpoint = RESPEndpoint(try parseEndpointURLs([url], scheme: "redis")[0], timeoutMillis: 5_000)
    }

    public func write(_ key: String, _ value: String, lock: String, token: UInt64?) async throws -> Bool {
        try endpoint.call(["SET", key, value]) == .simpleString("OK")
    }

    public func read(_ key: String) async throws -> String? { try endpoint.call(["GET", key]).text }
}

/// A key on etcd guarded by a fence key (`key/fence`, the newest token taken, zero-padded so
/// etcd's byte order is numeric order): one transaction refuses a write whose token is below it.
public struct EtcdFencedResource: GuardedResource {
    let gateway: EtcdGateway
    public let fenced = true

    public init(_ urls: [String]) throws {
        gateway = try EtcdGateway(urls, timeoutMillis: 5_000)
    }

    public func write(_ key: String, _ value: String, lock: String, token: UInt64?) async throws -> Bool {
        guard let token else { throw ClientError.badArgument("a fenced write needs a fencing token") }
        let padded = EtcdGateway.base64(String(format: "%020llu", token))
        let fence = EtcdGateway.base64(key + "/fence")
        // A fence above our token refuses the write; a missing fence compares false: the write lands.
        let answer = try gateway.call("/v3/kv/txn", [
            "compare": [["target": "VALUE", "key": fence, "result": "GREATER", "value": padded]],
            "failure": [["request_put": ["key": fence, "value": padded]],
                        ["request_put": ["key": EtcdGateway.base64(key), "value": EtcdGateway.base64(value)]]],
        ])
        return answer["succeeded"] as? Bool != true
    }

    public func read(_ key: String) async throws -> String? {
        let answer = try gateway.call("/v3/kv/range", ["key": EtcdGateway.base64(key)])
        return (answer["kvs"] as? [[String: Any]])?.first.flatMap { EtcdGateway.text($0["value"]) ?? "" }
    }
}

/// A key on Conclave written with `FENCED.SET key value lock token`: the node refuses a token older
/// than the newest one the key took.
public struct ConclaveFencedResource: GuardedResource {
    let nodes: ConclaveNodes
    public let fenced = true

    public init(_ urls: [String]) throws {
        nodes = try ConclaveNodes(urls, timeoutMillis: 5_000)
    }

    public func write(_ key: String, _ value: String, lock: String, token: UInt64?) async throws -> Bool {
        guard let token else { throw ClientError.badArgument("a fenced write needs a fencing token") }
        do throws(ClientError) {
            return try nodes.call(["FENCED.SET", key, value, lock, "\(token)"], idempotent: false) == .simpleString("OK")
        } catch {
            if case .refused(_, let message) = error, message.hasPrefix("FENCED") { return false }
            throw error
        }
    }

    public func read(_ key: String) async throws -> String? { try nodes.call(["GET", key], idempotent: true).text }
}

/// What the seeds warn about, run on real servers: client 1 takes a lock and pauses (a GC pause, a
/// SIGSTOP) past its ttl; client 2 takes the lock and writes the resource; client 1 wakes, still
/// believing it holds the lock, and writes too. Recorded as a ../shared/HISTORY.md history: the
/// lock's operations (with an `expire` for the paused holder: its lease may lapse any time after
/// its grant) and the resource's writes as `fenced-put`s carrying the writer's token — Conclave's
/// token or etcd's create revision; for a backend without tokens (Redis), the grant's order, which
/// is what a token would have said. A fenced resource refuses the stale write and the history is
/// linearizable; a plain one takes it, and the checker finds a write from an older grant landing
/// after a newer one.
public enum StaleWriteScenario {
    public struct Outcome: Sendable {
        /// HISTORY.md lines, in call order.
        public var history: [String]
        /// What happened, a line per step, for people.
        public var narrative: [String]
        public var staleWriteTaken: Bool
        public var finalValue: String?
    }

    public static func run(
        first: any Locker, second: any Locker, resource: any GuardedResource, lock: String, key: String, ttl: Duration,
        timeout: Duration = .seconds(30)
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let origin = clock.now
        func nanos() -> Int64 {
            let (seconds, attoseconds) = (clock.now - origin).components
            return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }
        var history: [String] = []
        var narrative: [String] = []
        func record(_ client: Int, _ op: String, _ key: String, _ fields: String, call: Int64, returned: Int64?) {
            history.append(#"{"client": \#(client), "op": "\#(op)", "key": "\#(key)"\#(fields), "call": \#(call), "return": \#(returned.map(String.init) ?? "null")}"#)
        }
        // Redis grants carry no token: number them in grant order, as a token would have.
        func token(_ grant: LockGrant, order: UInt64) -> UInt64 { grant.fencingToken ?? order }

        var call = nanos()
        guard let firstGrant = try await first.tryLock(lock, ttl: ttl) else {
            throw ClientError.refused(endpoint: first.traits.backend, message: "lock '\(lock)' was already held")
        }
        let firstToken = token(firstGrant, order: 1)
        record(1, "acquire", lock, #", "ok": true, "token": \#(firstToken)"#, call: call, returned: nanos())
        narrative.append("client 1 holds '\(lock)' (token \(firstGrant.fencingToken.map(String.init) ?? "none: grant #1")) for \(firstGrant.ttl), then pauses")
        record(1, "expire", lock, #", "holder": 1"#, call: nanos(), returned: nil)

        // Client 1 is paused: client 2 asks until the lease lapses and it is granted.
        let deadline = clock.now + timeout
        var secondGrant: LockGrant?
        call = nanos()
        while secondGrant == nil {
            guard clock.now < deadline else { throw ClientError.refused(endpoint: second.traits.backend, message: "'\(lock)' never lapsed") }
            secondGrant = try await second.tryLock(lock, ttl: .seconds(30))
            if secondGrant == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let granted = secondGrant!
        let secondToken = token(granted, order: 2)
        record(2, "acquire", lock, #", "ok": true, "token": \#(secondToken)"#, call: call, returned: nanos())
        narrative.append("client 1's lease lapsed; client 2 holds '\(lock)' (token \(granted.fencingToken.map(String.init) ?? "none: grant #2"))")

        call = nanos()
        let secondTook = try await resource.write(key, "written-by-2", lock: lock, token: granted.fencingToken)
        record(2, "fenced-put", key, #", "lock": "\#(lock)", "token": \#(secondToken), "value": "written-by-2", "ok": \#(secondTook)"#,
               call: call, returned: nanos())
        narrative.append("client 2 writes the resource: \(secondTook ? "taken" : "refused")")

        call = nanos()
        let staleTaken = try await resource.write(key, "written-by-1", lock: lock, token: firstGrant.fencingToken)
        record(1, "fenced-put", key, #", "lock": "\#(lock)", "token": \#(firstToken), "value": "written-by-1", "ok": \#(staleTaken)"#,
               call: call, returned: nanos())
        narrative.append("client 1 wakes, believes it still holds the lock and writes: "
                         + (staleTaken ? "TAKEN — the resource cannot tell the write is stale" : "REFUSED — token \(firstToken) is older than \(secondToken)"))

        call = nanos()
        let value = try await resource.read(key)
        record(2, "get", key, #", "output": \#(value.map { "\"\($0)\"" } ?? "null"), "ok": true"#, call: call, returned: nanos())
        narrative.append("client 2 reads the resource back: \(value ?? "nothing")")

        call = nanos()
        try await second.unlock(granted)
        record(2, "release", lock, #", "ok": true"#, call: call, returned: nanos())
        call = nanos()
        let firstReleased = (try? await first.unlock(firstGrant)) != nil
        record(1, "release", lock, #", "ok": \#(firstReleased)"#, call: call, returned: nanos())
        narrative.append("client 1's release: \(firstReleased ? "ok" : "refused (not the owner)")")
        return Outcome(history: history, narrative: narrative, staleWriteTaken: staleTaken, finalValue: value)
    }
}
