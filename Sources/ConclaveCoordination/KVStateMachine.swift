import ConclaveCore
import ConclaveScript

/// The replicated KV store: what committed log entries are applied to.
///
/// `apply` is a pure function of (state, entry): every replica that applies the same entries in
/// the same order reaches the same state and gives the same answers. The `digest` folds every
/// answer in, so replicas can be compared cheaply at any index.
public struct KVStateMachine: Equatable, Sendable {
    public struct Session: Equatable, Sendable {
        public var lastSequence: UInt64
        public var lastResult: KVResult
        public var lastIndex: LogIndex
    }

    /// The answer to one applied entry, for the node that waits on it.
    public struct Applied: Equatable, Sendable {
        public var client: UInt64
        public var sequence: UInt64
        public var result: KVResult

        public init(client: UInt64, sequence: UInt64, result: KVResult) {
            self.client = client
            self.sequence = sequence
            self.result = result
        }
    }

    public internal(set) var values: [String: String] = [:]
    /// Per key with a TTL, the cluster time (ms) from which it is gone: a key whose instant has
    /// come reads as absent to every command and every read helper, and the clock entry that
    /// reaches it purges it (`expire(nowMillis:)`). At most `expiringKeysMax` keys.
    public internal(set) var expiries: [String: UInt64] = [:]
    /// The expiry index (derived, see `KVExpiryIndex`) and the expiries' share of the replica
    /// digest (see `StateHasher`), both kept in step by `setExpiry`.
    var expiryIndex: KVExpiryIndex
    var expiriesHash = StateHashSum()
    /// The keys in `SCAN` order (derived, see `KVScanIndex`), kept in step by `store` and `remove`.
    var scanIndex = KVScanIndex()
    public internal(set) var revision: UInt64 = 0
    public private(set) var appliedIndex: LogIndex = 0
    public private(set) var digest: UInt64 = StableHash.fnvOffsetBasis
    public private(set) var sessions: [UInt64: Session] = [:]
    /// The most client sessions remembered; past it, the least recently used is forgotten (a
    /// client that comes back after that may have a retry applied twice — the stated limit).
    public let sessionsMax: Int
    /// The sessions by recency of their last write (derived, see `KVSessionOrder`).
    var sessionOrder = KVSessionOrder()
    /// The most keys with a TTL at once; a `set` that would add one more is refused.
    public let expiringKeysMax: Int
    /// Scripts known by SHA-1 (SCRIPT LOAD, EVAL): replicated state, in snapshots and the digest.
    public internal(set) var scripts = ScriptCache(limits: CoordinationLimits.scriptCache)
    /// What runs scripts: a cache, not state (see `ScriptRunner`).
    var scriptRunner = ScriptRunner()

    public init(sessionsMax: Int = 10_000, expiringKeysMax: Int = CoordinationLimits.kvExpiringKeysMax) {
        self.sessionsMax = sessionsMax
        self.expiringKeysMax = expiringKeysMax
        expiryIndex = KVExpiryIndex(capacity: expiringKeysMax)
    }

    mutating func load(values: [String: String], expiries: [String: UInt64], revision: UInt64, appliedIndex: LogIndex,
                       digest: UInt64, sessions: [UInt64: Session]) {
        self.values = values
        for key in values.keys { scanIndex.insert(key) }
        self.revision = revision
        self.appliedIndex = appliedIndex
        self.digest = digest
        self.sessions = sessions
        sessionOrder = KVSessionOrder(sessions)
        for (key, expiresAt) in expiries { setExpiry(key, expiresAt) }
    }

    /// A write decided outside the KV command set (a fenced put the coordination layer accepted):
    /// like `put`, it clears the key's TTL. The caller has already advanced the applied index.
    mutating func write(key: String, value: String) {
        store(key, value, expiresAt: nil)
        revision += 1
        mix(revision, UInt64(truncatingIfNeeded: value.utf8.count))
    }

    /// A linearizable read served locally (after ReadIndex): the value at cluster time
    /// `nowMillis` (the state machine's, `CoordinationStateMachine.nowMillis`), without a log
    /// entry; nil if absent or expired.
    public func read(_ key: String, nowMillis: UInt64) -> String? {
        guard let value = values[key] else { return nil }
        if !expiries.isEmpty, let expiresAt = expiries[key], expiresAt <= nowMillis { return nil }
        return value
    }

    /// Redis `EXISTS` served locally: how many of `keys` are there at `nowMillis` (a key named
    /// twice counts twice).
    public func existsCount(_ keys: [String], nowMillis: UInt64) -> Int {
        keys.reduce(0) { count, key in read(key, nowMillis: nowMillis) == nil ? count : count + 1 }
    }

    /// The answer to a read-only command (`KVCommand.isRead`) from the state now, for a read
    /// served at a confirmed read index; nil for a command that writes.
    public func readResult(of command: KVCommand, nowMillis: UInt64) -> KVResult? {
        switch command {
        case .get(let key): return .value(read(key, nowMillis: nowMillis))
        case .exists(let keys): return .count(existsCount(keys, nowMillis: nowMillis))
        case .getMany(let keys): return values(of: keys, nowMillis: nowMillis)
        case .timeToLive(let key): return .integer(timeToLive(key, nowMillis: nowMillis))
        case .scan(let cursor, let pattern, let count):
            return scan(from: cursor, pattern: pattern, count: count, nowMillis: nowMillis)
        case .keysMatching(let pattern): return keys(matching: pattern, nowMillis: nowMillis)
        case .keyCount: return .count(liveKeyCount(nowMillis: nowMillis))
        case .scriptExists(let shas): return scriptsExist(shas)
        case .put, .delete, .compareAndSwap, .set, .increment, .deleteKeys, .setWith, .getDelete, .setMany, .expire, .persist,
             .flush, .eval, .scriptLoad, .scriptFlush:
            return nil
        }
    }

