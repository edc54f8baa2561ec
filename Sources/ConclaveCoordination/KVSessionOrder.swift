/// The KV client sessions from least to most recently written, so that a store at
/// `sessionsMax` forgets its oldest session in O(1) amortized instead of scanning all of them
/// on every write from a new client (10,000 sessions: every new connection's first write paid a
/// full scan, on every replica).
///
/// An append-only order of (client, last index) with lazy deletion, as `RecencyBoundedMap`
/// keeps: a write appends the client with the index of its entry, and earlier places of that
/// client go stale (their index is no longer the session's). Stale places are dropped when they
/// outnumber the live ones, so the order holds at most about twice the sessions.
///
/// Derived state: rebuilt from `sessions` on restore (sorted by last index, which is what the
/// order is), left out of `==` and snapshots. The session forgotten is the one with the smallest
/// last index — on a replica that applied every entry and on one restored from a snapshot alike.
struct KVSessionOrder: Sendable {
    private var order: [(client: UInt64, index: UInt64)] = []
    private var head = 0

    /// Places held, stale ones included.
    var storedCount: Int { order.count - head }

    init() {}

    /// The order of `sessions` as written: by last index (then client, for equal indexes).
    init(_ sessions: [UInt64: KVStateMachine.Session]) {
        order = sessions.map { ($0.key, $0.value.lastIndex) }.sorted { ($0.index, $0.client) < ($1.index, $1.client) }
    }

    /// `client` was just written at `index` (the newest index of all).
    mutating func wrote(_ client: UInt64, at index: UInt64) {
        order.append((client, index))
    }

    /// Takes out and returns the least recently written live session of `sessions`.
    mutating func takeOldest(of sessions: [UInt64: KVStateMachine.Session]) -> UInt64? {
        while head < order.count {
            let place = order[head]
            head += 1
            if sessions[place.client]?.lastIndex == place.index { return place.client }
        }
        return nil
    }

    /// Drops the taken prefix and the stale places once they are most of the order.
    mutating func compact(live sessions: [UInt64: KVStateMachine.Session]) {
        let held = order.count - head
        if held > 64, held > 2 * sessions.count {
            order = order[head...].filter { sessions[$0.client]?.lastIndex == $0.index }
            head = 0
        } else if head > 1_024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}

extension KVSessionOrder: Equatable {
    /// Derived from `sessions`, which `==` compares.
    static func == (_: Self, _: Self) -> Bool { true }
}
