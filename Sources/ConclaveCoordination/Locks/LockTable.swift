import ConclaveCore

/// Every lock of the cluster, as part of the replicated state machine: pure, deterministic, and
/// applied in log order on every replica.
///
/// Fairness: a new acquire is granted only when nobody is queued (FIFO), except a reentrant
/// acquire by a current holder. When a holder leaves, the queue is granted from its head for as
/// long as the next waiter fits — in the same apply step, so a contended handoff costs one commit,
/// and only the waiter that was granted is told (no herd). Tokens come from one counter that only
/// grows, so every grant's token exceeds every earlier token of its lock.
///
/// Cost: a clock entry touches only the locks with something due (`LockIndexes`), and a session's
/// end only the locks it holds or waits on.
public struct LockTable: Equatable, Sendable {
    public internal(set) var locks: [String: LockState] = [:]
    public internal(set) var lastToken: UInt64 = 0
    var indexes = LockIndexes()

    public init() {}

    public static func == (left: Self, right: Self) -> Bool {
        left.locks == right.locks && left.lastToken == right.lastToken
    }

    /// Every write of a lock goes through here or `drop`, so the deadline index and the digest's
    /// share stay in step.
    private mutating func store(_ lock: inout LockState, named name: String, nowMillis: UInt64) {
        lock.refreshStateHash()
        indexes.stateHash.replace(locks.updateValue(lock, forKey: name)?.cachedStateHash.value, with: lock.cachedStateHash.value)
        indexes.noteDeadline(of: lock, after: nowMillis)
    }

    /// The table lets go of its copy of `name`'s queue, so that the caller's copy — taken from the
    /// table just before, and stored back or dropped after with nothing in between that can throw —
    /// changes the queue in place instead of first copying all of it (copy-on-write): O(1), not
    /// O(waiters), per change. The table's copy keeps its cached hash, which `store` subtracts.
    private mutating func detachQueue(of name: String) {
        locks[name]?.waiters = LockQueue()
    }

    private mutating func drop(named name: String) {
        indexes.stateHash.replace(locks.removeValue(forKey: name)?.cachedStateHash.value, with: nil)
    }

    /// The locks' share of the replica digest: every lock, and the token counter.
    var stateHash: UInt64 { StableHash.fold(indexes.stateHash.value, lastToken) }

    /// The same, rebuilt from the locks (what `stateHash` must equal).
    func recomputedStateHash() -> UInt64 {
        var sum = StateHashSum()
        for lock in locks.values {
            var rebuilt = lock
            rebuilt.waitersHash = lock.recomputedWaitersHash()
            sum.replace(nil, with: rebuilt.stateHash)
        }
        return StableHash.fold(sum.value, lastToken)
    }

