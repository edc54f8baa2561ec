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
    var fenceTokens = RecencyBoundedMap<String, UInt64>(capacity: CoordinationLimits.fencesMax) { key, token in
        var hasher = StateHasher(4)
        hasher.combine(key)
        hasher.combine(token)
        return hasher.finalized
    }
    /// Cluster time: the sum of the leader's `elapsed` entries (see `SessionTable`).
    public internal(set) var nowMillis: UInt64 = 0
    /// Each client's last request and answer, so a retry takes effect once (see
    /// `CoordinationStateMachine+Answers`): with the client's session while it lives, and after
    /// that among at most `CoordinationLimits.answersWithoutSessionMax`.
    var sessionAnswers: [UInt64: CachedAnswer] = [:]
    var looseAnswers = RecencyBoundedMap<UInt64, CachedAnswer>(capacity: CoordinationLimits.answersWithoutSessionMax,
                                                              entryHash: CachedAnswer.stateHash)
    /// The digest's shares of the counters and of the answers kept with sessions (`StateHasher`).
    var countersHash = StateHashSum()
    var sessionAnswersHash = StateHashSum()
    /// Every answer given, folded in order (what replicas said); `stateDigest` is what they hold.
    public internal(set) var digest: UInt64 = StableHash.fnvOffsetBasis

    public init() {}

    public var appliedIndex: LogIndex { kv.appliedIndex }

    /// Per fenced key, the highest token a write carried. O(keys): for inspection, not for apply.
    public var fences: [String: UInt64] { fenceTokens.values }

    /// Skips an index that carries nothing for this machine (a membership change).
    public mutating func skip(index: LogIndex) { kv.skip(index: index) }

    /// One digest for comparing replicas at an index: the answers given (coordination and KV) and
    /// the coordination state held. Two replicas that differ in who holds or waits on a lock, in
    /// sessions, counters, fences, answers kept, config, worker leases, tasks, throttles or the
    /// clock, in a KV key's TTL or in the scripts cached, differ here at the index where they diverge, though every
    /// answer was alike. O(1): each table keeps its share up to date as it is written (see
    /// `StateHasher`).
    public var combinedDigest: UInt64 { StableHash.fold(StableHash.fold(digest, kv.digest), stateDigest) }

    /// The coordination state's digest, with the KV keys' expiries (KV values are covered by the
    /// KV digest of their writes).
    public var stateDigest: UInt64 {
        var hasher = StateHasher(0)
        hasher.combine(nowMillis)
        hasher.combine(sessions.stateHash.value)
        hasher.combine(locks.stateHash)
        hasher.combine(countersHash.value)
        hasher.combine(fenceTokens.stateHash.value)
        hasher.combine(sessionAnswersHash.value)
        hasher.combine(looseAnswers.stateHash.value)
        hasher.combine(config.stateHash.value)
        hasher.combine(workers.stateHash.value)
        hasher.combine(tasks.stateHash)
        hasher.combine(throttles.stateHash.value)
        hasher.combine(kv.expiriesStateHash)
        hasher.combine(kv.scripts.stateHash)
        return hasher.finalized
    }

    /// `stateDigest` rebuilt from the whole state, not from the shares kept up to date: what it
    /// must equal (O(state); for restores and for tests of the upkeep).
    func recomputedStateDigest() -> UInt64 {
        var hasher = StateHasher(0)
        var counterShare = StateHashSum()
        for (name, value) in counters { counterShare.replace(nil, with: Self.counterHash(name, value)) }
        var answerShare = StateHashSum()
        for (client, answer) in sessionAnswers { answerShare.replace(nil, with: CachedAnswer.stateHash(client, answer)) }
        for share in [nowMillis, sessions.recomputedStateHash().value, locks.recomputedStateHash(), counterShare.value,
                      fenceTokens.recomputedStateHash().value, answerShare.value, looseAnswers.recomputedStateHash().value,
                      config.recomputedStateHash().value, workers.recomputedStateHash().value, tasks.recomputedStateHash(),
                      throttles.recomputedStateHash().value, kv.recomputedExpiriesStateHash(), kv.scripts.recomputedStateHash()] {
            hasher.combine(share)
        }
        return hasher.finalized
    }

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
            return (kv.apply(index: index, data: data, nowMillis: nowMillis), nil)
        }
        kv.skip(index: index)
        // Bytes without even a client and sequence answer nobody; a request whose command does not
        // decode (a field out of range, truncated) is answered with that, like any bad request.
        let request = CoordinationRequest(decoding: data)
        guard let (client, sequence) = request.map({ ($0.client, $0.sequence) }) ?? CoordinationRequest.decodeHeader(data) else {
            return (nil, nil)
        }
        // Client 0 is the nodes' own (the leader's clock, scheduler membership, claims, reports):
        // its entries are not client requests, so they are never deduplicated and never answered
        // from the cache; only node commands run under it, and only under it.
        let fromNodes = client == 0
        let sessionAnswer = fromNodes ? nil : sessionAnswers[client]
        if !fromNodes, let last = sessionAnswer ?? looseAnswers[client], sequence <= last.sequence {
            let result: CoordinationResult = sequence == last.sequence
                ? retryAnswer(last.result, to: request?.command, id: RequestID(client: client, sequence: sequence))
                : .refused(.invalidRequest("stale sequence \(sequence) < \(last.sequence)"))
            return (nil, Applied(client: client, sequence: sequence, result: result, events: []))
        }
        var events: [LockEvent] = []
        var touched: [UInt64] = []
        let result = execute(client: client, sequence: sequence, request: request, events: &events, touched: &touched)
        // The answer's snapshot encoding feeds the digest: compact, and no reflection (describing
        // the result as a String cost 65% of apply time in `bench locks`).
        let resultHash = CachedAnswer.resultHash(result)
        if !fromNodes {
            remember(CachedAnswer(sequence: sequence, result: result, resultHash: resultHash), for: client,
                     keptWithSession: sessionAnswer != nil, sessionChanged: request?.command.opensOrClosesSession ?? false)
        }
        for event in events { settleQueuedAcquire(event) }
        mix(client, sequence, resultHash)
        return (nil, Applied(client: client, sequence: sequence, result: result, events: events,
                             tasksTouched: touched))
    }

    /// Runs one request; `request` nil: its command did not decode.
    private mutating func execute(client: UInt64, sequence: UInt64, request: CoordinationRequest?, events: inout [LockEvent],
                                  touched: inout [UInt64]) -> CoordinationResult {
        let session = client
        let id = RequestID(client: client, sequence: sequence)
        do throws(CoordinationError) {
            guard let command = request?.command else { throw .invalidRequest(CoordinationRequest.malformedCommand) }
            if command.isNodeCommand != (session == 0) {
                throw session == 0 ? .reservedClient : .nodeOnly(command: command.nodeCommandName ?? "", client: session)
            }
            switch command {
            case .elapsed(let millis):
                let room = CoordinationLimits.clusterTimeMillisMax - nowMillis
                guard millis <= room else {
                    throw .invalidRequest("clock entry \(millis) ms would move cluster time past its end at "
                        + "\(CoordinationLimits.clusterTimeMillisMax) ms; accepted now: 0…\(room) ms")
                }
                nowMillis += millis
                kv.expire(nowMillis: nowMillis)
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
        countersHash.replace(current.map { Self.counterHash(counter, $0) }, with: value == 0 ? nil : Self.counterHash(counter, value))
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

    static func counterHash(_ name: String, _ value: Int64) -> UInt64 {
        var hasher = StateHasher(5)
        hasher.combine(name)
        hasher.combine(UInt64(bitPattern: value))
        return hasher.finalized
    }

    private mutating func mix(_ values: UInt64...) {
        for value in values { digest = StableHash.fold(digest, value) }
    }
}
