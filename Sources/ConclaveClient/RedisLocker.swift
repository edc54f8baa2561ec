import ConclaveWire

/// Locks on one Redis instance: `SET name token NX PX ttl`, released and renewed only by the
/// owner's token (scripts), so a lock key is the one redis-py's `Lock`, node-redlock and
/// Redisson's plain lock would write. A blocking `lock` is fair-ish: a waiter takes a ticket in a
/// queue beside the key (`name:waiters`, scored by `name:tickets`), keeps its place alive while it
/// waits (a lease in `name:waiter-leases`), and the lock goes only to the first live waiter; a
/// release publishes on `name:released` so the head waiter retries at once. A waiter that dies
/// loses its place when its lease lapses (2 s). `tryLock` is a plain `SET NX PX`: it may take a
/// free lock ahead of the queue, as `tryLock` on Java's fair `ReentrantLock` does.
///
/// Limits (in `traits`): no fencing token; Redis replicates asynchronously, so a failover to a
/// replica that missed the SET can grant the lock twice; a holder paused past its ttl (GC, SIGSTOP)
/// still believes it holds the lock and cannot be stopped from writing.
public final class RedisLocker: Locker, @unchecked Sendable {
    let endpoint: RESPEndpoint
    /// How long a waiter's place outlives its last poll.
    let waiterLeaseMillis: Int64 = 2_000
    /// How long a waiter sleeps between polls if no release wakes it.
    let pollMillis = 100

    public let traits = LockerTraits(
        backend: "redis", fencing: false, fair: true,
        limits: [
            "no fencing token: a holder paused past its ttl (GC, SIGSTOP) still believes it holds the lock, and a resource cannot tell its write is stale",
            "asynchronous replication: a failover to a replica that missed the SET grants the lock a second time",
            "fair only among live blocking waiters: a waiter that stops polling for 2 s loses its place, and tryLock may take a free lock ahead of them",
        ])

    /// `url`: `redis://host:port`.
    public init(_ url: String, timeoutMillis: Int = 5_000) throws {
        endpoint = RESPEndpoint(try parseEndpointURLs([url], scheme: "redis")[0], timeoutMillis: timeoutMillis)
    }

    /// Plain `SET NX PX`: a try-lock takes a free lock even when waiters queue for it (it barges,
    /// as `tryLock` on Java's fair `ReentrantLock` does); blocking acquirers keep their order.
    public func tryLock(_ name: String, ttl: Duration) async throws -> LockGrant? {
        guard ttl >= .milliseconds(1) else { throw ClientError.badArgument("ttl \(ttl): accepted: at least 1 ms") }
        let token = randomToken()
        let sentAt = ContinuousClock.now
        let reply = try endpoint.call(["SET", name, token, "NX", "PX", "\(ttl.millisecondsRoundedUp)"])
        return reply == .simpleString("OK") ? grant(name, token: token, ttl: ttl, sentAt: sentAt) : nil
    }

    public func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant? {
        let token = randomToken()
        if let grant = try attempt(name, token: token, ttl: ttl) { return grant }
        let deadline = ContinuousClock.now + timeout
        let cancelled = Guarded<RESPClient?>(nil)
        return try await waitOnOwnThread(onCancel: { cancelled.with { $0?.shutdownConnection() } }) { [self] in
            let subscriber = try endpoint.open(timeoutMillis: pollMillis)
            cancelled.with { $0 = subscriber }
            do throws(RESPClient.Failure) {
                _ = try subscriber.call(["SUBSCRIBE", "\(name):released"])
            } catch {
                throw ClientError.unreachable("\(endpoint.address): \(error)")
            }
            while ContinuousClock.now < deadline {
                if let grant = try attempt(name, token: token, ttl: ttl) { return grant }
                do throws(RESPClient.Failure) {
                    _ = try subscriber.nextOrTimeout()  // a release, or the poll interval
                } catch {
                    throw ClientError.unreachable("\(endpoint.address): \(error)")
                }

            }
            // Leave the queue, unless the lock came to us as the deadline passed.
            let left = try endpoint.evaluate(Self.leaveScript, keys: queueKeys(name), arguments: [token])
            return left.int == 2 ? grant(name, token: token, ttl: ttl, sentAt: ContinuousClock.now) : nil
        }
    }