    /// Acquires `name`. A try-lock (`waitMillis` nil) is granted or refused at once; a blocking
    /// acquire queues until granted, `waitMillis` passes, it is cancelled or its session ends.
    /// `ttlMillis`, if set, limits the hold itself (SET NX PX): it is lost when the TTL runs out
    /// unless the holder extends it. Durations beyond `CoordinationLimits` are refused.
    public mutating func acquire(
        _ name: String, kind: LockKind, mode: LockMode, session: UInt64, request: RequestID, waitMillis: UInt64?,
        ttlMillis: UInt64? = nil, lockDelayMillis: UInt64, nowMillis: UInt64
    ) throws(CoordinationError) -> AcquireOutcome {
        if let ttlMillis { try CoordinationLimits.validate(ttlMillis: ttlMillis) }
        if let waitMillis { try CoordinationLimits.validate("wait", millis: waitMillis) }
        try CoordinationLimits.validate("lock-delay", millis: lockDelayMillis)
        try CoordinationLimits.validate(name: name)
        try validate(kind: kind, mode: mode)
        var lock = locks[name] ?? LockState(name: name, kind: kind, lockDelayMillis: lockDelayMillis)
        guard lock.kind == kind else { throw .invalidRequest("lock '\(name)' is a \(lock.kind), not a \(kind)") }
        if locks[name] == nil && locks.count >= CoordinationLimits.locksMax {
            throw .limitReached("\(CoordinationLimits.locksMax) locks")
        }
        if lock.waiters.contains(request: request), let position = lock.waiters.firstIndex(where: { $0.request == request }) {
            return .queued(position: position)  // a retry of a request already queued
        }
        // Reentrant: a holder asking again for the same mutex or read/write mode adds a hold.
        // (A semaphore holder asking again takes more permits instead.)
        if mode == .exclusive || mode == .shared,
           let holder = lock.holders.firstIndex(where: { $0.session == session && $0.mode == mode }) {
            lock.holders[holder].holdCount += 1
            lock.acquires += 1
            store(&lock, named: name, nowMillis: nowMillis)
            return .granted(token: lock.holders[holder].token, holdCount: lock.holders[holder].holdCount)
        }
        guard lastToken < .max else { throw .limitReached("fencing tokens: all \(UInt64.max) were granted") }
        if lock.waiters.isEmpty && fits(mode, in: lock, nowMillis: nowMillis) {
            let token = grant(mode, to: session, in: &lock, nowMillis: nowMillis, ttlMillis: ttlMillis)
            store(&lock, named: name, nowMillis: nowMillis)
            return .granted(token: token, holdCount: 1)
        }
        guard let waitMillis else {
            lock.refusals += 1
            store(&lock, named: name, nowMillis: nowMillis)
            return .refused(heldBy: lock.holders.map(\.session))
        }
        guard lock.waiters.count < CoordinationLimits.waitersPerLockMax else {
            throw .limitReached("\(CoordinationLimits.waitersPerLockMax) waiters on lock '\(name)'")
        }
        lock.waits += 1
        indexes.add(name, to: session)
        detachQueue(of: name)
        lock.appendWaiter(LockWaiter(session: session, mode: mode, request: request, enqueuedAtMillis: nowMillis,
                                     deadlineMillis: nowMillis + waitMillis, ttlMillis: ttlMillis))
        store(&lock, named: name, nowMillis: nowMillis)
        return .queued(position: lock.waiters.count - 1)
    }

    private func validate(kind: LockKind, mode: LockMode) throws(CoordinationError) {
        if let problem = Self.modeProblem(kind: kind, mode: mode) { throw .invalidRequest(problem) }
    }

    /// Why `mode` cannot be held or queued on a lock of `kind`; nil when it can.
    static func modeProblem(kind: LockKind, mode: LockMode) -> String? {
        switch (kind, mode) {
        case (.mutex, .exclusive), (.readWrite, .exclusive), (.readWrite, .shared):
            return nil
        case (.semaphore(let permits), .permits(let count)):
            guard (1...CoordinationLimits.permitsMax).contains(permits) else {
                return "a semaphore has 1…\(CoordinationLimits.permitsMax) permits, not \(permits)"
            }
            guard (1...permits).contains(count) else { return "asked for \(count) permits of \(permits)" }
            return nil
        default:
            return "mode \(mode) does not apply to a \(kind)"
        }
    }

    /// Nothing fits once every token is spent: a grant must never wrap the token counter (a
    /// restored snapshot keeps it far below, see `CoordinationLimits.restoredCounterMax`).
    private func fits(_ mode: LockMode, in lock: LockState, nowMillis: UInt64) -> Bool {
        guard nowMillis >= lock.unavailableUntilMillis, lastToken < .max else { return false }
        switch mode {
        case .exclusive: return lock.holders.isEmpty
        case .shared: return lock.holders.allSatisfy { $0.mode == .shared }
        case .permits(let count): return lock.permitsHeld + count <= lock.kind.capacity
        }
    }

