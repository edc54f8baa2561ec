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
    /// The sessions' share of the replica digest (see `StateHasher`).
    private(set) var stateHash = StateHashSum()

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
        store(session, id: id)
        setWakeUp(session)
    }

    /// Renews the lease for another full TTL; returns the new expiry.
    mutating func keepAlive(_ id: UInt64, nowMillis: UInt64) throws(CoordinationError) -> UInt64 {
        guard var session = sessions[id] else { throw .unknownSession(id) }
        session.expiresAtMillis = nowMillis + session.ttlMillis
        store(session, id: id)
        return session.expiresAtMillis
    }

    mutating func close(_ id: UInt64) throws(CoordinationError) {
        guard sessions[id] != nil else { throw .unknownSession(id) }
        store(nil, id: id)
        wakeUps.remove(id)
    }

    /// Removes and returns, in ID order, the sessions whose lease ran out by `nowMillis`.
    mutating func expire(nowMillis: UInt64) -> [UInt64] {
        var expired: [UInt64] = []
        for id in wakeUps.advance(toMillis: nowMillis) {
            guard let session = sessions[id] else { continue }
            if session.expiresAtMillis <= nowMillis {
                store(nil, id: id)
                expired.append(id)
            } else {
                setWakeUp(session)
            }
        }
        return expired.sorted()
    }

    /// Puts back a session read from a snapshot, with its wake-up.
    mutating func restore(_ session: Session) {
        store(session, id: session.id)
        setWakeUp(session)
    }

    /// Every write of a session goes through here, so the digest's share stays in step.
    private mutating func store(_ session: Session?, id: UInt64) {
        let old = session.map { sessions.updateValue($0, forKey: id) } ?? sessions.removeValue(forKey: id)
        stateHash.replace(old?.stateHash, with: session?.stateHash)
    }

    /// The digest's share rebuilt from the sessions (what `stateHash` must equal).
    func recomputedStateHash() -> StateHashSum {
        var sum = StateHashSum()
        for session in sessions.values { sum.replace(nil, with: session.stateHash) }
        return sum
    }

    public func contains(_ id: UInt64) -> Bool { sessions[id] != nil }
}

extension SessionTable.Session {
    var stateHash: UInt64 {
        var hasher = StateHasher(2)
        hasher.combine(id)
        hasher.combine(ttlMillis)
        hasher.combine(expiresAtMillis)
        return hasher.finalized
    }
}