    /// Skips indexes that carry no command for this machine (membership changes), keeping the
    /// applied index contiguous.
    public mutating func skip(index: LogIndex) {
        precondition(index == appliedIndex + 1, "skipping \(index) after \(appliedIndex)")
        appliedIndex = index
    }

    /// Applies the entry at `index` at cluster time `nowMillis` (which decides what has expired;
    /// it never goes back). Empty entries (a new leader's) change nothing but the index.
    public mutating func apply(index: LogIndex, data: [UInt8], nowMillis: UInt64) -> Applied? {
        precondition(index == appliedIndex + 1, "applying \(index) after \(appliedIndex): entries must be applied in order")
        appliedIndex = index
        guard !data.isEmpty else { return nil }
        guard let request = KVRequest(decoding: data) else {
            mix(0xBAD)
            return nil
        }
        if let session = sessions[request.client], request.sequence <= session.lastSequence {
            let result = request.sequence == session.lastSequence
                ? session.lastResult : .rejected("stale sequence \(request.sequence) < \(session.lastSequence)")
            return Applied(client: request.client, sequence: request.sequence, result: result)
        }
        let result = execute(request.command, nowMillis: nowMillis)
        remember(request, result: result, index: index)
        mix(request.client, request.sequence, UInt64(truncatingIfNeeded: result.hashForDigest))
        return Applied(client: request.client, sequence: request.sequence, result: result)
    }

    /// Executes one command on the state (a read answers from it); `KVScriptHost` runs each
    /// `redis.call` through here too.
    mutating func execute(_ command: KVCommand, nowMillis: UInt64) -> KVResult {
        if let read = readResult(of: command, nowMillis: nowMillis) { return read }
        switch command {
        case .put(let key, let value):
            store(key, value, expiresAt: nil)
            revision += 1
            return .written(revision: revision)
        case .delete(let key):
            remove(key)
            revision += 1
            return .written(revision: revision)
        case .compareAndSwap(let key, let expected, let value):
            guard read(key, nowMillis: nowMillis) == expected else { return .swapped(false) }
            store(key, value, expiresAt: nil)
            revision += 1
            return .swapped(true)
        case .set(let key, let value, let condition, let ttl):
            return set(key, value, condition: condition, ttlMillis: ttl, nowMillis: nowMillis)
        case .increment(let key, let delta):
            return increment(key, by: delta, nowMillis: nowMillis)
        case .deleteKeys(let keys):
            // An expired key still held is removed too, but not counted: it was already gone.
            var removed = 0
            for key in keys {
                if read(key, nowMillis: nowMillis) != nil { removed += 1 }
                remove(key)
            }
            if removed > 0 { revision += 1 }
            return .count(removed)
        case .setWith(let key, let value, let options):
            return set(key, value, options: options, nowMillis: nowMillis)
        case .getDelete(let key):
            let old = read(key, nowMillis: nowMillis)
            remove(key)
            if old != nil { revision += 1 }
            return .value(old)
        case .setMany(let pairs):
            return setMany(pairs)
        case .expire(let key, let instant, let condition):
            return expire(key, at: instant, condition: condition, nowMillis: nowMillis)
        case .persist(let key):
            guard read(key, nowMillis: nowMillis) != nil, expiries[key] != nil else { return .count(0) }
            setExpiry(key, nil)
            revision += 1
            return .count(1)
        case .flush:
            flushAll()
            revision += 1
            return .written(revision: revision)
        case .eval, .scriptLoad, .scriptFlush:
            return executeScriptCommand(command, nowMillis: nowMillis)
        case .get, .exists, .getMany, .timeToLive, .scan, .keysMatching, .keyCount, .scriptExists:
            return .rejected("a read reached the write path")  // never: readResult answered it above
        }
    }

    private mutating func remember(_ request: KVRequest, result: KVResult, index: LogIndex) {
        sessions[request.client] = Session(lastSequence: request.sequence, lastResult: result.keptForRetry, lastIndex: index)
        sessionOrder.wrote(request.client, at: index)
        if sessions.count > sessionsMax, let oldest = sessionOrder.takeOldest(of: sessions) {
            sessions[oldest] = nil
        }
        sessionOrder.compact(live: sessions)
    }

    private mutating func mix(_ values: UInt64...) {
        for value in values {
            digest = StableHash.fold(digest, value)
        }
    }
}

extension KVResult {
    /// A stable (per-process-independent) hash of the answer, for the replica digest.
    var hashForDigest: UInt64 {
        switch self {
        case .written(let revision): return StableHash.fnv1a64("w\(revision)".utf8)
        case .value(let value): return StableHash.fnv1a64(("v" + (value ?? "\u{0}")).utf8)
        case .swapped(let swapped): return StableHash.fnv1a64((swapped ? "s1" : "s0").utf8)
        case .rejected(let reason): return StableHash.fnv1a64(("r" + reason).utf8)
        case .notSet: return StableHash.fnv1a64("x".utf8)
        case .integer(let value): return StableHash.fnv1a64("i\(value)".utf8)
        case .count(let count): return StableHash.fnv1a64("c\(count)".utf8)
        case .script(let reply): return StableHash.fnv1a64(reply.encoded(), seed: StableHash.fnv1a64("e".utf8))
        case .values, .keys, .scanPage: return StableHash.fnv1a64(encodedForSnapshot().utf8)
        }
    }
}
