import ConclaveCore

/// The replicated state machine of the coordination services: the KV store plus cluster time,
/// sessions and leases, locks, counters and fenced writes. `apply` is a pure function of
/// (state, entry): every replica applying the same entries in order reaches the same state,
/// gives the same answers and emits the same events.
///
/// Entries say what they are by their first byte: 1 is a KV request (`KVRequest`), 2 a
/// coordination request (`CoordinationRequest`). A retried coordination request (same client and
/// sequence) takes effect once and gets its first answer again.
public struct CoordinationStateMachine: Equatable, Sendable {
    /// The answer to one applied entry, plus what other clients must be told.
    public struct Applied: Equatable, Sendable {
        public var client: UInt64
        public var sequence: UInt64
        public var result: CoordinationResult
        public var events: [LockEvent]
        /// Delay tasks whose timing, state or owner changed (every task when ownership moved).
        public var tasksTouched: [UInt64] = []
    }

    public internal(set) var kv = KVStateMachine()
    public internal(set) var sessions = SessionTable()
    public internal(set) var locks = LockTable()
    public internal(set) var counters: [String: Int64] = [:]
    public internal(set) var config = ConfigStore()
    public internal(set) var workers = WorkerLeases()
    public internal(set) var tasks = DelayTaskTable()
    public internal(set) var throttles = ThrottleTable()
    /// Per fenced key, the highest fencing token a write carried (writes with less are refused);
    /// at most `CoordinationLimits.fencesMax` keys, the least recently written forgotten first.
    var fenceTokens = RecencyBoundedMap<String, UInt64>(capacity: CoordinationLimits.fencesMax)
    /// Cluster time: the sum of the leader's `elapsed` entries (see `SessionTable`).
    public internal(set) var nowMillis: UInt64 = 0
    /// Each client's last request and answer, so a retry takes effect once (see
    /// `CoordinationStateMachine+Answers`): with the client's session while it lives, and after
    /// that among at most `CoordinationLimits.answersWithoutSessionMax`.
    var sessionAnswers: [UInt64: CachedAnswer] = [:]
    var looseAnswers = RecencyBoundedMap<UInt64, CachedAnswer>(capacity: CoordinationLimits.answersWithoutSessionMax)
    public internal(set) var digest: UInt64 = StableHash.fnvOffsetBasis

    public init() {}

    public var appliedIndex: LogIndex { kv.appliedIndex }

    /// Per fenced key, the highest token a write carried. O(keys): for inspection, not for apply.
    public var fences: [String: UInt64] { fenceTokens.values }

    /// Skips an index that carries nothing for this machine (a membership change).
    public mutating func skip(index: LogIndex) { kv.skip(index: index) }

    /// One digest of the whole state (coordination and KV), for comparing replicas.
    public var combinedDigest: UInt64 { StableHash.fold(digest, kv.digest) }

    public static func == (left: Self, right: Self) -> Bool {
        left.kv == right.kv && left.sessions == right.sessions && left.locks == right.locks
            && left.counters == right.counters && left.fenceTokens == right.fenceTokens && left.nowMillis == right.nowMillis
            && left.config == right.config && left.workers == right.workers && left.tasks == right.tasks
            && left.throttles == right.throttles && left.sessionAnswers == right.sessionAnswers
            && left.looseAnswers == right.looseAnswers && left.digest == right.digest
    }

