import ConclaveWire

/// IDs, throttles, delay queues and config on one Redis instance, each a script or a command on
/// keys under `namespace` (default `conclave`). One instance's guarantees: a failover to a
/// replica that missed a write can repeat an ID or lose a config change.
public final class RedisServices: IDSource, Throttle, DelayQueue, ConfigStore, @unchecked Sendable {
    let endpoint: RESPEndpoint
    let namespace: String
    /// History a config watch can resume from (entries of the change stream).
    public static let configHistoryMax = 10_000

    public init(_ url: String, namespace: String = "conclave", timeoutMillis: Int = 5_000) throws {
        endpoint = RESPEndpoint(try parseEndpointURLs([url], scheme: "redis")[0], timeoutMillis: timeoutMillis)
        self.namespace = namespace
    }

    // MARK: IDs: INCRBY on one counter

    public func next(_ count: Int) async throws -> [UInt64] {
        guard (1...1_000).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…1000") }
        guard let last = try endpoint.call(["INCRBY", "\(namespace):ids", "\(count)"]).int, last >= count else {
            throw ClientError.badReply(endpoint: "\(endpoint.address)", detail: "INCRBY did not answer a count")
        }
        return (0..<count).map { UInt64(last) - UInt64(count - 1) + UInt64($0) }
    }

    // MARK: Throttle: GCRA in a script on the server's clock (redis-cell's answer)

    public func take(_ key: String, burst: Int, count: Int, period: Duration, quantity: Int = 1) async throws -> ThrottleDecision {
        try ThrottleArguments.validate(burst: burst, count: count, period: period, quantity: quantity)
        let reply = try endpoint.evaluate(Self.gcraScript, keys: ["\(namespace):throttle:\(key)"],
                                          arguments: ["\(burst)", "\(count)", "\(period.millisecondsRoundedUp)", "\(quantity)"])
        return try ThrottleArguments.decision(reply, from: "\(endpoint.address)")
    }

