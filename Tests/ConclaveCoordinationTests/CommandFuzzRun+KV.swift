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
        if let problem = checkKeyspace(request.command, result, kv: kv, now: now) { return problem }
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
             (.compareAndSwap, .swapped), (.deleteKeys, .rejected), (.exists, .rejected), (.setWith, .rejected),
             (.setWith, .notSet), (.setWith, .value), (.setWith, .written), (.getDelete, .value), (.getMany, .values),
             (.getMany, .rejected), (.setMany, .written), (.setMany, .rejected), (.expire, .count), (.expire, .rejected),
             (.persist, .count), (.timeToLive, .integer), (.scan, .scanPage), (.keysMatching, .keys), (.keysMatching, .rejected),
             (.keyCount, .count), (.flush, .written):
            break
        default:
            return "\(Self.brief(request.command)) answered \(result)"
        }
        return nil
    }

    /// What the keyspace commands must leave (answers of other shapes are caught by `checkKV`).
    private func checkKeyspace(_ command: KVCommand, _ result: KVResult, kv: KVStateMachine, now: UInt64) -> String? {
        let live = kv.values.keys.filter { kv.read($0, nowMillis: now) != nil }
        switch (command, result) {
        case (.setWith(let key, let value, let options), .written):
            switch options.expiry {
            case .atMillis(let instant) where instant <= now:
                guard kv.read(key, nowMillis: now) == nil else { return "a set at a reached instant left the key" }
            case .clear, .afterMillis, .atMillis, .keep:
                guard kv.read(key, nowMillis: now) == value else { return "a written setWith left the key at \(Self.brief(kv.read(key, nowMillis: now)))" }
                if case .afterMillis(let ttl) = options.expiry, kv.expiries[key] != now + ttl { return "setWith PX \(ttl) left no such expiry" }
                if case .atMillis(let instant) = options.expiry, kv.expiries[key] != instant { return "setWith PXAT \(instant) left no such expiry" }
                if case .clear = options.expiry, kv.expiries[key] != nil { return "a setWith without a TTL left one" }
            }
            if options.returnsOld { return "a setWith GET answered written" }
        case (.getDelete(let key), .value):
            guard kv.values[key] == nil else { return "a getDelete left its key" }
        case (.getMany(let keys), .values(let values)):
            guard values == keys.map({ kv.read($0, nowMillis: now) }) else { return "a getMany answered other values than the keys hold" }
        case (.setMany(let pairs), .written):
            var last: [String: String] = [:]
            for pair in pairs { last[pair.key] = pair.value }
            guard last.allSatisfy({ kv.read($0.key, nowMillis: now) == $0.value && kv.expiries[$0.key] == nil }) else {
                return "a setMany left a key at another value or with a TTL"
            }
        case (.expire(let key, _, _), .count(let changed)):
            guard changed == 0 || changed == 1 else { return "an expire answered \(changed)" }
            if changed == 1, kv.read(key, nowMillis: now) != nil, (kv.expiries[key] ?? 0) <= now { return "an expire left the key live without a TTL ahead" }
        case (.persist(let key), .count):
            guard kv.expiries[key] == nil else { return "a persist left a TTL" }
        case (.timeToLive(let key), .integer(let left)):
            let expected: Int64 = kv.read(key, nowMillis: now) == nil ? -2 : kv.expiries[key].map { Int64($0 - now) } ?? -1
            guard left == expected else { return "a timeToLive answered \(left), not \(expected)" }
        case (.scan(_, let pattern, _), .scanPage(_, let keys)):
            let glob = pattern.map(KVGlob.init)
            guard Set(keys).count == keys.count, keys.allSatisfy({ kv.read($0, nowMillis: now) != nil && (glob?.matches($0) ?? true) }) else {
                return "a scan page held a key twice, an absent key or one its pattern does not match"
            }
        case (.keysMatching(let pattern), .keys(let keys)):
            let glob = KVGlob(pattern)
            guard Set(keys) == Set(live.filter(glob.matches)), keys.count == Set(keys).count else {
                return "keys '\(pattern)' answered \(keys.count) keys, not the \(live.filter(glob.matches).count) live ones matching"
            }
        case (.keyCount, .count(let count)):
            guard count == live.count else { return "keyCount answered \(count), \(live.count) keys live" }
        case (.flush, .written):
            guard kv.values.isEmpty, kv.expiries.isEmpty else { return "a flush left keys" }
        default:
            break
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
    /// A scan's cursor goes back to the fuzzer, so that later scans continue it.
    mutating func noteExpiredRead(_ request: KVRequest, _ answer: KVStateMachine.Applied?) {
        guard let result = answer?.result, replicas[0].kv.sessions[request.client]?.lastIndex == replicas[0].kv.appliedIndex else { return }
        switch (request.command, result) {
        case (.get(let key), .value(nil)) where expiredKeys.contains(key):
            reached.insert("KV TTL-expired read")
        case (.exists(let keys), .count) where keys.contains(where: expiredKeys.contains):
            reached.insert("KV TTL-expired exists")
        case (.scan, .scanPage(let cursor, _)):
            fuzzer.kvScanCursor = cursor
            if cursor != 0 { reached.insert("KV scan continues") }
        case (.flush, .written):
            expiredKeys.removeAll()
        default:
            if !request.command.isRead { expiredKeys.subtract(request.command.keys) }
        }
    }
}
