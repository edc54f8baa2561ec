/// A lock's queued acquires, in queue order. Granting the head is O(1): the waiters are read from
/// a moving head, and the granted prefix is dropped only once it is half the storage (amortized
/// O(1), as a ring buffer would be, with plain array reads). From `countedFrom` waiters on, each
/// queued request and each session's number of waits are counted as waiters come and go, so "is
/// this request queued already?" (a retried acquire) and "does this session still wait here?" (a
/// release) are O(1), not a scan of up to `CoordinationLimits.waitersPerLockMax` waiters; below
/// it a scan of so few is cheaper than hashing (the counts cost a short queue's hand-off ~9 %).
/// The counts and the head are derived: `==` compares the waiters in order.
public struct LockQueue: RandomAccessCollection, Equatable, Sendable {
    private var storage: [LockWaiter] = []
    private var head = 0
    private var requests: [RequestID: Int] = [:]
    private var sessions: [UInt64: Int] = [:]
    /// `requests` and `sessions` are kept (from `countedFrom` waiters until the queue empties).
    private(set) var counted = false
    static let countedFrom = 16

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count - head }

    public internal(set) subscript(position: Int) -> LockWaiter {
        get { storage[head + position] }
        set {
            forget(storage[head + position])
            storage[head + position] = newValue
            if counted { tally(newValue) }
        }
    }

    public static func == (left: Self, right: Self) -> Bool { left.elementsEqual(right) }

    /// Whether `request` waits in this queue.
    func contains(request: RequestID) -> Bool { counted ? requests[request] != nil : contains { $0.request == request } }

    /// Whether `session` has a wait in this queue.
    func contains(session: UInt64) -> Bool { counted ? sessions[session] != nil : contains { $0.session == session } }

    mutating func append(_ waiter: LockWaiter) {
        storage.append(waiter)
        if counted {
            tally(waiter)
        } else if count >= Self.countedFrom {
            counted = true
            let waiting = storage[head...]
            for queued in waiting { tally(queued) }
        }
    }

    /// Removes and returns the head (the queue must not be empty).
    mutating func removeFirst() -> LockWaiter {
        let waiter = storage[head]
        head += 1
        forget(waiter)
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
            stopCountingIfEmpty()
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return waiter
    }

    mutating func remove(at position: Int) -> LockWaiter {
        let waiter = storage.remove(at: head + position)
        forget(waiter)
        stopCountingIfEmpty()
        return waiter
    }

    /// Removes every waiter for which `leaves` is true, keeping the others' order; O(waiters).
    mutating func removeAll(where leaves: (LockWaiter) -> Bool) {
        var kept: [LockWaiter] = []
        kept.reserveCapacity(endIndex)
        for waiter in storage[head...] {
            if leaves(waiter) { forget(waiter) } else { kept.append(waiter) }
        }
        storage = kept
        head = 0
        stopCountingIfEmpty()
    }

    private mutating func stopCountingIfEmpty() {
        guard counted, isEmpty else { return }
        counted = false
        requests = [:]
        sessions = [:]
    }

    private mutating func tally(_ waiter: LockWaiter) {
        requests[waiter.request, default: 0] += 1
        sessions[waiter.session, default: 0] += 1
    }

    private mutating func forget(_ waiter: LockWaiter) {
        guard counted else { return }
        Self.decrement(&requests, waiter.request)
        Self.decrement(&sessions, waiter.session)
    }

    private static func decrement<Key: Hashable>(_ counts: inout [Key: Int], _ key: Key) {
        guard let count = counts[key] else { return }
        counts[key] = count > 1 ? count - 1 : nil
    }
}
