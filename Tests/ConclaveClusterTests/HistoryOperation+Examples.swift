import ConclaveCluster

/// Short constructors for hand-written histories: `to: nil` is an unknown outcome.
extension HistoryOperation {
    static func put(client: Int, key: String = "x", _ value: String, from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .put, key: key, value: value, call: call, returnTime: returnTime)
    }

    static func get(client: Int, key: String = "x", _ output: String?, from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .get, key: key, output: output, call: call, returnTime: returnTime)
    }

    static func cas(
        client: Int, key: String = "x", expected: String?, _ value: String, ok: Bool,
        from call: UInt64, to returnTime: UInt64?
    ) -> Self {
        HistoryOperation(client: client, kind: .cas, key: key, value: value, expected: expected, ok: ok, call: call, returnTime: returnTime)
    }

    static func delete(client: Int, key: String = "x", from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .delete, key: key, call: call, returnTime: returnTime)
    }

    static func acquire(
        client: Int, lock: String = "lock", token: UInt64? = nil, ok: Bool = true,
        from call: UInt64, to returnTime: UInt64?
    ) -> Self {
        HistoryOperation(client: client, kind: .acquire, key: lock, ok: ok, token: token, call: call, returnTime: returnTime)
    }

    static func release(client: Int, lock: String = "lock", ok: Bool = true, from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .release, key: lock, ok: ok, call: call, returnTime: returnTime)
    }

    static func expire(client: Int, lock: String = "lock", holder: Int, from call: UInt64) -> Self {
        HistoryOperation(client: client, kind: .expire, key: lock, holder: holder, call: call)
    }
}

/// Constructors for the operations beyond HISTORY.md (README, "History operations beyond
/// ../shared/HISTORY.md").
extension HistoryOperation {
    /// An acquire in a mode, blocking when `wait` is given.
    static func acquire(
        client: Int, lock: String = "lock", mode: Mode, permits: Int? = nil, capacity: Int? = nil, wait: UInt64? = nil,
        delay: UInt64? = nil, token: UInt64? = nil, holds: Int? = nil, ok: Bool = true, from call: UInt64, to returnTime: UInt64?
    ) -> Self {
        HistoryOperation(client: client, kind: .acquire, key: lock, ok: ok, token: token, mode: mode, permits: permits,
                         capacity: capacity, waitMillis: wait, delayMillis: delay, holds: holds, call: call, returnTime: returnTime)
    }

    static func revoke(client: Int, lock: String = "lock", grace: UInt64? = 100, ok: Bool = true, from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .revoke, key: lock, ok: ok, graceMillis: grace, call: call, returnTime: returnTime)
    }

    static func cancel(client: Int, lock: String = "lock", ok: Bool = true, from call: UInt64, to returnTime: UInt64?) -> Self {
        HistoryOperation(client: client, kind: .cancel, key: lock, ok: ok, call: call, returnTime: returnTime)
    }

    static func fencedPut(
        client: Int, key: String = "x", _ value: String, lock: String = "lock", token: UInt64, ok: Bool = true,
        from call: UInt64, to returnTime: UInt64?
    ) -> Self {
        HistoryOperation(client: client, kind: .fencedPut, key: key, value: value, ok: ok, token: token, lock: lock,
                         call: call, returnTime: returnTime)
    }
}
