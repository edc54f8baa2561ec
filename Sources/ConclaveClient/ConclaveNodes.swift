import ConclaveWire
import Foundation

/// Conclave's nodes over RESP, for calls that need no session: each call goes to the node that
/// answered last and moves on to the next when one is unreachable; `CLUSTERDOWN` (no leader yet)
/// is retried with a short pause until the call timeout.
final class ConclaveNodes: @unchecked Sendable {
    let endpoints: [RESPEndpoint]
    let timeoutMillis: Int
    private let current = Guarded(0)

    init(_ urls: [String], timeoutMillis: Int) throws(ClientError) {
        endpoints = try parseEndpointURLs(urls, scheme: "redis").map { RESPEndpoint($0, timeoutMillis: timeoutMillis) }
        self.timeoutMillis = timeoutMillis
    }

    var names: String { endpoints.map { "\($0.address)" }.joined(separator: ",") }

    /// Sends the command; `idempotent` commands move on to another node when one is unreachable
    /// (others might have taken effect there: their error says the outcome is unknown).
    func call(_ arguments: [String], idempotent: Bool) throws(ClientError) -> RESPValue {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMillis)
        var reasons: [String] = []
        while true {
            let index = current.with { $0 }
            do throws(ClientError) {
                return try endpoints[index].call(arguments)
            } catch {
                switch error {
                case .refused(_, let message) where Self.retryable(message):
                    reasons.append(message)
                case .unreachable(let why):
                    current.with { $0 = (index + 1) % endpoints.count }
                    guard idempotent else { throw ClientError.unreachable("\(why) (\(arguments[0]) may still take effect)") }
                    reasons.append(why)
                default:
                    throw error
                }
            }
            guard ContinuousClock.now < deadline else {
                throw ClientError.unreachable("Conclave \(names): \(reasons.suffix(3).joined(separator: "; "))")
            }
            Thread.sleep(forTimeInterval: reasons.count < endpoints.count ? 0 : 0.05)
        }
    }

    /// No leader yet, or a node between roles: worth asking again.
    static func retryable(_ message: String) -> Bool {
        message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("TRYAGAIN") || message.contains("no leader")
    }
}

/// IDs, throttles, delay queues and config on Conclave's nodes: each a native command
/// (`ID.NEXT`, `THROTTLE`, `SCHED.ADD … QUEUE`, `QUEUE.POP` / `QUEUE.ACK`, `CFG.*`).
public final class ConclaveServices: IDSource, Throttle, DelayQueue, ConfigStore, @unchecked Sendable {
    let nodes: ConclaveNodes

    /// `urls`: `redis://host:port` of the nodes' client ports.
    public init(_ urls: [String], timeoutMillis: Int = 5_000) throws {
        nodes = try ConclaveNodes(urls, timeoutMillis: timeoutMillis)
    }

    public func next(_ count: Int) async throws -> [UInt64] {
        guard (1...1_000).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…1000") }
        let reply = try nodes.call(["ID.NEXT", "\(count)"], idempotent: true)
        guard let ids = reply.elements?.compactMap(\.int), ids.count == count else {
            throw ClientError.badReply(endpoint: nodes.names, detail: "ID.NEXT: \(reply)")
        }
        return ids.map { UInt64($0) }
    }

    public func take(_ key: String, burst: Int, count: Int, period: Duration, quantity: Int = 1) async throws -> ThrottleDecision {
        try ThrottleArguments.validate(burst: burst, count: count, period: period, quantity: quantity)
        guard period.components.attoseconds == 0 else {
            throw ClientError.badArgument("period \(period): Conclave's THROTTLE takes whole seconds (as redis-cell)")
        }
        let reply = try nodes.call(["THROTTLE", key, "\(burst)", "\(count)", "\(period.components.seconds)", "\(quantity)"], idempotent: false)
        return try ThrottleArguments.decision(reply, from: nodes.names)
    }

    public func schedule(_ queue: String, payload: String, after delay: Duration) async throws -> String {
        let name = "\(queue)-\(randomToken().prefix(12))"
        let reply = try nodes.call(["SCHED.ADD", name, "AFTER", "\(max(0, delay.millisecondsRoundedUp))", "QUEUE", queue,
                                    "PAYLOAD", payload, "KEY", name], idempotent: false)
        guard let id = reply.int else { throw ClientError.badReply(endpoint: nodes.names, detail: "SCHED.ADD: \(reply)") }
        return "\(id)"
    }