    /// Applies the entry at `index`. KV entries go to the KV store; coordination entries are
    /// applied here; anything else changes nothing but the applied index.
    public mutating func apply(index: LogIndex, data: [UInt8]) -> (kv: KVStateMachine.Applied?, coordination: Applied?) {
        guard data.first == CoordinationRequest.formatVersion else {
            return (kv.apply(index: index, data: data), nil)
        }
        kv.skip(index: index)
        // Bytes without even a client and sequence answer nobody; a request whose command does not
        // decode (a field out of range, truncated) is answered with that, like any bad request.
        guard let (client, sequence, command) = CoordinationRequest.decodeEntry(data) else { return (nil, nil) }
        // Client 0 is the nodes' own (the leader's clock, scheduler membership, claims, reports):
        // its entries are not client requests, so they are never deduplicated and never answered
        // from the cache; only node commands run under it, and only under it.
        let fromNodes = client == 0
        if !fromNodes, let last = answer(for: client), sequence <= last.sequence {
            let result: CoordinationResult = sequence == last.sequence
                ? retryAnswer(last.result, to: command, id: RequestID(client: client, sequence: sequence))
                : .refused(.invalidRequest("stale sequence \(sequence) < \(last.sequence)"))
            return (nil, Applied(client: client, sequence: sequence, result: result, events: []))
        }
        var events: [LockEvent] = []
        var touched: [UInt64] = []
        let result = execute(client: client, sequence: sequence, command: command, events: &events, touched: &touched)
        if !fromNodes { remember(CachedAnswer(sequence: sequence, result: result), for: client) }
        for event in events { settleQueuedAcquire(event) }
        // The answer's snapshot encoding feeds the digest: compact, and no reflection (describing
        // the result as a String cost 65% of apply time in `bench locks`).
        var encoded = ByteWriter(capacity: 24)
        encoded.write(result)
        mix(client, sequence, StableHash.fnv1a64(encoded.bytes))
        return (nil, Applied(client: client, sequence: sequence, result: result, events: events,
                             tasksTouched: touched))
    }

    /// Runs one request; `command` nil: its command did not decode.
    private mutating func execute(client: UInt64, sequence: UInt64, command: CoordinationCommand?, events: inout [LockEvent],
                                  touched: inout [UInt64]) -> CoordinationResult {
        let session = client
        let id = RequestID(client: client, sequence: sequence)
        do throws(CoordinationError) {
            guard let command else { throw .invalidRequest(CoordinationRequest.malformedCommand) }
            if let name = command.nodeCommandName, session != 0 { throw .nodeOnly(command: name, client: session) }
            if command.nodeCommandName == nil, session == 0 { throw .reservedClient }
            switch command {
            case .elapsed(let millis):
                let room = CoordinationLimits.clusterTimeMillisMax - nowMillis
                guard millis <= room else {
                    throw .invalidRequest("clock entry \(millis) ms would move cluster time past its end at "
                        + "\(CoordinationLimits.clusterTimeMillisMax) ms; accepted now: 0…\(room) ms")
                }
                nowMillis += millis
                for expired in sessions.expire(nowMillis: nowMillis) {
                    sessionEnded(expired)
                    events += locks.sessionEnded(expired, reason: .sessionExpired, nowMillis: nowMillis)
                    workers.release(session: expired)
                }
                events += locks.advance(to: nowMillis)
                tasks.advance(to: nowMillis)
                return .done
            case .openSession(let ttl):
                try sessions.open(session, ttlMillis: ttl, nowMillis: nowMillis)
                return .sessionOpened(expiresAtMillis: nowMillis + ttl)
            case .keepAlive:
                return .keptAlive(expiresAtMillis: try sessions.keepAlive(session, nowMillis: nowMillis))
            case .closeSession:
                try sessions.close(session)
                events += locks.sessionEnded(session, reason: .sessionClosed, nowMillis: nowMillis)
                workers.release(session: session)
                return .done
            case .acquire(let lock, let kind, let mode, let wait, let ttl, let delay):
                guard sessions.contains(session) else { throw .unknownSession(session) }
                return .acquire(try locks.acquire(lock, kind: kind, mode: mode, session: session, request: id, waitMillis: wait,
                                                  ttlMillis: ttl, lockDelayMillis: delay, nowMillis: nowMillis))
            case .release(let lock):
                events += try locks.release(lock, session: session, nowMillis: nowMillis)
                return .done
            case .extend(let lock, let ttl):
                try locks.extend(lock, session: session, ttlMillis: ttl, nowMillis: nowMillis)
                return .done
            case .cancelWait(let lock, let sequence):
                events += try locks.cancel(lock, request: RequestID(client: client, sequence: sequence), nowMillis: nowMillis)
                return .done
            case .revoke(let lock, let grace):
                events += try locks.revoke(lock, graceMillis: grace, nowMillis: nowMillis)
                return .done
            case .increment(let counter, let delta):
                return .counter(try increment(counter, by: delta))
            case .readCounter(let counter):
                try CoordinationLimits.validate(name: counter)
                return .counter(counters[counter] ?? 0)
            case .fencedPut(let key, let value, let lock, let token):
                return try fencedPut(key: key, value: value, lock: lock, token: token)
            case .configSet(let key, let value):
                return .configRevision(try config.write(key, value: value))
            case .configGet(let key):
                try CoordinationLimits.validate(name: key)
                return .configValue(config.current(key))
            case .configHistory(let key):
                try CoordinationLimits.validate(name: key)
                return .configHistory(config.history[key] ?? [])
            case .configRollback(let key, let revision):
                return .configRevision(try config.rollback(key, to: revision))
            case .configWatch(let prefix, let revision):
                return .configWatch(config.watch(prefix: prefix, after: revision))
            case .leaseWorker(let workersMax, let deadline):
                guard sessions.contains(session) else { throw .unknownSession(session) }
                let leased = try workers.lease(session: session, workersMax: workersMax, deadlineMillis: deadline)
                return .workerLeased(worker: leased.worker, startAfterMillis: leased.startAfterMillis)
            case .task(let command):
                return .task(try tasks.execute(command, nowMillis: nowMillis, touched: &touched))
            case .throttle(let command):
                return try throttles.apply(command, clusterMillis: nowMillis)
            }
        } catch {
            return .refused(error)
        }
    }

