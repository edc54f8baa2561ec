import ConclaveCore

/// Redis-style writes (`SET` with NX/XX and a TTL, the `INCR` family) and key expiry.
///
/// A key with a TTL is gone from the instant `expiries[key]` on (cluster time ≥ the instant):
/// every command and read helper treats it as absent at once, and the clock entry that reaches
/// the instant purges it (`expire(nowMillis:)`), so expired keys do not pile up. Both depend only
/// on (state, entry, cluster time), so every replica purges the same keys at the same index.
extension KVStateMachine {
    /// Removes every key whose TTL has run out by `nowMillis`; returns how many. Called by
    /// `CoordinationStateMachine` on each clock entry. O(log n) per key purged, O(1) when none is due.
    @discardableResult
    public mutating func expire(nowMillis: UInt64) -> Int {
        var purged = 0
        for key in expiryIndex.due(at: nowMillis) {
            guard let expiresAt = expiries[key] else { continue }
            guard expiresAt <= nowMillis else {
                expiryIndex.schedule(key, expiresAtMillis: expiresAt)
                continue
            }
            remove(key)
            purged += 1
        }
        return purged
    }

    /// Redis's integer syntax (its `string2ll`): base 10, an optional leading '-', no '+', no
    /// spaces, no leading zeros ("0" alone; "-0" is refused), within `Int64`. For values an
    /// increment reads, and for the door to parse `INCRBY`'s argument alike. Nil when not one.
    public static func parseInteger(_ text: String) -> Int64? {
        var digits = text.utf8[...]
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        if digits.elementsEqual("0".utf8) { return 0 }
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard let first = digits.first, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first) else { return nil }
        var magnitude: UInt64 = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (shifted, overflowShift) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowShift, !overflowAdd else { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= Int64.max.magnitude + 1 else { return nil }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= Int64.max.magnitude else { return nil }
        return Int64(magnitude)
    }

    mutating func set(_ key: String, _ value: String, condition: SetCondition, ttlMillis: UInt64?,
                      nowMillis: UInt64) -> KVResult {
        let expiry = ttlMillis.map(SetExpiry.afterMillis) ?? .clear
        return set(key, value, options: SetOptions(condition: condition, expiry: expiry), nowMillis: nowMillis)
    }

    /// Redis's `SET` with every option. The TTL is checked first (a bad one changes nothing, as in
    /// Redis), then the condition; an instant at or before now removes the key instead of writing it.
    mutating func set(_ key: String, _ value: String, options: SetOptions, nowMillis: UInt64) -> KVResult {
        let old = read(key, nowMillis: nowMillis)
        var expiresAt: UInt64?
        switch options.expiry {
        case .clear: expiresAt = nil
        case .keep: expiresAt = old == nil ? nil : expiries[key]
        case .afterMillis(let ttlMillis):
            let range = CoordinationLimits.kvTTLMillisRange
            guard range.contains(ttlMillis) else {
                return .rejected("invalid expire time in 'set' command: \(ttlMillis) ms; a TTL is "
                    + "\(range.lowerBound)…\(range.upperBound) ms")
            }
            let (instant, overflow) = nowMillis.addingReportingOverflow(ttlMillis)
            guard !overflow else { return .rejected("invalid expire time in 'set' command: cluster time + TTL overflows") }
            expiresAt = instant
        case .atMillis(let instant):
            if let problem = Self.instantProblem(instant, nowMillis: nowMillis, command: "set") { return .rejected(problem) }
            expiresAt = instant
        }
        switch options.condition {
        case .ifAbsent where old != nil, .ifPresent where old == nil: return options.returnsOld ? .value(old) : .notSet
        case .always, .ifAbsent, .ifPresent: break
        }
        if let expiresAt, expiresAt <= nowMillis {
            remove(key)
            revision += 1
            return options.returnsOld ? .value(old) : .written(revision: revision)
        }
        if expiresAt != nil, expiries[key] == nil, expiries.count >= expiringKeysMax { return .rejected(tooManyTTLs) }
        store(key, value, expiresAt: expiresAt)
        revision += 1
        return options.returnsOld ? .value(old) : .written(revision: revision)
    }

    /// Why a TTL cannot end at `instant` (cluster time, ms): past the longest TTL from now.
    /// Instants at or before now are fine (the key goes at once).
    static func instantProblem(_ instant: UInt64, nowMillis: UInt64, command: String) -> String? {
        let (latest, overflow) = nowMillis.addingReportingOverflow(CoordinationLimits.kvTTLMillisRange.upperBound)
        guard !overflow, instant > latest else { return nil }
        return "invalid expire time in '\(command)' command: \(instant) ms of cluster time is more than "
            + "\(CoordinationLimits.kvTTLMillisRange.upperBound) ms after now (\(nowMillis) ms)"
    }

    var tooManyTTLs: String {
        "\(expiringKeysMax) keys with a TTL at once; one must expire, be deleted or be overwritten without a TTL first"
    }

    /// Keeps the key's TTL while it lives; a key that was absent (or expired) starts at 0, without one.
    mutating func increment(_ key: String, by delta: Int64, nowMillis: UInt64) -> KVResult {
        let current = read(key, nowMillis: nowMillis)
        var number: Int64 = 0
        if let current {
            guard let parsed = Self.parseInteger(current) else { return .rejected("value is not an integer or out of range") }
            number = parsed
        }
        let (sum, overflow) = number.addingReportingOverflow(delta)
        guard !overflow else { return .rejected("increment or decrement would overflow") }
        store(key, String(sum), expiresAt: current == nil ? nil : expiries[key])
        revision += 1
        return .integer(sum)
    }

    /// Every write of a value goes through here or `remove`, so the expiries stay in step.
    mutating func store(_ key: String, _ value: String, expiresAt: UInt64?) {
        if values.updateValue(value, forKey: key) == nil { scanIndex.insert(key) }
        setExpiry(key, expiresAt)
    }

    /// The scan index drops the key as `values` held it: a canonically equal key with other bytes
    /// (Swift's `String` equality) would sit elsewhere in scan order.
    mutating func remove(_ key: String) {
        guard let slot = values.index(forKey: key) else { return setExpiry(key, nil) }
        scanIndex.remove(values[slot].key)
        values.remove(at: slot)
        setExpiry(key, nil)
    }

    /// Sets or clears the key's expiry, with its index entry and its share of the digest.
    mutating func setExpiry(_ key: String, _ expiresAt: UInt64?) {
        if expiries.isEmpty && expiresAt == nil { return }
        let old = expiries[key]
        guard old != expiresAt else { return }
        expiries[key] = expiresAt
        expiryIndex.schedule(key, expiresAtMillis: expiresAt)
        expiriesHash.replace(old.map { Self.expiryHash(key, $0) }, with: expiresAt.map { Self.expiryHash(key, $0) })
    }

    /// The expiries' share of the replica digest (`CoordinationStateMachine.stateDigest`).
    var expiriesStateHash: UInt64 { expiriesHash.value }

    /// The share rebuilt from the expiries (what `expiriesStateHash` must equal). O(keys with a TTL).
    func recomputedExpiriesStateHash() -> UInt64 {
        var share = StateHashSum()
        for (key, expiresAt) in expiries { share.replace(nil, with: Self.expiryHash(key, expiresAt)) }
        return share.value
    }

    static func expiryHash(_ key: String, _ expiresAt: UInt64) -> UInt64 {
        var hasher = StateHasher(20)
        hasher.combine(key)
        hasher.combine(expiresAt)
        return hasher.finalized
    }
}