    /// KEYS: the throttle's TAT; ARGV: max burst, count, period ms, quantity. redis-cell's array.
    static let gcraScript = LuaScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        local burst, count, period, quantity = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local interval = period / count
        local tolerance = interval * (burst + 1)
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        if tat < now then tat = now end
        local newTat = tat + interval * quantity
        local allowAt = newTat - tolerance
        if now < allowAt then
          local remaining = math.max(0, math.floor((now - (tat - tolerance)) / interval))
          return {1, burst + 1, remaining, math.ceil((allowAt - now) / 1000), math.ceil((tat - now) / 1000)}
        end
        redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.max(1, math.ceil(newTat - now)))
        local remaining = math.max(0, math.floor((now - (newTat - tolerance)) / interval))
        return {0, burst + 1, remaining, -1, math.ceil((newTat - now) / 1000)}
        """)

    // MARK: Delay queue: one sorted set by the time a message is visible

    public func schedule(_ queue: String, payload: String, after delay: Duration) async throws -> String {
        guard delay >= .zero else { throw ClientError.badArgument("delay \(delay): accepted: 0 or more") }
        let reply = try endpoint.evaluate(Self.scheduleScript, keys: queueKeys(queue), arguments: [payload, "\(delay.millisecondsRoundedUp)"])
        guard let id = reply.int else { throw ClientError.badReply(endpoint: "\(endpoint.address)", detail: "schedule: \(reply)") }
        return "\(id)"
    }

    public func pop(_ queue: String, count: Int, visibility: Duration) async throws -> [DelayedMessage] {
        guard (1...1_000).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…1000") }
        let reply = try endpoint.evaluate(Self.popScript, keys: queueKeys(queue), arguments: ["\(count)", "\(visibility.millisecondsRoundedUp)"])
        let flat = reply.elements ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).map { DelayedMessage(id: flat[$0].text ?? "", payload: flat[$0 + 1].text ?? "") }
    }

    public func ack(_ queue: String, _ message: DelayedMessage) async throws {
        let removed = try endpoint.evaluate(Self.ackScript, keys: queueKeys(queue), arguments: [message.id])
        guard removed.int == 1 else { throw ClientError.refused(endpoint: "\(endpoint.address)", message: "message \(message.id) is not in queue '\(queue)' (acknowledged already?)") }
    }

    private func queueKeys(_ queue: String) -> [String] {
        ["\(namespace):queue:\(queue):due", "\(namespace):queue:\(queue):payloads", "\(namespace):queue:\(queue):ids"]
    }

    static let serverMillis = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    static let scheduleScript = LuaScript(serverMillis + """
        local id = redis.call('INCR', KEYS[3])
        redis.call('HSET', KEYS[2], id, ARGV[1])
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
        return id
        """)
    static let popScript = LuaScript(serverMillis + """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
        local out = {}
        for _, id in ipairs(due) do
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
          table.insert(out, id)
          table.insert(out, redis.call('HGET', KEYS[2], id) or '')
        end
        return out
        """)
    static let ackScript = LuaScript("""
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('HDEL', KEYS[2], ARGV[1]) return 1 end
        return 0
        """)

    // MARK: Config: a hash of values, a revision counter and a stream of changes to resume from

    public func get(_ key: String) async throws -> (value: String, revision: UInt64)? {
        let reply = try endpoint.call(["HMGET", "\(namespace):config", key, "rev:\(key)"])
        guard let pair = reply.elements, pair.count == 2, let value = pair[0].text, let revision = pair[1].int else { return nil }
        return (value, UInt64(revision))
    }

    public func set(_ key: String, _ value: String) async throws -> UInt64 {
        try change(key, value)
    }

    public func delete(_ key: String) async throws -> UInt64 {
        try change(key, nil)
    }

    private func change(_ key: String, _ value: String?) throws(ClientError) -> UInt64 {
        let reply = try endpoint.evaluate(Self.changeScript, keys: configKeys,
                                          arguments: [key, value ?? "", value == nil ? "0" : "1", "\(Self.configHistoryMax)"])
        guard let revision = reply.int else { throw ClientError.badReply(endpoint: "\(endpoint.address)", detail: "config change: \(reply)") }
        return UInt64(revision)
    }

    var configKeys: [String] { ["\(namespace):config", "\(namespace):config:revision", "\(namespace):config:changes"] }

    /// KEYS: values hash, revision counter, change stream; ARGV: key, value, is-set, history max.
    static let changeScript = LuaScript("""
        local revision = redis.call('INCR', KEYS[2])
        if ARGV[3] == '1' then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'rev:' .. ARGV[1], revision)
          redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], revision .. '-1', 'key', ARGV[1], 'value', ARGV[2])
        else
          redis.call('HDEL', KEYS[1], ARGV[1], 'rev:' .. ARGV[1])
          redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], revision .. '-1', 'key', ARGV[1])
        end
        return revision
        """)

    public func watch(_ prefix: String, after revision: UInt64) -> AsyncThrowingStream<ConfigEvent, Error> {
        let endpoint = endpoint
        let changes = configKeys[2]
        let revisionKey = configKeys[1]
        return fedStream { feed, yield in
            let client = try endpoint.open(timeoutMillis: 5_000)
            feed.reading { client.shutdownConnection() }
            var last = revision
            if last == 0 { last = UInt64(try endpoint.call(["GET", revisionKey]).int ?? 0) }
            // Resuming: the oldest change kept must follow `last`, or some are gone.
            if revision > 0, let first = try endpoint.call(["XRANGE", changes, "-", "+", "COUNT", "1"]).elements?.first?.elements?.first?.text,
               let oldest = UInt64(first.split(separator: "-")[0]), oldest > last + 1 {
                throw ClientError.compacted(revision: last, oldest: oldest)
            }
            while !feed.stopped {
                let reply: RESPValue
                do throws(RESPClient.Failure) {
                    reply = try client.call(["XREAD", "COUNT", "100", "BLOCK", "1000", "STREAMS", changes, "\(last)-1"])
                } catch {
                    if feed.stopped { return }
                    throw ClientError.unreachable("\(endpoint.address): \(error)")
                }
                for entry in reply.elements?.first?.elements?.dropFirst().first?.elements ?? [] {
                    guard let parts = entry.elements, parts.count == 2, let id = parts[0].text,
                          let changed = UInt64(id.split(separator: "-")[0]), let fields = parts[1].elements else { continue }
                    last = changed
                    var values: [String: String] = [:]
                    for index in stride(from: 0, to: fields.count - 1, by: 2) {
                        values[fields[index].text ?? ""] = fields[index + 1].text
                    }
                    guard let key = values["key"], key.hasPrefix(prefix) else { continue }
                    yield(ConfigEvent(key: key, value: values["value"], revision: changed))
                }
            }
        }
    }
}