    private mutating func grant(_ mode: LockMode, to session: UInt64, in lock: inout LockState, nowMillis: UInt64,
                                ttlMillis: UInt64?) -> UInt64 {
        lastToken += 1
        lock.lastToken = lastToken
        indexes.add(lock.name, to: session)
        lock.acquires += 1
        lock.holders.append(LockHolder(session: session, mode: mode, holdCount: 1, token: lastToken,
                                       grantedAtMillis: nowMillis, revokeAtMillis: nil,
                                       expiresAtMillis: ttlMillis.map { nowMillis + $0 }))
        return lastToken
    }

    /// Extends a TTL-limited hold by `ttlMillis` from now. Only a holder may extend.
    public mutating func extend(_ name: String, session: UInt64, ttlMillis: UInt64, nowMillis: UInt64) throws(CoordinationError) {
        try CoordinationLimits.validate(ttlMillis: ttlMillis)
        try CoordinationLimits.validate(name: name)
        guard var lock = locks[name] else { throw .unknownLock(name) }
        guard let holder = lock.holders.firstIndex(where: { $0.session == session }) else {
            throw .notOwner(lock: name, session: session)
        }
        lock.holders[holder].expiresAtMillis = nowMillis + ttlMillis
        store(&lock, named: name, nowMillis: nowMillis)
    }

    /// Releases one hold; the lock frees at a hold count of zero and the queue moves.
    /// Only a holder may release (compare-owner-then-act, atomically).
    public mutating func release(_ name: String, session: UInt64, nowMillis: UInt64) throws(CoordinationError) -> [LockEvent] {
        try CoordinationLimits.validate(name: name)
        guard var lock = locks[name] else { throw .unknownLock(name) }
        guard let holder = lock.holders.firstIndex(where: { $0.session == session }) else {
            throw .notOwner(lock: name, session: session)
        }
        lock.holders[holder].holdCount -= 1
        if lock.holders[holder].holdCount == 0 {
            lock.holders.remove(at: holder)
            if !lock.holders.contains(where: { $0.session == session }) && !lock.waiters.contains(session: session) {
                indexes.sessions[session]?.remove(name)
            }
        }
        detachQueue(of: name)
        return grantWaitersAndStore(&lock, named: name, nowMillis: nowMillis)
    }

    /// Grants `lock`'s queued acquires from the head while they fit, then stores it, or drops it
    /// when nothing holds, waits or delays it. `lock` is the caller's copy, its queue detached
    /// from the table's (`detachQueue`) and no other copy alive, so granting the head is O(1)
    /// (storing the caller's copy first and granting from a fresh one made the first grant copy
    /// the whole queue while the caller's copy lived).
    private mutating func grantWaitersAndStore(_ lock: inout LockState, named name: String, nowMillis: UInt64) -> [LockEvent] {
        var events: [LockEvent] = []
        while let next = lock.waiters.first, fits(next.mode, in: lock, nowMillis: nowMillis) {
            _ = lock.removeFirstWaiter()
            lock.recordWait(nowMillis - next.enqueuedAtMillis)
            let token = grant(next.mode, to: next.session, in: &lock, nowMillis: nowMillis, ttlMillis: next.ttlMillis)
            events.append(.granted(lock: name, session: next.session, request: next.request, token: token))
        }
        if lock.holders.isEmpty && lock.waiters.isEmpty && nowMillis >= lock.unavailableUntilMillis {
            drop(named: name)
        } else {
            store(&lock, named: name, nowMillis: nowMillis)
        }
        return events
    }

