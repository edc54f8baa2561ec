import ConclaveCore

/// Redis's commands over many keys or the whole keyspace (`MGET`, `MSET`, `SCAN`, `KEYS`,
/// `DBSIZE`, `FLUSHDB`) and over a key's TTL (`EXPIRE` family, `PERSIST`, `TTL`/`PTTL`).
///
/// Every answer that lists keys or values is bounded — at most `kvKeysReplyMax` keys and
/// `kvReplyBytesMax` bytes — so that no reply outgrows a client's output buffer, and no answer a
/// session keeps for retries (reads through the log) grows without bound.
extension KVStateMachine {
    /// `MGET`: each key's value, or `.rejected` when they add up past `kvReplyBytesMax`.
    func values(of keys: [String], nowMillis: UInt64) -> KVResult {
        var bytes = 0
        var found: [String?] = []
        found.reserveCapacity(keys.count)
        for key in keys {
            let value = read(key, nowMillis: nowMillis)
            bytes += value?.utf8.count ?? 0
            guard bytes <= CoordinationLimits.kvReplyBytesMax else {
                return .rejected("MGET of \(keys.count) keys would answer more than \(CoordinationLimits.kvReplyBytesMax) bytes "
                    + "(kv-reply-bytes-max); ask for fewer keys at once")
            }
            found.append(value)
        }
        return .values(found)
    }

    /// `MSET`: one revision for all the pairs; the last value of a key named twice wins.
    mutating func setMany(_ pairs: [KVPair]) -> KVResult {
        guard !pairs.isEmpty else { return .rejected("wrong number of arguments for 'mset' command: no key and value") }
        for pair in pairs { store(pair.key, pair.value, expiresAt: nil) }
        revision += 1
        return .written(revision: revision)
    }

    /// `PTTL`: milliseconds left, -1 without a TTL, -2 when absent.
    func timeToLive(_ key: String, nowMillis: UInt64) -> Int64 {
        guard read(key, nowMillis: nowMillis) != nil else { return -2 }
        guard let expiresAt = expiries[key] else { return -1 }
        return Int64(clamping: expiresAt - nowMillis)  // live, so after now
    }

    /// The `EXPIRE` family, as Redis's `expireGenericCommand`: the instant is checked first (past
    /// the longest TTL: refused), then the key (absent: 0), then the condition, then an instant
    /// already reached removes the key.
    mutating func expire(_ key: String, at instant: ExpireInstant, condition: ExpireCondition, nowMillis: UInt64) -> KVResult {
        let now = Int64(clamping: nowMillis)  // cluster time stays below 2⁴⁴; the KV machine alone takes any
        let at: Int64
        switch instant {
        case .afterMillis(let millis):
            let (sum, overflow) = now.addingReportingOverflow(millis)
            if overflow { return .rejected("invalid expire time in 'expire' command: now + \(millis) ms overflows") }
            at = sum
        case .atMillis(let millis):
            at = millis
        }
        if at > now, let problem = Self.instantProblem(UInt64(at), nowMillis: nowMillis, command: "expire") {
            return .rejected(problem)
        }
        guard read(key, nowMillis: nowMillis) != nil else { return .count(0) }
        let current = expiries[key].map { Int64(clamping: $0) }
        switch condition {
        case .always: break
        case .ifNoTTL: if current != nil { return .count(0) }
        case .ifTTL: if current == nil { return .count(0) }
        case .ifLater: guard let current, at > current else { return .count(0) }
        case .ifEarlier: if let current, at >= current { return .count(0) }
        }
        if at > now {
            if current == nil, expiries.count >= expiringKeysMax { return .rejected(tooManyTTLs) }
            setExpiry(key, UInt64(at))
        } else {
            remove(key)
        }
        revision += 1
        return .count(1)
    }

    /// `DBSIZE`: the keys that read as present. Every clock entry purges what expired by its
    /// instant, so normally none is held expired and this is O(1); otherwise O(keys with a TTL).
    public func liveKeyCount(nowMillis: UInt64) -> Int {
        guard let next = expiryIndex.nextExpiryMillis, next <= nowMillis else { return values.count }
        return values.count - expiries.values.reduce(0) { $0 + ($1 <= nowMillis ? 1 : 0) }
    }

    /// One `SCAN` step: examines `count` keys (clamped to 1…`kvScanCountMax`) from `cursor` in
    /// `KVScanIndex` order, and answers the live ones matching `pattern`. A page stops early once
    /// its keys reach `kvReplyBytesMax` bytes.
    func scan(from cursor: UInt64, pattern: String?, count: Int, nowMillis: UInt64) -> KVResult {
        let glob = pattern.map(KVGlob.init)
        let examine = min(max(count, 1), CoordinationLimits.kvScanCountMax)
        var bytes = 0
        let page = scanIndex.page(from: cursor, examine: examine) { key in
            bytes += key.utf8.count
            return bytes >= CoordinationLimits.kvReplyBytesMax
        }
        let keys = page.keys.filter { read($0, nowMillis: nowMillis) != nil && (glob?.matches($0) ?? true) }
        return .scanPage(cursor: page.next, keys: keys)
    }

    /// `KEYS`: every live key matching, in scan order; refused past `kvKeysReplyMax` keys or
    /// `kvReplyBytesMax` bytes (use `SCAN`). O(keys).
    func keys(matching pattern: String, nowMillis: UInt64) -> KVResult {
        let glob = KVGlob(pattern)
        var found: [String] = []
        var bytes = 0
        var overLimit = false
        scanIndex.forEach { key in
            guard !overLimit, read(key, nowMillis: nowMillis) != nil, glob.matches(key) else { return }
            bytes += key.utf8.count
            found.append(key)
            overLimit = found.count > CoordinationLimits.kvKeysReplyMax || bytes > CoordinationLimits.kvReplyBytesMax
        }
        guard !overLimit else {
            return .rejected("KEYS '\(pattern.prefix(64))' matches more than \(CoordinationLimits.kvKeysReplyMax) keys "
                + "(kv-keys-reply-max) or \(CoordinationLimits.kvReplyBytesMax) bytes (kv-reply-bytes-max); use SCAN")
        }
        return .keys(found)
    }

    /// `FLUSHDB`: every key and TTL gone. O(keys).
    mutating func flushAll() {
        for key in Array(expiries.keys) { setExpiry(key, nil) }
        values.removeAll()
        scanIndex = KVScanIndex()
    }
}