    /// A counter at 0 is not kept (an absent one reads 0), so the bound counts counters in use.
    private mutating func increment(_ counter: String, by delta: Int64) throws(CoordinationError) -> Int64 {
        try CoordinationLimits.validate(name: counter)
        let current = counters[counter]
        let (value, overflow) = (current ?? 0).addingReportingOverflow(delta)
        guard !overflow else { throw .invalidRequest("counter '\(counter)' would overflow") }
        if current == nil, value != 0, counters.count >= CoordinationLimits.countersMax {
            throw .limitReached("\(CoordinationLimits.countersMax) counters (one back at 0 frees its place)")
        }
        counters[counter] = value == 0 ? nil : value
        return value
    }

    /// Accepts the write only with a token that `lock` granted to a holder that still holds it,
    /// and not older than any token a write to this key already carried.
    ///
    /// Why current holders, not every token the lock ever granted: a lock's holders are a bounded
    /// record that proves the grant (a token of another lock is never among them), and a token
    /// whose hold has ended — released, expired, revoked — must not write anyway, even where no
    /// newer token has written to the key yet. The per-key rule still orders writers that hold at
    /// once (readers, semaphore permits) and keys written under more than one lock.
    private mutating func fencedPut(key: String, value: String, lock name: String, token: UInt64) throws(CoordinationError) -> CoordinationResult {
        try CoordinationLimits.validate(name: key)
        try CoordinationLimits.validate(name: name)
        if let highest = fenceTokens[key], token < highest {
            return .fenced(accepted: false, reason: "stale token \(token): a write with token \(highest) already landed")
        }
        guard let lock = locks.locks[name] else {
            return .fenced(accepted: false, reason: "token \(token) does not hold lock '\(name)': nobody holds it")
        }
        guard token != 0, token <= lock.lastToken else {
            return .fenced(accepted: false, reason: "token \(token) was never granted on lock '\(name)'")
        }
        guard lock.holders.contains(where: { $0.token == token }) else {
            return .fenced(accepted: false,
                           reason: "token \(token) does not hold lock '\(name)' now (its hold ended, or another lock granted it)")
        }
        fenceTokens.set(key, token)
        kv.write(key: key, value: value)
        return .fenced(accepted: true, reason: "")
    }

    private mutating func mix(_ values: UInt64...) {
        for value in values { digest = StableHash.fold(digest, value) }
    }
}
