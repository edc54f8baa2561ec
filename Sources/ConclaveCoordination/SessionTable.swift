import ConclaveCore

/// Client sessions and their leases, in cluster time.
///
/// Cluster time is not any node's clock: it advances only through `elapsed` entries the leader
/// proposes from its own monotonic clock, so every replica expires the same sessions at the same
/// log index. A failover can extend a lease by at most the gap between the old leader's last
/// `elapsed` entry and the new leader's first (about an election timeout plus one clock
/// interval), and cannot shorten it — the stated bound, instead of etcd's leases that "might never
/// expire" across elections. A leader whose clock runs fast shortens leases by its rate error.
public struct SessionTable: Equatable, Sendable {
    public struct Session: Equatable, Sendable {
        public var id: UInt64
        public var ttlMillis: UInt64
        public var expiresAtMillis: UInt64
    }

    public internal(set) var sessions: [UInt64: Session] = [:]

    public init() {}

    /// Opens a session whose lease runs `ttlMillis` from `nowMillis`.
    mutating func open(_ id: UInt64, ttlMillis: UInt64, nowMillis: UInt64) throws(CoordinationError) {
        try CoordinationLimits.validate(ttlMillis: ttlMillis)
        guard sessions[id] == nil else { throw .sessionExists(id) }
        guard sessions.count < CoordinationLimits.sessionsMax else {
            throw .limitReached("\(CoordinationLimits.sessionsMax) sessions")
        }
        sessions[id] = Session(id: id, ttlMillis: ttlMillis, expiresAtMillis: nowMillis + ttlMillis)
    }

    /// Renews the lease for another full TTL; returns the new expiry.
    mutating func keepAlive(_ id: UInt64, nowMillis: UInt64) throws(CoordinationError) -> UInt64 {
        guard var session = sessions[id] else { throw .unknownSession(id) }
        session.expiresAtMillis = nowMillis + session.ttlMillis
        sessions[id] = session
        return session.expiresAtMillis
    }

    mutating func close(_ id: UInt64) throws(CoordinationError) {
        guard sessions.removeValue(forKey: id) != nil else { throw .unknownSession(id) }
    }

    /// Removes and returns, in ID order, the sessions whose lease ran out by `nowMillis`.
    mutating func expire(nowMillis: UInt64) -> [UInt64] {
        let expired = sessions.values.filter { $0.expiresAtMillis <= nowMillis }.map(\.id).sorted()
        for id in expired { sessions[id] = nil }
        return expired
    }

    public func contains(_ id: UInt64) -> Bool { sessions[id] != nil }
}
