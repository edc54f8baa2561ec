import ConclaveWire
import Foundation

/// Locks on Conclave's nodes: one session (one connection) per `ConclaveLocker`, kept alive by a
/// thread of its own every sessionTTL/3; `LOCK.TRY` / `LOCK.ACQUIRE` (queued fairly in the log,
/// the connection parked) / `LOCK.RELEASE` / `LOCK.RENEW`, each grant with its fencing token.
/// When the session's node goes away the session moves to the next node (`SESSION.ATTACH`); a
/// session that expired meanwhile has lost its locks, and a new one is opened.
///
/// One session is one holder: its acquisitions of a name are one re-entrant hold, and its calls
/// run one at a time (a parked acquire holds the connection). Use one `ConclaveLocker` per
/// client, as one etcd session or one redis-py connection. A blocking acquire longer than
/// sessionTTL/3 waits in slices, keeping the session alive between them; each slice re-queues
/// at the tail, so only waits within one slice are strictly first-come, first-served.
public final class ConclaveLocker: Locker, @unchecked Sendable {
    struct Session {
        var client: RESPClient?
        var id: Int64?
        var node = 0
        var lastKeepAlive = ContinuousClock.now
    }

    let endpoints: [RESPEndpoint]
    var addresses: [PeerAddress] { endpoints.map(\.address) }
    let sessionTTL: Duration
    let timeoutMillis: Int
    private let session = Guarded(Session())
    private let closed = Guarded(false)

    public let traits = LockerTraits(
        backend: "conclave", fencing: true, fair: true,
        limits: ["one session per Locker: its acquisitions of a name are one re-entrant hold",
                 "a wait longer than a third of the session TTL re-queues between slices"])

    /// `urls`: `redis://host:port` of the nodes' client ports; `sessionTTL` 1 s…1 h.
    public init(_ urls: [String], sessionTTL: Duration = .seconds(10), timeoutMillis: Int = 5_000) throws {
        guard sessionTTL >= .seconds(1), sessionTTL <= .seconds(3_600) else {
            throw ClientError.badArgument("session TTL \(sessionTTL): accepted: 1 s…1 h")
        }
        endpoints = try parseEndpointURLs(urls, scheme: "redis").map { RESPEndpoint($0, timeoutMillis: timeoutMillis) }
        self.sessionTTL = sessionTTL
        self.timeoutMillis = timeoutMillis
        let keeper = Thread { [weak self] in
            while let interval = self?.sessionTTL {
                Thread.sleep(forTimeInterval: Double(interval.millisecondsRoundedUp) / 3_000)
                guard let self, !closed.with({ $0 }) else { return }
                keepAliveIfIdle()
            }
        }
        keeper.name = "conclave-session-keepalive"
        keeper.start()
    }

    deinit { close() }

    /// Closes the session (its locks are released) and stops keeping it alive.
    public func close() {
        guard !closed.with({ let was = $0; $0 = true; return was }) else { return }
        session.with { state in
            if state.id != nil { _ = try? state.client?.call(["SESSION.CLOSE"]) }
            state = Session()
        }
    }

    public func tryLock(_ name: String, ttl: Duration) async throws -> LockGrant? {
        try validate(name, ttl)
        let sentAt = ContinuousClock.now
        let (reply, id) = try session.with { state throws(ClientError) in
            try (command(&state, ["LOCK.TRY", name, "TTL", "\(ttl.millisecondsRoundedUp)"]), state.id ?? 0)
        }
        return try grant(reply, name: name, ttl: ttl, session: id, sentAt: sentAt)
    }

