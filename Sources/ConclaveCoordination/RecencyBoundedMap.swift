/// A map that holds at most `capacity` keys and forgets the least recently written first: the
/// bound on state that must not grow without limit but may lose its oldest entries (answers kept
/// for retries of clients without a session, fences of keys not written for a long time).
///
/// Recency is an append-only order of (key, stamp) with lazy deletion: writing a key appends it
/// with a fresh stamp, and older entries of that key go stale (their stamp no longer matches).
/// Stale entries are dropped when they outnumber the live ones, so every operation is O(1)
/// amortized and the order holds at most about twice the live keys. Only the relative order of
/// live keys is state: it is what snapshots keep (`recencyOrder`) and what `==` compares.
/// `stateHash` sums `entryHash` over the entries (the map's share of the replica digest).
struct RecencyBoundedMap<Key: Hashable & Sendable, Value: Equatable & Sendable>: Equatable, Sendable {
    let capacity: Int
    private let entryHash: @Sendable (Key, Value) -> UInt64
    private var entries: [Key: (value: Value, stamp: UInt64)] = [:]
    private var order: [(key: Key, stamp: UInt64)] = []
    private var head = 0
    private var lastStamp: UInt64 = 0
    private(set) var stateHash = StateHashSum()

    init(capacity: Int, entryHash: @escaping @Sendable (Key, Value) -> UInt64) {
        precondition(capacity > 0, "a recency-bounded map holds at least one key")
        self.capacity = capacity
        self.entryHash = entryHash
    }

    static func == (left: Self, right: Self) -> Bool {
        left.capacity == right.capacity && left.recencyOrder.elementsEqual(right.recencyOrder) { $0.key == $1.key && $0.value == $1.value }
    }

    var count: Int { entries.count }

    /// Entries the order holds, stale ones included (at most about twice `count`).
    var storedOrderCount: Int { order.count - head }

    subscript(key: Key) -> Value? { entries[key]?.value }

    /// Every live key and value, least recently written first.
    var recencyOrder: [(key: Key, value: Value)] {
        order[head...].compactMap { key, stamp in
            guard let entry = entries[key], entry.stamp == stamp else { return nil }
            return (key, entry.value)
        }
    }

    /// The values by key, in no order.
    var values: [Key: Value] { entries.mapValues(\.value) }

    /// Writes `value` as the most recent; returns the keys forgotten to stay within `capacity`.
    @discardableResult
    mutating func set(_ key: Key, _ value: Value) -> [Key] {
        lastStamp += 1
        let old = entries.updateValue((value, lastStamp), forKey: key)
        stateHash.replace(old.map { entryHash(key, $0.value) }, with: entryHash(key, value))
        order.append((key, lastStamp))
        var forgotten: [Key] = []
        while entries.count > capacity, head < order.count {
            let oldest = order[head]
            head += 1
            if let entry = entries[oldest.key], entry.stamp == oldest.stamp {
                entries[oldest.key] = nil
                stateHash.replace(entryHash(oldest.key, entry.value), with: nil)
                forgotten.append(oldest.key)
            }
        }
        compactIfStale()
        return forgotten
    }

    /// Changes a key's value without making it more recent (nothing if absent).
    mutating func update(_ key: Key, _ value: Value) {
        guard let old = entries[key]?.value else { return }
        entries[key]?.value = value
        stateHash.replace(entryHash(key, old), with: entryHash(key, value))
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let removed = entries.removeValue(forKey: key)?.value else { return nil }
        stateHash.replace(entryHash(key, removed), with: nil)
        compactIfStale()
        return removed
    }

    /// `stateHash` rebuilt from the entries (what it must equal).
    func recomputedStateHash() -> StateHashSum {
        var sum = StateHashSum()
        for (key, entry) in entries { sum.replace(nil, with: entryHash(key, entry.value)) }
        return sum
    }

    /// Drops the consumed prefix and stale entries once they are most of the order.
    private mutating func compactIfStale() {
        let held = order.count - head
        guard held > 64, held > 2 * entries.count else {
            if head > 1_024, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
            return
        }
        order = order[head...].filter { entries[$0.key]?.stamp == $0.stamp }
        head = 0
    }
}