    public func pop(_ queue: String, count: Int, visibility: Duration) async throws -> [DelayedMessage] {
        guard (1...1_000).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…1000") }
        let reply = try nodes.call(["QUEUE.POP", queue, "\(count)", "\(visibility.millisecondsRoundedUp)"], idempotent: false)
        return (reply.elements ?? []).compactMap { message in
            guard let parts = message.elements, parts.count == 3, let id = parts[0].text ?? parts[0].int.map({ "\($0)" }) else { return nil }
            return DelayedMessage(id: id, payload: parts[2].text ?? "")
        }
    }

    public func ack(_ queue: String, _ message: DelayedMessage) async throws {
        _ = try nodes.call(["QUEUE.ACK", queue, message.id], idempotent: false)
    }

    public func get(_ key: String) async throws -> (value: String, revision: UInt64)? {
        let reply = try nodes.call(["CFG.GET", key], idempotent: true)
        guard let pair = reply.elements, pair.count == 2, let revision = pair[0].int, let value = pair[1].text else { return nil }
        return (value, UInt64(revision))
    }

    public func set(_ key: String, _ value: String) async throws -> UInt64 {
        try revision(nodes.call(["CFG.SET", key, value], idempotent: false))
    }

    public func delete(_ key: String) async throws -> UInt64 {
        try revision(nodes.call(["CFG.DEL", key], idempotent: false))
    }

    private func revision(_ reply: RESPValue) throws(ClientError) -> UInt64 {
        guard let revision = reply.int else { throw ClientError.badReply(endpoint: nodes.names, detail: "a revision, got \(reply)") }
        return UInt64(revision)
    }

    /// A `CFG.WATCH` stream on a connection of its own; when its node goes away the watch resumes
    /// on the next node from the last revision seen (the nodes keep the history), giving up after
    /// the call timeout without any node answering.
    public func watch(_ prefix: String, after revision: UInt64) -> AsyncThrowingStream<ConfigEvent, Error> {
        let nodes = nodes
        return fedStream { feed, yield in
            var last = revision
            var index = 0
            var failingSince: ContinuousClock.Instant?
            while !feed.stopped {
                do throws(ClientError) {
                    try Self.follow(prefix, from: &last, on: nodes.endpoints[index], feed: feed) {
                        failingSince = nil
                        yield($0)
                    }
                } catch {
                    guard case .unreachable = error, !feed.stopped else { throw error }
                    let since = failingSince ?? .now
                    failingSince = since
                    guard ContinuousClock.now - since < .milliseconds(nodes.timeoutMillis) else { throw error }
                    index = (index + 1) % nodes.endpoints.count
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
        }
    }

    /// Follows one node's watch stream until it fails or the watch is stopped.
    private static func follow(
        _ prefix: String, from last: inout UInt64, on endpoint: RESPEndpoint, feed: StreamFeed, _ yield: (ConfigEvent) -> Void
    ) throws(ClientError) {
        let client = try endpoint.open(timeoutMillis: 1_000)
        feed.reading { client.shutdownConnection() }
        var first = true
        do {
            var arguments = ["CFG.WATCH", prefix]
            if last > 0 { arguments.append("\(last)") }
            try client.send([arguments])
            while !feed.stopped {
                guard let message = try client.nextOrTimeout() else { continue }
                if case .error(let text) = message {
                    if ConclaveNodes.retryable(text) { throw ClientError.unreachable("\(endpoint.address): \(text)") }
                    throw ClientError.refused(endpoint: "\(endpoint.address)", message: text)
                }
                guard let parts = message.elements, let kind = parts.first?.text else { continue }
                switch kind {
                case "cfg.watch" where first:
                    first = false
                    if last == 0, parts.count >= 3, let now = parts[2].int { last = UInt64(now) }
                case "cfg.event":
                    guard parts.count >= 4, let key = parts[1].text, let changed = parts[3].int else { continue }
                    last = UInt64(changed)
                    yield(ConfigEvent(key: key, value: parts[2].text, revision: UInt64(changed)))
                case "cfg.compacted":
                    throw ClientError.compacted(revision: last, oldest: UInt64(parts.dropFirst().compactMap(\.int).last ?? 0))
                default:
                    continue
                }
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.unreachable("\(endpoint.address): \(error)")
        }
    }
}
