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
struct LockIndexes: Sendable {
    private var heap: DaryHeap
    private var names: [UInt64: String] = [:]
    private var scheduled: [String: UInt64] = [:]
    private var lastID: UInt64 = 0
    var sessions: [UInt64: Set<String>] = [:]

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
        for waiter in waiters { consider(waiter.deadlineMillis) }
        if unavailableUntilMillis > nowMillis { consider(unavailableUntilMillis) }
        return next
    }
}
