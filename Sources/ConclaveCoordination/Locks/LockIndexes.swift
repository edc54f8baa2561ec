import ConclaveCore
import ConclaveTimers

/// What `LockTable` keeps beside its locks so that neither a clock entry nor a session's end scans
/// every lock — derived state, rebuilt from the locks on restore, left out of `==` and snapshots:
/// - `deadlines`: a 4-ary timer heap of each lock's next instant at which time alone changes it
///   (a revoke grace or hold TTL running out, a waiter's deadline, a lock-delay ending). Wake-ups
///   are lazy: a lock gets a new one only when its next instant comes earlier than the one set; a
///   wake-up that finds nothing due does nothing (processing a lock with nothing due changes
///   nothing), so every replica, restored or not, acts alike.
/// - `sessions`: per session, the locks it holds or waits on (a superset: names are added when the
///   session is granted or queued, dropped when it releases its last hold there or ends).
/// - `stateHash`: the locks' share of the replica digest (see `StateHasher`); each lock carries
///   its own hash (`LockState.cachedStateHash`) to subtract when it changes.
struct LockIndexes: Sendable {
    private var heap: DaryHeap
    private var names: [UInt64: String] = [:]
    private var scheduled: [String: UInt64] = [:]
    private var lastID: UInt64 = 0
    var sessions: [UInt64: Set<String>] = [:]
    var stateHash = StateHashSum()

    init() {
        do {
            heap = try DaryHeap(arity: 4)
        } catch {
            preconditionFailure("a 4-ary heap is a valid configuration: \(error)")
        }
    }

    /// Notes the lock's next time-driven change after `nowMillis`, if it is earlier than the one set.
    mutating func noteDeadline(of lock: LockState, after nowMillis: UInt64) {
        guard let next = lock.nextTimedChange(after: nowMillis) else { return }
        if let set = scheduled[lock.name], set <= next { return }
        lastID += 1
        guard (try? heap.schedule(timerID: lastID, deadlineMillis: next)) != nil else { return }
        names[lastID] = lock.name
        scheduled[lock.name] = next
    }

    /// Names of the locks with a wake-up due by `nowMillis`, sorted, each once.
    mutating func due(at nowMillis: UInt64) -> [String] {
        var due: Set<String> = []
        for wakeUp in heap.advance(toMillis: nowMillis) {
            guard let name = names.removeValue(forKey: wakeUp.timerID) else { continue }
            if scheduled[name] == wakeUp.deadlineMillis { scheduled[name] = nil }
            due.insert(name)
        }
        return due.sorted()
    }

    mutating func add(_ name: String, to session: UInt64) {
        sessions[session, default: []].insert(name)
    }
}

extension LockState {
    /// Every field but the wait-time samples, of which only the count and the latest are hashed.
    /// O(holders): the waiters come in as their sum, kept as they are queued and leave. (Their
    /// order needs no hashing: waiters join only at the tail, so two replicas whose waiters were
    /// equal as sets at every index hold them in one order.)
    var stateHash: UInt64 { stateHash(nameHash: StateHasher.hash(name)) }

    /// The same, with the name's hash given (a lock keeps it: its name never changes).
    func stateHash(nameHash: UInt64) -> UInt64 {
        var hasher = StateHasher(1)
        hasher.combine(nameHash)
        hasher.combine(UInt64(kind.code))
        hasher.combine(kind.capacity)
        hasher.combine(lastToken)
        hasher.combine(lockDelayMillis)
        hasher.combine(unavailableUntilMillis)
        hasher.combine(acquires)
        hasher.combine(refusals)
        hasher.combine(waits)
        hasher.combine(recentWaitsMillis.count)
        hasher.combine(recentWaitsMillis.last)
        hasher.combine(holders.count)
        for holder in holders {
            hasher.combine(holder.session)
            hasher.combine(holder.mode)
            hasher.combine(holder.holdCount)
            hasher.combine(holder.token)
            hasher.combine(holder.grantedAtMillis)
            hasher.combine(holder.revokeAtMillis)
            hasher.combine(holder.expiresAtMillis)
        }
        hasher.combine(waiters.count)
        hasher.combine(waitersHash.value)
        return hasher.finalized
    }

    /// `waitersHash` rebuilt from the waiters (what it must equal).
    func recomputedWaitersHash() -> StateHashSum {
        var sum = StateHashSum()
        for waiter in waiters { sum.replace(nil, with: waiter.stateHash) }
        return sum
    }

    mutating func appendWaiter(_ waiter: LockWaiter) {
        waiters.append(waiter)
        waitersHash.replace(nil, with: waiter.stateHash)
        waiterDeadlineBound.lower(to: waiter.deadlineMillis)
    }

    mutating func removeWaiter(at position: Int) -> LockWaiter {
        let waiter = waiters.remove(at: position)
        waitersHash.replace(waiter.stateHash, with: nil)
        return waiter
    }

    /// Removes the head of the queue (which must not be empty); O(1).
    mutating func removeFirstWaiter() -> LockWaiter {
        let waiter = waiters.removeFirst()
        waitersHash.replace(waiter.stateHash, with: nil)
        return waiter
    }

    /// (A pass over the queue anyway, so the deadline bound is made exact again.)
    mutating func removeWaiters(where leaves: (LockWaiter) -> Bool) {
        for waiter in waiters where leaves(waiter) { waitersHash.replace(waiter.stateHash, with: nil) }
        waiters.removeAll(where: leaves)
        waiterDeadlineBound = DerivedDeadline()
        for waiter in waiters { waiterDeadlineBound.lower(to: waiter.deadlineMillis) }
    }

    /// The next cluster time after `nowMillis` at which time alone changes this lock; nil if none.
    func nextTimedChange(after nowMillis: UInt64) -> UInt64? {
        var next: UInt64?
        func consider(_ time: UInt64?) {
            guard let time else { return }
            next = min(next ?? time, time)
        }
        for holder in holders {
            consider(holder.revokeAtMillis)
            consider(holder.expiresAtMillis)
        }
        // The waiters' earliest deadline, or a bound below it: a wake-up that comes early finds
        // nothing due, and `advance` makes the bound exact (O(1) here instead of O(waiters)).
        consider(waiterDeadlineBound.millis)
        if unavailableUntilMillis > nowMillis { consider(unavailableUntilMillis) }
        return next
    }
}

extension LockWaiter {
    var stateHash: UInt64 {
        var hasher = StateHasher(18)
        hasher.combine(session)
        hasher.combine(mode)
        hasher.combine(request.client)
        hasher.combine(request.sequence)
        hasher.combine(enqueuedAtMillis)
        hasher.combine(deadlineMillis)
        hasher.combine(ttlMillis)
        return hasher.finalized
    }
}

extension StateHasher {
    mutating func combine(_ mode: LockMode) {
        combine(UInt64(mode.code))
        combine(mode.permitCount)
    }
}
