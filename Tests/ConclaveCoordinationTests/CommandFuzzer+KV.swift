import ConclaveCore
@testable import ConclaveCoordination

/// KV requests: the first four commands and Redis's (`set` with NX/XX and a TTL, the `INCR`
/// family, `DEL`/`EXISTS` over many keys), with values at and past every bound they meet.
extension CommandFuzzer {
    /// Few keys, so that writes, TTLs, increments and reads meet on the same ones.
    static let kvKeys = ["a", "b", "c", "n0", "n1"]

    /// Values an increment must parse or refuse by Redis's rules: the signed 64-bit extremes and
    /// one past them, "-0", leading zeros, spaces and signs, and plain text.
    static let kvValues = ["", "v", "w", maximalName, "0", "1", "-1", "-0", "007", " 1", "1 ", "+1", "1e3",
                           "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                           "-9223372036854775809", "99999999999999999999"]

    mutating func kvRequest() -> KVRequest {
        let client = 1 + below(6)
        let last = kvSequences[client] ?? 0
        let sequence = chance(85) ? last + 1 : pick([last, last - min(last, 1), last + 50])
        kvSequences[client] = max(last, sequence)
        let key = name(Self.kvKeys)
        let command: KVCommand
        switch below(200) {
        case 0..<16: command = .put(key: key, value: kvValue())
        case 16..<32: command = .get(key: key)
        case 32..<38: command = .delete(key: key)
        case 38..<46: command = .compareAndSwap(key: key, expected: chance(30) ? nil : pick(["", "v", "w", "1"]), value: kvValue())
        case 46..<80:
            let condition = pick([SetCondition.always, .always, .ifAbsent, .ifPresent])
            command = .set(key: key, value: kvValue(), condition: condition, ttlMillis: kvTTLMillis())
        case 80..<100: command = .increment(key: key, by: kvDelta())
        case 100..<114: command = .deleteKeys(kvKeyList())
        case 114..<126: command = .exists(kvKeyList())
        default: command = keyspaceCommand(key: key)
        }
        return KVRequest(client: client, sequence: sequence, command: command)
    }

    /// Redis's SET options, GETDEL, MGET/MSET, the EXPIRE family, PERSIST, PTTL, SCAN, KEYS,
    /// DBSIZE and FLUSHDB, with instants, cursors, counts and patterns at and past their bounds.
    private mutating func keyspaceCommand(key: String) -> KVCommand {
        switch below(74) {
        case 0..<20:
            let options = SetOptions(condition: pick([.always, .always, .ifAbsent, .ifPresent]), expiry: setExpiry(),
                                     returnsOld: chance(40))
            return .setWith(key: key, value: kvValue(), options: options)
        case 20..<26: return .getDelete(key: key)
        case 26..<34: return .getMany(kvKeyList())
        case 34..<42: return .setMany(kvKeyList().map { KVPair(key: $0, value: kvValue()) })
        case 42..<56:
            let condition = pick([ExpireCondition.always, .always, .ifNoTTL, .ifTTL, .ifLater, .ifEarlier])
            return .expire(key: key, at: expireInstant(), condition: condition)
        case 56..<60: return .persist(key: key)
        case 60..<66: return .timeToLive(key: key)
        case 66..<70:
            let cursor = chance(60) ? 0 : chance(70) ? kvScanCursor : pick([1, UInt64.max, UInt64.max >> 1, random.next()])
            let count = chance(85) ? 1 + Int(below(4)) : pick([0, -1, Int.min, Int.max, CoordinationLimits.kvScanCountMax + 1])
            return .scan(cursor: cursor, pattern: chance(40) ? nil : pick(Self.kvPatterns), count: count)
        case 70..<72: return .keysMatching(pattern: pick(Self.kvPatterns))
        case 72: return .keyCount
        default: return .flush
        }
    }

    /// Glob patterns: everything, prefixes, one byte, classes (negated, ranges, left open),
    /// escapes, a lone backslash, and a pattern that matches nothing.
    static let kvPatterns = ["*", "n*", "?", "[ab]", "[^a]*", "[a-c]", "[c-a]", "[a", "\\a", "\\", "*0", "a*b*c", "zz*", ""]

    /// A SET's TTL: none, kept, relative (as `kvTTLMillis`), or an instant of cluster time —
    /// reached, now, soon, at the longest TTL from now and past it, or anything.
    private mutating func setExpiry() -> SetExpiry {
        switch below(10) {
        case 0..<3: return .clear
        case 3..<5: return .keep
        case 5..<8: return .afterMillis(kvTTLMillis() ?? 1 + below(3_000))
        default:
            let latest = nowMillis + CoordinationLimits.kvTTLMillisRange.upperBound
            return .atMillis(pick([0, nowMillis, nowMillis + 1 + below(3_000), latest, latest + 1, UInt64.max, random.next()]))
        }
    }

    /// An EXPIRE's instant: relative or absolute, soon, reached, negative, at the bounds and the
    /// signed extremes (whose sum with now overflows).
    private mutating func expireInstant() -> ExpireInstant {
        let ttlMax = Int64(CoordinationLimits.kvTTLMillisRange.upperBound)
        let now = Int64(clamping: nowMillis)
        if chance(50) {
            return .afterMillis(chance(80) ? Int64(below(3_000)) - 100 : pick([0, -1, ttlMax, ttlMax + 1, .max, .min]))
        }
        return .atMillis(chance(80) ? now + Int64(below(3_000)) - 100 : pick([0, -1, now, now + ttlMax, now + ttlMax + 1, .max, .min]))
    }

    /// Integers mostly (so that increments find one), else anything of `kvValues`.
    private mutating func kvValue() -> String {
        chance(40) ? String(Int64(below(21)) - 10) : pick(Self.kvValues)
    }

    /// None (clears a TTL) or short (keys expire while clock entries pass); else at and past
    /// the bounds of `CoordinationLimits.kvTTLMillisRange`.
    private mutating func kvTTLMillis() -> UInt64? {
        switch below(100) {
        case 0..<35: return nil
        case 35..<85: return 1 + below(3_000)
        default:
            let range = CoordinationLimits.kvTTLMillisRange
            return pick([0, 1, 2, 86_400_000, range.upperBound, range.upperBound + 1, UInt64(Int64.max), UInt64.max, random.next()])
        }
    }

    /// Small steps mostly; else the signed extremes, which overflow most integers they meet.
    private mutating func kvDelta() -> Int64 {
        chance(75) ? Int64(below(21)) - 10 : pick([Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 1, -1, 0])
    }

    /// Keys for `deleteKeys`/`exists`: a few, repeated ones among them; rarely none, exactly
    /// `kvKeysPerCommandMax`, or one more (such an entry must not decode).
    private mutating func kvKeyList() -> [String] {
        let most = CoordinationLimits.kvKeysPerCommandMax
        switch below(100) {
        case 0..<5: return []
        case 5..<7:
            let count = pick([most, most + 1, most + 2])
            return (0..<count).map { Self.kvKeys[$0 % Self.kvKeys.count] }
        default:
            return (0..<(1 + below(5))).map { _ in name(Self.kvKeys) }
        }
    }
}
