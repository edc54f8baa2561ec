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