    public func unlock(_ grant: LockGrant) async throws {
        let released = try endpoint.evaluate(Self.releaseScript, keys: [grant.name, "\(grant.name):released"], arguments: [grant.owner])
        guard released.int == 1 else { throw ClientError.notOwner(lock: grant.name, detail: "the key holds another token or none (expired?)") }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant { try renewBlocking(grant) }

    public func renewBlocking(_ grant: LockGrant) throws -> LockGrant {
        let sentAt = ContinuousClock.now
        let renewed = try endpoint.evaluate(Self.renewScript, keys: [grant.name], arguments: [grant.owner, "\(grant.ttl.millisecondsRoundedUp)"])
        guard renewed.int == 1 else { throw ClientError.notOwner(lock: grant.name, detail: "the key holds another token or none (expired?)") }
        return self.grant(grant.name, token: grant.owner, ttl: grant.ttl, sentAt: sentAt)
    }

    /// One try of a blocking acquirer: granted if the lock is free and it is the first live waiter,
    /// else queued (or its place kept alive).
    private func attempt(_ name: String, token: String, ttl: Duration) throws(ClientError) -> LockGrant? {
        guard ttl >= .milliseconds(1) else { throw ClientError.badArgument("ttl \(ttl): accepted: at least 1 ms") }
        let sentAt = ContinuousClock.now
        let taken = try endpoint.evaluate(
            Self.acquireScript, keys: queueKeys(name),
            arguments: [token, "\(ttl.millisecondsRoundedUp)", "\(waiterLeaseMillis)"])
        return taken.int == 1 ? grant(name, token: token, ttl: ttl, sentAt: sentAt) : nil
    }

    private func grant(_ name: String, token: String, ttl: Duration, sentAt: ContinuousClock.Instant) -> LockGrant {
        LockGrant(name: name, owner: token, fencingToken: nil, ttl: ttl, validUntil: sentAt + ttl - RedisTiming.drift(ttl))
    }

    private func queueKeys(_ name: String) -> [String] {
        [name, "\(name):waiters", "\(name):waiter-leases", "\(name):tickets"]
    }

    /// KEYS: lock, waiters (zset by ticket), waiter leases (hash token → deadline ms), tickets.
    /// ARGV: token, ttl ms, waiter lease ms. Answers 1 when granted, else queues the token.
    static let acquireScript = LuaScript("""
        local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        while head do
          local deadline = tonumber(redis.call('HGET', KEYS[3], head) or '0')
          if deadline > now or head == ARGV[1] then break end
          redis.call('ZREM', KEYS[2], head)
          redis.call('HDEL', KEYS[3], head)
          head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
        end
        if redis.call('EXISTS', KEYS[1]) == 0 and (not head or head == ARGV[1]) then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          if head then
            redis.call('ZREM', KEYS[2], head)
            redis.call('HDEL', KEYS[3], head)
          end
          return 1
        end
        if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
          redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
        end
        redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[3]))
        for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3]) * 5) end
        return 0
        """)

    /// KEYS as acquire's; ARGV: token. Answers 2 if the token holds the lock (granted as it
    /// left), 1 if it left the queue.
    static let leaveScript = LuaScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then return 2 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[3], ARGV[1])
        return 1
        """)

    /// The owner-checked release as Lua source (KEYS: lock, `lock:released`; ARGV: token): for a
    /// tool that releases a lock for the token it was shown (the console's release action), so a
    /// holder that changed meanwhile is left alone and Conclave's waiters still wake.
    public static var ownerCheckedReleaseSource: String { releaseScript.source }

    /// KEYS: lock, release channel; ARGV: token. Answers 1 when released.
    static let releaseScript = LuaScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          redis.call('PUBLISH', KEYS[2], '1')
          return 1
        end
        return 0
        """)

    /// KEYS: lock; ARGV: token, ttl ms. Answers 1 when renewed.
    static let renewScript = LuaScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """)
}

/// The clock drift a Redis lock's validity allows for (Redlock's: 1 % of the ttl plus 2 ms).
enum RedisTiming {
    static func drift(_ ttl: Duration) -> Duration { ttl / 100 + .milliseconds(2) }
}
