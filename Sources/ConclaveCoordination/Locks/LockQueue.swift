/// A lock's queued acquires, in queue order. Granting the head is O(1): the waiters are read from
/// a moving head, and the granted prefix is dropped only once it is half the storage (amortized
/// O(1), as a ring buffer would be, with plain array reads). Each queued request and each
/// session's number of waits are counted as waiters come and go, so "is this request queued
/// already?" (a retried acquire) and "does this session still wait here?" (a release) are O(1),
/// not a scan of up to `CoordinationLimits.waitersPerLockMax` waiters. The counts and the head
/// are derived: `==` compares the waiters in order.
public struct LockQueue: RandomAccessCollection, Equatable, Sendable {
    private var storage: [LockWaiter] = []
    private var head = 0
    private var requests: [RequestID: Int] = [:]
    private var sessions: [UInt64: Int] = [:]

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count - head }

    public internal(set) subscript(position: Int) -> LockWaiter {
        get { storage[head + position] }
        set {
            forget(storage[head + position])
            storage[head + position] = newValue
            count(newValue)
        }
    }

    public static func == (left: Self, right: Self) -> Bool { left.elementsEqual(right) }

    /// Whether `request` waits in this queue.
    func contains(request: RequestID) -> Bool { requests[request] != nil }

    /// Whether `session` has a wait in this queue.
    func contains(session: UInt64) -> Bool { sessions[session] != nil }

    mutating func append(_ waiter: LockWaiter) {
        storage.append(waiter)
        count(waiter)
    }

    /// Removes and returns the head (the queue must not be empty).
    mutating func removeFirst() -> LockWaiter {
        let waiter = storage[head]
        head += 1
        forget(waiter)
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return waiter
    }

    mutating func remove(at position: Int) -> LockWaiter {
        let waiter = storage.remove(at: head + position)
        forget(waiter)
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
    }

    private mutating func count(_ waiter: LockWaiter) {
        requests[waiter.request, default: 0] += 1
        sessions[waiter.session, default: 0] += 1
    }

    private mutating func forget(_ waiter: LockWaiter) {
        Self.decrement(&requests, waiter.request)
        Self.decrement(&sessions, waiter.session)
    }

    private static func decrement<Key: Hashable>(_ counts: inout [Key: Int], _ key: Key) {
        guard let count = counts[key] else { return }
        counts[key] = count > 1 ? count - 1 : nil
    }
}
