import ConclaveTimers

/// The expiry instants of `KVStateMachine.expiries` as a 4-ary timer heap, so that a clock entry
/// finds the keys due without scanning every key: O(log n) to set or clear a key's expiry,
/// O(log n) per key purged.
///
/// Derived state: rebuilt from `expiries` on restore, left out of `==` and snapshots. Each key has
/// at most one timer (an old one is cancelled when the expiry changes), so the heap holds exactly
/// the keys with a TTL and stays as bounded as they are. Timer IDs and heap order may differ
/// between a replica that applied the entries and one restored from a snapshot; what `due`
/// returns — the keys whose instant has come — does not.
struct KVExpiryIndex: Sendable {
    private struct Timer: Sendable {
        var id: UInt64
        var handle: TimerHandle
    }

    private var heap: DaryHeap
    private var keysByTimer: [UInt64: String] = [:]
    private var timers: [String: Timer] = [:]
    private var lastTimerID: UInt64 = 0

    /// `capacity` is clamped into what a timer heap accepts (1 … `TimerQueueLimits.capacityMax`).
    init(capacity: Int) {
        let capacity = min(max(1, capacity), TimerQueueLimits.capacityMax)
        do {
            heap = try DaryHeap(arity: 4, capacity: capacity)
        } catch {
            preconditionFailure("a 4-ary heap of clamped capacity is a valid configuration: \(error)")
        }
    }

    /// Keys with an expiry scheduled.
    var count: Int { timers.count }

    /// The earliest instant scheduled (O(1)); nil when none is.
    var nextExpiryMillis: UInt64? { heap.nextDeadlineMillis }

    /// Sets (or with nil clears) the instant `key` expires at. The caller keeps the keys with a
    /// TTL within the capacity; past it the key is left unscheduled (it still reads as absent
    /// once due, but is not purged until touched).
    mutating func schedule(_ key: String, expiresAtMillis: UInt64?) {
        if let old = timers.removeValue(forKey: key) {
            _ = heap.cancel(old.handle)
            keysByTimer[old.id] = nil
        }
        guard let expiresAtMillis else { return }
        lastTimerID += 1
        guard let handle = try? heap.schedule(timerID: lastTimerID, deadlineMillis: expiresAtMillis) else { return }
        timers[key] = Timer(id: lastTimerID, handle: handle)
        keysByTimer[lastTimerID] = key
    }

    /// The keys whose instant is at or before `nowMillis`, each taken out of the index.
    mutating func due(at nowMillis: UInt64) -> [String] {
        guard let next = heap.nextDeadlineMillis, next <= nowMillis else { return [] }
        var keys: [String] = []
        for fired in heap.advance(toMillis: nowMillis) {
            guard let key = keysByTimer.removeValue(forKey: fired.timerID) else { continue }
            timers[key] = nil
            keys.append(key)
        }
        return keys
    }
}

extension KVExpiryIndex: Equatable {
    /// Derived from `expiries`, which `==` compares: two indexes of equal expiries are equal.
    static func == (_: Self, _: Self) -> Bool { true }
}