    public func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant? {
        try validate(name, ttl)
        let deadline = ContinuousClock.now + timeout
        let parked = Guarded<RESPClient?>(nil)
        return try await waitOnOwnThread(onCancel: { parked.with { $0?.shutdownConnection() } }) { [self] in
            try session.with { state throws(ClientError) in
                while true {
                    let left = deadline - .now
                    let slice = min(max(left, .zero), sessionTTL / 3)
                    let sentAt = ContinuousClock.now
                    parked.with { $0 = state.client }
                    let reply = try command(&state, ["LOCK.ACQUIRE", name, "\(slice.millisecondsRoundedUp)", "TTL", "\(ttl.millisecondsRoundedUp)"],
                                            readTimeout: slice + .milliseconds(timeoutMillis))
                    parked.with { $0 = nil }
                    if let grant = try grant(reply, name: name, ttl: ttl, session: state.id ?? 0, sentAt: sentAt) { return grant }
                    guard ContinuousClock.now < deadline else { return nil }
                    _ = try command(&state, ["SESSION.KEEPALIVE"])
                    state.lastKeepAlive = .now
                }
            }
        }
    }

    public func unlock(_ grant: LockGrant) async throws {
        try session.with { state throws(ClientError) in
            guard grant.owner == "session:\(state.id ?? 0)" else {
                throw ClientError.notOwner(lock: grant.name, detail: "its session \(grant.owner) ended")
            }
            do throws(ClientError) {
                _ = try command(&state, ["LOCK.RELEASE", grant.name])
            } catch {
                throw Self.ownership(error, grant)
            }
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant { try renewBlocking(grant) }

    public func renewBlocking(_ grant: LockGrant) throws -> LockGrant {
        let sentAt = ContinuousClock.now
        try session.with { state throws(ClientError) in
            guard grant.owner == "session:\(state.id ?? 0)" else {
                throw ClientError.notOwner(lock: grant.name, detail: "its session \(grant.owner) ended")
            }
            do throws(ClientError) {
                _ = try command(&state, ["LOCK.RENEW", grant.name, "\(grant.ttl.millisecondsRoundedUp)"])
            } catch {
                throw Self.ownership(error, grant)
            }
        }
        return LockGrant(name: grant.name, owner: grant.owner, fencingToken: grant.fencingToken, ttl: grant.ttl, validUntil: sentAt + grant.ttl)
    }

    // MARK: The session

    private func validate(_ name: String, _ ttl: Duration) throws(ClientError) {
        guard !name.isEmpty, name.utf8.count <= 256 else { throw ClientError.badArgument("lock name: accepted: 1…256 bytes") }
        guard ttl >= .milliseconds(1) else { throw ClientError.badArgument("ttl \(ttl): accepted: at least 1 ms") }
    }

    private func grant(_ reply: RESPValue, name: String, ttl: Duration, session: Int64, sentAt: ContinuousClock.Instant) throws(ClientError) -> LockGrant? {
        switch reply {
        case .null: return nil
        case .integer(let token):
            return LockGrant(name: name, owner: "session:\(session)", fencingToken: UInt64(token), ttl: ttl, validUntil: sentAt + ttl)
        default: throw ClientError.badReply(endpoint: "conclave", detail: "a lock answers a token or null, got \(reply)")
        }
    }

    private static func ownership(_ error: ClientError, _ grant: LockGrant) -> ClientError {
        if case .refused(_, let message) = error, message.hasPrefix("NOTOWNER") || message.contains("unknown lock") {
            return .notOwner(lock: grant.name, detail: message)
        }
        return error
    }

    private func keepAliveIfIdle() {
        _ = session.withIfFree { state in
            guard state.id != nil, ContinuousClock.now - state.lastKeepAlive >= sessionTTL / 3 else { return }
            if (try? command(&state, ["SESSION.KEEPALIVE"])) != nil { state.lastKeepAlive = .now }
        }
    }

    /// Runs one command in the session: opens or re-attaches it first, re-sends a command that a
    /// lost-lock notice displaced (RESP2 answers the notice instead of running it), retries while
    /// there is no leader, and moves to the next node when this one is unreachable — re-sending
    /// only what is safe to repeat (`repeatable`).
    private func command(_ state: inout Session, _ arguments: [String], readTimeout: Duration? = nil) throws(ClientError) -> RESPValue {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMillis) + (readTimeout ?? .zero)
        var reasons: [String] = []
        while true {
            do throws(ClientError) {
                try ensureSession(&state)
                let reply = try exchange(&state, arguments, readTimeout: readTimeout)
                if case .error(let message) = reply {
                    if message.hasPrefix("LOCKLOST") || message.hasPrefix("LOCKREVOKE") { continue }
                    if message.hasPrefix("NOSESSION") {
                        state.id = nil  // expired: its locks are gone; open a new one
                        if arguments[0] == "LOCK.RELEASE" || arguments[0] == "LOCK.RENEW" {
                            throw ClientError.refused(endpoint: "\(addresses[state.node])", message: "NOTOWNER the session expired")
                        }
                        continue
                    }
                    if ConclaveNodes.retryable(message) {
                        reasons.append(message)
                    } else {
                        throw ClientError.refused(endpoint: "\(addresses[state.node])", message: message)
                    }
                } else {
                    return reply
                }
            } catch {
                switch error {
                case .unreachable(let why):
                    state.client = nil
                    state.node = (state.node + 1) % addresses.count
                    guard Self.repeatable.contains(arguments[0]) else { throw ClientError.unreachable("\(why) (\(arguments[0]) may still take effect)") }
                    reasons.append(why)
                case .refused(_, let message) where ConclaveNodes.retryable(message):
                    reasons.append(message)
                default:
                    throw error
                }
            }
            guard ContinuousClock.now < deadline else {
                throw ClientError.unreachable("Conclave: \(arguments[0]): " + reasons.suffix(3).joined(separator: "; "))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// What may be sent again on the next node when the answer was lost: sending twice does what
    /// sending once does. (`LOCK.TRY` and `LOCK.RELEASE` count re-entrant holds: not these.)
    static let repeatable: Set<String> = ["SESSION.KEEPALIVE", "LOCK.RENEW"]

    /// A connection with the session on it: attaches the session on a new connection, or opens one.
    private func ensureSession(_ state: inout Session) throws(ClientError) {
        var reasons: [String] = []
        for _ in 0..<endpoints.count where state.client == nil {
            do throws(ClientError) {
                state.client = try endpoints[state.node].open()
            } catch {
                guard case .unreachable = error else { throw error }
                reasons.append("\(error)")
                state.node = (state.node + 1) % endpoints.count
                continue
            }
            if let id = state.id, case .error = try exchange(&state, ["SESSION.ATTACH", "\(id)"], readTimeout: nil) {
                state.id = nil  // expired while we were away
            }
        }
        guard state.client != nil else { throw ClientError.unreachable("Conclave: " + reasons.joined(separator: "; ")) }
        guard state.id == nil else { return }
        let opened = try exchange(&state, ["SESSION.OPEN", "\(sessionTTL.millisecondsRoundedUp)"], readTimeout: nil)
        guard case .integer(let id) = opened else {
            if case .error(let message) = opened, ConclaveNodes.retryable(message) {
                throw ClientError.refused(endpoint: "\(addresses[state.node])", message: message)
            }
            throw ClientError.badReply(endpoint: "\(addresses[state.node])", detail: "SESSION.OPEN: \(opened)")
        }
        state.id = id
        state.lastKeepAlive = .now
    }

    private func exchange(_ state: inout Session, _ arguments: [String], readTimeout: Duration?) throws(ClientError) -> RESPValue {
        guard let client = state.client else { throw ClientError.unreachable("\(addresses[state.node]): not connected") }
        do throws(RESPClient.Failure) {
            if let readTimeout { client.setReadTimeout(millis: Int(readTimeout.millisecondsRoundedUp)) }
            defer { if readTimeout != nil { client.setReadTimeout(millis: timeoutMillis) } }
            return try client.call(arguments)
        } catch {
            state.client = nil
            throw ClientError.unreachable("\(addresses[state.node]): \(error)")
        }
    }
}
