@testable import ConclaveCoordination

/// What a KV entry must have done, and the TTL-expired reads a run reaches.
extension CommandFuzzRun {
    /// A request naming more keys than `kvKeysPerCommandMax` must not decode (and so answers
    /// nobody); any other decodes to itself and is answered. A fresh request's answer must match
    /// the state it left: an increment's value is what the key holds, a `set` holds its value
    /// with the expiry its TTL gives, a `deleteKeys` leaves none of its keys, counts stay within
    /// the keys named. (A retry's answer is the first one, so only fresh ones are checked.)
    func checkKV(_ request: KVRequest, data: [UInt8], answer: KVStateMachine.Applied?) -> String? {
        let keys = request.command.keys
        let decoded = KVRequest(decoding: data)
        if keys.count > CoordinationLimits.kvKeysPerCommandMax {
            guard decoded == nil, answer == nil else { return "a KV request naming \(keys.count) keys decoded" }
            return nil
        }
        guard decoded == request else { return "the KV request does not decode to itself" }
        guard let result = answer?.result else { return "a KV request got no answer" }
        let kv = replicas[0].kv
        let now = replicas[0].nowMillis
        guard kv.sessions[request.client]?.lastIndex == kv.appliedIndex else { return nil }
        switch (request.command, result) {
        case (.increment(let key, _), .integer(let value)):
            guard kv.read(key, nowMillis: now) == String(value) else { return "an increment answered \(value), the key holds otherwise" }
        case (.set(let key, let value, _, let ttl), .written):
            if let ttl, !CoordinationLimits.kvTTLMillisRange.contains(ttl) { return "a set with a TTL of \(ttl) ms was written" }
            guard kv.read(key, nowMillis: now) == value, kv.expiries[key] == ttl.map({ now + $0 }) else {
                return "a written set left the key at \(Self.brief(kv.read(key, nowMillis: now))), expiring at \(Self.brief(kv.expiries[key]))"
            }
        case (.deleteKeys(let keys), .count(let count)):
            guard count <= Set(keys).count, keys.allSatisfy({ kv.values[$0] == nil }) else {
                return "a deleteKeys of \(keys.count) keys answered \(count) and left some"
            }
        case (.exists(let keys), .count(let count)):
            guard count <= keys.count else { return "an exists of \(keys.count) keys counted \(count)" }
        case (.set, .notSet), (.set, .rejected), (.increment, .rejected), (.put, .written), (.get, .value), (.delete, .written),
             (.compareAndSwap, .swapped), (.deleteKeys, .rejected), (.exists, .rejected):
            break
        default:
            return "\(Self.brief(request.command)) answered \(result)"
        }
        return nil
    }

    /// After a clock entry: the keys it purged because their TTL ran out.
    mutating func noteExpired(before expiries: [String: UInt64]) {
        let kv = replicas[0].kv
        for (key, expiresAt) in expiries where expiresAt <= replicas[0].nowMillis && kv.values[key] == nil {
            expiredKeys.insert(key)
        }
    }

    /// A fresh read that finds a purged key absent is a TTL-expired read; a write forgets its keys.
    mutating func noteExpiredRead(_ request: KVRequest, _ answer: KVStateMachine.Applied?) {
        guard let result = answer?.result, replicas[0].kv.sessions[request.client]?.lastIndex == replicas[0].kv.appliedIndex else { return }
        switch (request.command, result) {
        case (.get(let key), .value(nil)) where expiredKeys.contains(key):
            reached.insert("KV TTL-expired read")
        case (.exists(let keys), .count) where keys.contains(where: expiredKeys.contains):
            reached.insert("KV TTL-expired exists")
        default:
            if !request.command.isRead { expiredKeys.subtract(request.command.keys) }
        }
    }
}
