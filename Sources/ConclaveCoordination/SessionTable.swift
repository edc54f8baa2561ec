import ConclaveCore
import ConclaveTimers

/// Client sessions and their leases, in cluster time.
///
/// Cluster time is not any node's clock: it advances only through `elapsed` entries the leader
/// proposes from its own monotonic clock, so every replica expires the same sessions at the same
/// log index. A failover can extend a lease by at most the gap between the old leader's last
/// `elapsed` entry and the new leader's first (about an election timeout plus one clock
/// interval), and cannot shorten it — the stated bound, instead of etcd's leases that "might never
/// expire" across elections. A leader whose clock runs fast shortens leases by its rate error.
///
/// Expiry is indexed: a 4-ary timer heap holds one wake-up per open session (at the expiry it had
/// when the wake-up was set; a keep-alive does not touch the heap — a wake-up that finds the lease
/// renewed is set again for the new expiry). So a clock entry costs O(sessions due · log n), not a
/// scan of every session. The heap is derived state: left out of `==` and of snapshots, rebuilt
/// on restore.
public struct SessionTable: Equatable, Sendable {
    public struct Session: Equatable, Sendable {
        public var id: UInt64
        public var ttlMillis: UInt64
        public var expiresAtMillis: UInt64
    }

    public internal(set) var sessions: [UInt64: Session] = [:]
    private var wakeUps = SessionTable.emptyTimers()

    public init() {}

    public static func == (left: Self, right: Self) -> Bool { left.sessions == right.sessions }

    private static func emptyTimers() -> KeyedTimers {
        do {
            return try KeyedTimers(capacity: CoordinationLimits.sessionsMax)
        } catch {
            preconditionFailure("timers for \(CoordinationLimits.sessionsMax) sessions are a valid configuration: \(error)")
        }
    }

    /// Capacity equals the session limit, so this cannot be full.
    private mutating func setWakeUp(_ session: Session) {
        try? wakeUps.set(session.id, at: session.expiresAtMillis)
    }

    /// Opens a session whose lease runs `ttlMillis` from `nowMillis`.
    mutating func open(_ id: UInt64, ttlMillis: UInt64, nowMillis: UInt64) throws(CoordinationError) {
        try CoordinationLimits.validate(ttlMillis: ttlMillis)
        guard sessions[id] == nil else { throw .sessionExists(id) }
        guard sessions.count < CoordinationLimits.sessionsMax else {
            throw .limitReached("\(CoordinationLimits.sessionsMax) sessions")
        }
        let session = Session(id: id, ttlMillis: ttlMillis, expiresAtMillis: nowMillis + ttlMillis)
        sessions[id] = session
        setWakeUp(session)
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
        wakeUps.remove(id)
    }

    /// Removes and returns, in ID order, the sessions whose lease ran out by `nowMillis`.
    mutating func expire(nowMillis: UInt64) -> [UInt64] {
        var expired: [UInt64] = []
        for id in wakeUps.advance(toMillis: nowMillis) {
            guard let session = sessions[id] else { continue }
            if session.expiresAtMillis <= nowMillis {
                sessions[id] = nil
                expired.append(id)
            } else {
                setWakeUp(session)
            }
        }
        return expired.sorted()
    }

    /// Puts back a session read from a snapshot, with its wake-up.
    mutating func restore(_ session: Session) {
        sessions[session.id] = session
        setWakeUp(session)
    }

    public func contains(_ id: UInt64) -> Bool { sessions[id] != nil }
}