    /// Everything `session` owns goes at once: its holds (the lock-delay starts on each) and its
    /// queued waits.
    mutating func sessionEnded(_ session: UInt64, reason: LockEvent.LossReason, nowMillis: UInt64) -> [LockEvent] {
        var events: [LockEvent] = []
        for name in (indexes.sessions.removeValue(forKey: session) ?? []).sorted() {
            // The index is a superset on a replica that applied the log (a wait that ended by its
            // deadline or a cancel leaves the name) and exact on one restored from a snapshot: act
            // only where the session holds or waits, so both grant alike (seed 32 of the lock mix).
            guard var lock = locks[name],
                  lock.holders.contains(where: { $0.session == session }) || lock.waiters.contains(session: session)
            else { continue }
            for holder in lock.holders where holder.session == session {
                events.append(.lost(lock: name, session: session, token: holder.token, reason: reason))
                lock.unavailableUntilMillis = max(lock.unavailableUntilMillis, nowMillis + lock.lockDelayMillis)
            }
            for waiter in lock.waiters where waiter.session == session {
                events.append(.waitEnded(lock: name, session: session, request: waiter.request, reason: reason))
            }
            lock.holders.removeAll { $0.session == session }
            detachQueue(of: name)
            lock.removeWaiters { $0.session == session }
            events += grantWaitersAndStore(&lock, named: name, nowMillis: nowMillis)
        }
        return events
    }

    /// Cluster time moved to `nowMillis`: revoked holders past their grace go, waiters past their
    /// deadline give up, and locks whose lock-delay ended grant their queue.
    mutating func advance(to nowMillis: UInt64) -> [LockEvent] {
        var events: [LockEvent] = []
        for name in indexes.due(at: nowMillis) {
            guard var lock = locks[name] else { continue }
            for holder in lock.holders where (holder.revokeAtMillis ?? .max) <= nowMillis {
                events.append(.lost(lock: name, session: holder.session, token: holder.token, reason: .revoked))
            }
            for holder in lock.holders where (holder.expiresAtMillis ?? .max) <= nowMillis && (holder.revokeAtMillis ?? .max) > nowMillis {
                events.append(.lost(lock: name, session: holder.session, token: holder.token, reason: .ttlExpired))
            }
            lock.holders.removeAll { ($0.revokeAtMillis ?? .max) <= nowMillis || ($0.expiresAtMillis ?? .max) <= nowMillis }
            for waiter in lock.waiters where (waiter.deadlineMillis ?? .max) <= nowMillis {
                events.append(.waitEnded(lock: name, session: waiter.session, request: waiter.request, reason: .deadlinePassed))
            }
            detachQueue(of: name)
            lock.removeWaiters { ($0.deadlineMillis ?? .max) <= nowMillis }
            events += grantWaitersAndStore(&lock, named: name, nowMillis: nowMillis)
        }
        return events
    }

    /// Asks every holder of `name` to let go within `graceMillis`; past it they are forced out.
    public mutating func revoke(_ name: String, graceMillis: UInt64, nowMillis: UInt64) throws(CoordinationError) -> [LockEvent] {
        try CoordinationLimits.validate("revocation grace", millis: graceMillis)
        try CoordinationLimits.validate(name: name)
        guard var lock = locks[name] else { throw .unknownLock(name) }
        var events: [LockEvent] = []
        for position in lock.holders.indices where lock.holders[position].revokeAtMillis == nil {
            let deadline = nowMillis + graceMillis
            lock.holders[position].revokeAtMillis = deadline
            events.append(.revokeRequested(lock: name, session: lock.holders[position].session, deadlineMillis: deadline))
        }
        store(&lock, named: name, nowMillis: nowMillis)
        return events
    }

    /// Withdraws a queued acquire.
    public mutating func cancel(_ name: String, request: RequestID, nowMillis: UInt64) throws(CoordinationError) -> [LockEvent] {
        try CoordinationLimits.validate(name: name)
        guard var lock = locks[name], let position = lock.waiters.firstIndex(where: { $0.request == request }) else {
            throw .invalidRequest("no queued acquire \(request.client)#\(request.sequence) on '\(name)'")
        }
        detachQueue(of: name)
        let waiter = lock.removeWaiter(at: position)
        return [.waitEnded(lock: name, session: waiter.session, request: request, reason: .cancelled)]
            + grantWaitersAndStore(&lock, named: name, nowMillis: nowMillis)
    }
}
