import ConclaveWire

/// Redlock over N independent Redis instances (N odd, 3…15): a lock is held when a majority took
/// `SET name token NX PX ttl` within the ttl; its validity is the ttl less the time the round took
/// and the allowed clock drift (1 % + 2 ms). A failed round releases what it took; a blocking
/// `lock` retries after a random delay until its timeout (not fair).
///
/// Its known limits, stated where a user meets them (`traits.limits`, `conclave` prints them):
/// no fencing token; safety assumes the instances' clocks run at nearly the same rate (a clock
/// that jumps forward expires a key early); an instance restarted without its data forgets the
/// key, so restart instances only after the longest ttl has passed; a holder paused past the
/// validity (GC, SIGSTOP) still believes it holds the lock.
public final class RedlockLocker: Locker, @unchecked Sendable {
    let endpoints: [RESPEndpoint]

    public let traits = LockerTraits(
        backend: "redlock", fencing: false, fair: false,
        limits: [
            "no fencing token: a holder paused past the validity (GC, SIGSTOP) still believes it holds the lock",
            "assumes bounded clock drift between instances: an instance whose clock jumps forward expires the key early and a second client can win a majority",
            "an instance restarted without its data forgets the key: delay restarts by the longest ttl",
            "not fair: blocked acquirers retry after random delays",
        ])

    /// `urls`: `redis://host:port` of each independent instance (an odd number, 3…15);
    /// `timeoutMillis` bounds each instance's answer (keep it well under the ttl).
    public init(_ urls: [String], timeoutMillis: Int = 50) throws {
        guard urls.count % 2 == 1, (3...15).contains(urls.count) else {
            throw ClientError.badArgument("Redlock over \(urls.count) instances: accepted: an odd number, 3…15 independent instances")
        }
        endpoints = try parseEndpointURLs(urls, scheme: "redis").map { RESPEndpoint($0, timeoutMillis: timeoutMillis) }
    }

    var quorum: Int { endpoints.count / 2 + 1 }

    public func tryLock(_ name: String, ttl: Duration) async throws -> LockGrant? {
        guard ttl >= .milliseconds(10) else { throw ClientError.badArgument("ttl \(ttl): accepted: at least 10 ms for Redlock") }
        let token = randomToken()
        let start = ContinuousClock.now
        var taken = 0
        var reasons: [String] = []
        for endpoint in endpoints {
            do throws(ClientError) {
                if case .simpleString("OK") = try endpoint.call(["SET", name, token, "NX", "PX", "\(ttl.millisecondsRoundedUp)"]) { taken += 1 }
            } catch {
                reasons.append("\(error)")
            }
        }
        let validUntil = start + ttl - RedisTiming.drift(ttl)
        if taken >= quorum, ContinuousClock.now < validUntil {
            return LockGrant(name: name, owner: token, fencingToken: nil, ttl: ttl, validUntil: validUntil)
        }
        releaseEverywhere(name, token)
        if reasons.count > endpoints.count - quorum {
            throw ClientError.unreachable("Redlock needs \(quorum) of \(endpoints.count) instances: " + reasons.joined(separator: "; "))
        }
        return nil
    }

    public func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let grant = try await tryLock(name, ttl: ttl) { return grant }
            let pause = Duration.milliseconds(Int.random(in: 5...50))
            guard ContinuousClock.now + pause < deadline else { return nil }
            try await Task.sleep(for: pause)
        }
    }

    public func unlock(_ grant: LockGrant) async throws {
        let released = releaseEverywhere(grant.name, grant.owner)
        guard released >= quorum else {
            throw ClientError.notOwner(lock: grant.name, detail: "released on \(released) of \(endpoints.count) instances (needs \(quorum))")
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant { try renewBlocking(grant) }

    public func renewBlocking(_ grant: LockGrant) throws -> LockGrant {
        let start = ContinuousClock.now
        var renewed = 0
        for endpoint in endpoints {
            let reply = try? endpoint.evaluate(RedisLocker.renewScript, keys: [grant.name], arguments: [grant.owner, "\(grant.ttl.millisecondsRoundedUp)"])
            if reply?.int == 1 { renewed += 1 }
        }
        let validUntil = start + grant.ttl - RedisTiming.drift(grant.ttl)
        guard renewed >= quorum, ContinuousClock.now < validUntil else {
            throw ClientError.notOwner(lock: grant.name, detail: "renewed on \(renewed) of \(endpoints.count) instances (needs \(quorum))")
        }
        return LockGrant(name: grant.name, owner: grant.owner, fencingToken: nil, ttl: grant.ttl, validUntil: validUntil)
    }

    /// Owner-checked delete on every instance; how many held the token.
    @discardableResult
    private func releaseEverywhere(_ name: String, _ token: String) -> Int {
        endpoints.reduce(0) { count, endpoint in
            let reply = try? endpoint.evaluate(Self.deleteScript, keys: [name], arguments: [token])
            return count + (reply?.int == 1 ? 1 : 0)
        }
    }

    static let deleteScript = LuaScript("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")
}
