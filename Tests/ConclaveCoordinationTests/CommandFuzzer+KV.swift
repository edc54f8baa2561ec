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
        switch below(100) {
        case 0..<12: command = .put(key: key, value: kvValue())
        case 12..<27: command = .get(key: key)
        case 27..<32: command = .delete(key: key)
        case 32..<38: command = .compareAndSwap(key: key, expected: chance(30) ? nil : pick(["", "v", "w", "1"]), value: kvValue())
        case 38..<60:
            let condition = pick([SetCondition.always, .always, .ifAbsent, .ifPresent])
            command = .set(key: key, value: kvValue(), condition: condition, ttlMillis: kvTTLMillis())
        case 60..<76: command = .increment(key: key, by: kvDelta())
        case 76..<88: command = .deleteKeys(kvKeyList())
        default: command = .exists(kvKeyList())
        }
        return KVRequest(client: client, sequence: sequence, command: command)
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
