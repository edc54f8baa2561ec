import ConclaveCore

/// Snapshot encoding of the coordination state: the KV snapshot (length-prefixed, versioned on
/// its own: its version 2 added the keys' TTLs, so this outer format did not change), then cluster
/// time, digest, sessions, locks (holders and waiters in order), counters, fences, the config
/// store (revision, kept versions per key, watch events), worker leases, throttles and each
/// client's last answer — so a retry after a snapshot install still gets its first answer.
/// Maps are written in sorted key order, and the recency-bounded ones (fences, answers of
/// clients without a session) least recently written first, so that a restored replica forgets
/// the same entries next: equal states give equal bytes.
extension CoordinationStateMachine {
    private static let snapshotVersion: UInt8 = 4

    public func snapshotData() -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        writer.write(Self.snapshotVersion)
        let kvBytes = kv.snapshotData()
        writer.write(UInt64(kvBytes.count))
        writer.append(kvBytes)
        writer.write(nowMillis)
        writer.write(digest)
        writer.write(UInt64(sessions.sessions.count))
        for id in sessions.sessions.keys.sorted() {
            let session = sessions.sessions[id]!
            writer.write(session.id); writer.write(session.ttlMillis); writer.write(session.expiresAtMillis)
        }
        writer.write(locks.lastToken)
        writer.write(UInt64(locks.locks.count))
        for name in locks.locks.keys.sorted() { writer.write(locks.locks[name]!) }
        writer.write(UInt64(counters.count))
        for name in counters.keys.sorted() { writer.write(name); writer.write(UInt64(bitPattern: counters[name]!)) }
        writer.write(UInt64(fenceTokens.count))
        for (key, token) in fenceTokens.recencyOrder { writer.write(key); writer.write(token) }
        writer.write(config)
        writer.write(workers)
        writer.write(tasks)
        writer.write(throttles)
        writer.write(UInt64(sessionAnswers.count))
        for client in sessionAnswers.keys.sorted() { writer.write(client, sessionAnswers[client]!) }
        writer.write(UInt64(looseAnswers.count))
        for (client, answer) in looseAnswers.recencyOrder { writer.write(client, answer) }
        return writer.bytes
    }

    public init(restoring bytes: [UInt8]) throws(KVStateMachine.SnapshotError) {
        var reader = ByteReader(bytes)
        func fail(_ what: String) -> KVStateMachine.SnapshotError { .init(reason: "coordination snapshot: \(what)") }
        guard reader.readByte() == Self.snapshotVersion else { throw fail("unknown version") }
        guard let kvCount = reader.readUInt64(), let kvBytes = reader.readBytes(Int(clamping: kvCount)) else { throw fail("truncated KV part") }
        self.init()
        kv = try KVStateMachine(restoring: kvBytes)
        guard let now = reader.readUInt64(), let digest = reader.readUInt64(), let sessionCount = reader.readCount(of: 24) else {
            throw fail("truncated header")
        }
        guard now <= CoordinationLimits.clusterTimeMillisMax else { throw fail("cluster time \(now) ms is past its end") }
        nowMillis = now
        self.digest = digest
        for _ in 0..<sessionCount {
            guard let id = reader.readUInt64(), let ttl = reader.readUInt64(), let expires = reader.readUInt64() else { throw fail("truncated session") }
            sessions.restore(.init(id: id, ttlMillis: ttl, expiresAtMillis: expires))
        }
        guard let lastToken = reader.readUInt64(), let lockCount = reader.readCount(of: 8) else { throw fail("truncated locks") }
        var lockStates: [LockState] = []
        for _ in 0..<lockCount {
            guard let lock = reader.readLockState() else { throw fail("malformed lock") }
            lockStates.append(lock)
        }
        locks.restore(lastToken: lastToken, locks: lockStates)
        guard let counterCount = reader.readCount(of: 12), counterCount <= CoordinationLimits.countersMax else {
            throw fail("truncated counters")
        }
        for _ in 0..<counterCount {
            guard let name = reader.readString(), let value = reader.readUInt64() else { throw fail("truncated counter") }
            counters[name] = Int64(bitPattern: value)
            countersHash.replace(nil, with: Self.counterHash(name, Int64(bitPattern: value)))
        }
        guard let fenceCount = reader.readCount(of: 12), fenceCount <= fenceTokens.capacity else { throw fail("truncated fences") }
        for _ in 0..<fenceCount {
            guard let key = reader.readString(), let token = reader.readUInt64() else { throw fail("truncated fence") }
            fenceTokens.set(key, token)
        }
        guard let config = reader.readConfig() else { throw fail("malformed config store") }
        self.config = config
        guard let workers = reader.readWorkers() else { throw fail("malformed worker leases") }
        self.workers = workers
        guard let tasks = reader.readDelayTaskTable() else { throw fail("malformed delay-task table") }
        self.tasks = tasks
        guard let throttles = reader.readThrottles() else { throw fail("malformed throttles") }
        self.throttles = throttles
        try readAnswers(from: &reader, withSession: true, fail: fail)
        try readAnswers(from: &reader, withSession: false, fail: fail)
        guard reader.isAtEnd else { throw fail("trailing bytes") }
        if let problem = restoredStateProblem() { throw fail(problem) }
    }
}

extension CoordinationStateMachine {
    /// Reads one list of kept answers: those of live sessions, or those of clients without one.
    private mutating func readAnswers(from reader: inout ByteReader, withSession: Bool,
                                      fail: (String) -> KVStateMachine.SnapshotError) throws(KVStateMachine.SnapshotError) {
        guard let count = reader.readCount(of: 17), count <= (withSession ? CoordinationLimits.sessionsMax : looseAnswers.capacity)
        else { throw fail("truncated answers") }
        for _ in 0..<count {
            guard let client = reader.readUInt64(), let sequence = reader.readUInt64(), let result = reader.readResult(),
                  client != 0, sessions.contains(client) == withSession else { throw fail("malformed answer") }
            let answer = CachedAnswer(sequence: sequence, result: result)
            if withSession { storeSessionAnswer(answer, for: client) } else { looseAnswers.set(client, answer) }
        }
    }
}

extension LockTable {
    mutating func restore(lastToken: UInt64, locks states: [LockState]) {
        self.lastToken = lastToken
        for state in states {
            var state = state
            state.refreshStateHash()
            locks[state.name] = state
            indexes.stateHash.replace(nil, with: state.cachedStateHash.value)
            indexes.noteDeadline(of: state, after: 0)
            for holder in state.holders { indexes.add(state.name, to: holder.session) }
            for waiter in state.waiters { indexes.add(state.name, to: waiter.session) }
        }
    }
}

// MARK: - Encoding of the nested values

extension ByteWriter {
    /// An optional number: a presence byte, then the value (every value, `UInt64.max` too).
    mutating func writeOptional(_ value: UInt64?) {
        if let value {
            write(UInt8(1))
            write(value)
        } else {
            write(UInt8(0))
        }
    }

    mutating func write(_ mode: LockMode) { write(mode.code); write(mode.permitCount) }

    mutating func write(_ lock: LockState) {
        write(lock.name); write(lock.kind.code); write(lock.kind.capacity)
        write(lock.lastToken); write(lock.lockDelayMillis); write(lock.unavailableUntilMillis)
        write(UInt64(lock.acquires)); write(UInt64(lock.refusals)); write(UInt64(lock.waits))
        write(UInt64(lock.recentWaitsMillis.count))
        for wait in lock.recentWaitsMillis { write(wait) }
        write(UInt64(lock.holders.count))
        for holder in lock.holders {
            write(holder.session); write(holder.mode); write(UInt64(holder.holdCount)); write(holder.token)
            write(holder.grantedAtMillis); writeOptional(holder.revokeAtMillis); writeOptional(holder.expiresAtMillis)
        }
        write(UInt64(lock.waiters.count))
        for waiter in lock.waiters {
            write(waiter.session); write(waiter.mode); write(waiter.request.client); write(waiter.request.sequence)
            write(waiter.enqueuedAtMillis); writeOptional(waiter.deadlineMillis); writeOptional(waiter.ttlMillis)
        }
    }

    mutating func write(_ version: ConfigStore.Version) { write(version.revision); write(version.value) }

    mutating func write(_ client: UInt64, _ answer: CoordinationStateMachine.CachedAnswer) {
        write(client); write(answer.sequence); write(answer.result)
    }

    mutating func write(_ config: ConfigStore) {
        write(config.revision)
        write(UInt64(config.history.count))
        for key in config.history.keys.sorted() {
            write(key)
            write(UInt64(config.history[key]!.count))
            for version in config.history[key]! { write(version) }
        }
        write(UInt64(config.events.count))
        for event in config.events { write(event.revision); write(event.key); write(event.value) }
    }

    mutating func write(_ workers: WorkerLeases) {
        write(UInt64(workers.leases.count))
        for worker in workers.leases.keys.sorted() {
            let lease = workers.leases[worker]!
            write(UInt64(worker)); write(lease.session); write(lease.deadlineMillis)
        }
        write(UInt64(workers.lastDeadlines.count))
        for worker in workers.lastDeadlines.keys.sorted() { write(UInt64(worker)); write(workers.lastDeadlines[worker]!) }
    }

    mutating func write(_ result: CoordinationResult) {
        switch result {
        case .done: write(UInt8(1))
        case .sessionOpened(let expires): write(UInt8(2)); write(expires)
        case .keptAlive(let expires): write(UInt8(3)); write(expires)
        case .acquire(.granted(let token, let holdCount)): write(UInt8(4)); write(token); write(UInt64(holdCount))
        case .acquire(.queued(let position)): write(UInt8(5)); write(UInt64(position))
        case .acquire(.refused(let holders)):
            write(UInt8(6)); write(UInt64(holders.count))
            for holder in holders { write(holder) }
        case .counter(let value): write(UInt8(7)); write(UInt64(bitPattern: value))
        case .fenced(let accepted, let reason): write(UInt8(8)); write(UInt8(accepted ? 1 : 0)); write(reason)
        case .refused(let error): write(UInt8(9)); write(error.description)
        case .configRevision(let revision): write(UInt8(10)); write(revision)
        case .configValue(let version):
            write(UInt8(11)); write(UInt8(version == nil ? 0 : 1))
            if let version { write(version) }
        case .configHistory(let versions):
            write(UInt8(12)); write(UInt64(versions.count))
            for version in versions { write(version) }
        case .configWatch(.compacted(let revision)): write(UInt8(13)); write(revision)
        case .configWatch(.events(let events, let upTo)):
            write(UInt8(14)); write(upTo); write(UInt64(events.count))
            for event in events { write(event.revision); write(event.key); write(event.value) }
        case .workerLeased(let worker, let startAfter): write(UInt8(15)); write(UInt64(worker)); write(startAfter)
        case .task(let result): write(UInt8(16)); write(result)
        case .throttled(let decision): write(UInt8(40)); write(decision)
        }
    }
}

extension ByteReader {
    /// A count whose items take at least `minimumBytes` each: refused when the input is too short
    /// to hold them (so a corrupt count cannot make us allocate or loop for nothing).
    mutating func readCount(of minimumBytes: Int) -> Int? {
        guard let count = readUInt64(), count <= UInt64(remaining / max(1, minimumBytes)) else { return nil }
        return Int(count)
    }

    /// Reads what `writeOptional` wrote; the outer nil means malformed input.
    mutating func readOptional() -> UInt64?? {
        switch readByte() {
        case 0: return .some(nil)
        case 1: return readUInt64().map { .some($0) }
        default: return nil
        }
    }

    mutating func readMode() -> LockMode? {
        guard let code = readByte(), let permits = readInt() else { return nil }
        return LockMode(code: code, permits: permits)
    }

    /// A lock mode held or queued in a snapshot: as a request may carry, but only ones it was granted with.
    mutating func readStateMode() -> LockMode? {
        guard let mode = readMode(), (1...CoordinationLimits.permitsMax).contains(mode.permitCount) else { return nil }
        return mode
    }

    mutating func readLockState() -> LockState? {
        guard let name = readString(), let kindCode = readByte(), let capacity = readInt(),
              (1...CoordinationLimits.permitsMax).contains(capacity),
              let kind = LockKind(code: kindCode, capacity: capacity), let lastToken = readUInt64(),
              let delay = readUInt64(), CoordinationLimits.durationMillisRange.contains(delay),
              let unavailable = readUInt64(), let acquires = readUInt64(),
              let refusals = readUInt64(), let waits = readUInt64(), let waitCount = readCount(of: 8),
              waitCount <= LockState.recentWaitsMax else { return nil }
        var recentWaits: [UInt64] = []
        for _ in 0..<waitCount {
            guard let wait = readUInt64() else { return nil }
            recentWaits.append(wait)
        }
        guard let holderCount = readCount(of: 43) else { return nil }
        var lock = LockState(name: name, kind: kind, lockDelayMillis: delay)
        lock.lastToken = lastToken
        lock.unavailableUntilMillis = unavailable
        lock.acquires = Int(clamping: acquires)
        lock.refusals = Int(clamping: refusals)
        lock.waits = Int(clamping: waits)
        lock.recentWaitsMillis = recentWaits
        for _ in 0..<holderCount {
            guard let session = readUInt64(), let mode = readStateMode(), let holds = readUInt64(), let token = readUInt64(),
                  let granted = readUInt64(), let revoke = readOptional(), let expires = readOptional() else { return nil }
            lock.holders.append(LockHolder(session: session, mode: mode, holdCount: Int(clamping: holds), token: token,
                                           grantedAtMillis: granted, revokeAtMillis: revoke, expiresAtMillis: expires))
        }
        guard let waiterCount = readCount(of: 43) else { return nil }
        for _ in 0..<waiterCount {
            guard let session = readUInt64(), let mode = readStateMode(), let client = readUInt64(), let sequence = readUInt64(),
                  let enqueued = readUInt64(), let deadline = readOptional(), let ttl = readOptional() else { return nil }
            lock.appendWaiter(LockWaiter(session: session, mode: mode, request: RequestID(client: client, sequence: sequence),
                                           enqueuedAtMillis: enqueued, deadlineMillis: deadline, ttlMillis: ttl))
        }
        return lock
    }

    mutating func readResult() -> CoordinationResult? {
        switch readByte() {
        case 1: return .done
        case 2: return readUInt64().map { .sessionOpened(expiresAtMillis: $0) }
        case 3: return readUInt64().map { .keptAlive(expiresAtMillis: $0) }
        case 4:
            guard let token = readUInt64(), let holds = readUInt64() else { return nil }
            return .acquire(.granted(token: token, holdCount: Int(clamping: holds)))
        case 5: return readUInt64().map { .acquire(.queued(position: Int(clamping: $0))) }
        case 6:
            guard let count = readCount(of: 8) else { return nil }
            var holders: [UInt64] = []
            for _ in 0..<count { guard let holder = readUInt64() else { return nil }; holders.append(holder) }
            return .acquire(.refused(heldBy: holders))
        case 7: return readUInt64().map { .counter(Int64(bitPattern: $0)) }
        case 8:
            guard let accepted = readByte(), let reason = readString() else { return nil }
            return .fenced(accepted: accepted == 1, reason: reason)
        case 9: return readString().map { .refused(.restored($0)) }
        case 10: return readUInt64().map { .configRevision($0) }
        case 11:
            switch readByte() {
            case 0: return .configValue(nil)
            case 1: return readVersion().map { .configValue($0) }
            default: return nil
            }
        case 12: return readVersions().map { .configHistory($0) }
        case 13: return readUInt64().map { .configWatch(.compacted(relistFrom: $0)) }
        case 14:
            guard let upTo = readUInt64(), let events = readEvents() else { return nil }
            return .configWatch(.events(events, upTo: upTo))
        case 15:
            guard let worker = readUInt64(), worker <= UInt64(WorkerLeases.workersMaxLimit), let startAfter = readUInt64() else { return nil }
            return .workerLeased(worker: Int(worker), startAfterMillis: startAfter)
        case 16: return readTaskResult().map { .task($0) }
        case 40: return readDecision().map { .throttled($0) }
        default: return nil
        }
    }

    mutating func readVersion() -> ConfigStore.Version? {
        guard let revision = readUInt64(), let value = readOptionalString() else { return nil }
        return ConfigStore.Version(revision: revision, value: value)
    }

    mutating func readVersions() -> [ConfigStore.Version]? {
        guard let count = readCount(of: 9) else { return nil }
        var versions: [ConfigStore.Version] = []
        for _ in 0..<count {
            guard let version = readVersion() else { return nil }
            versions.append(version)
        }
        return versions
    }

    mutating func readEvents() -> [ConfigStore.Event]? {
        guard let count = readCount(of: 13) else { return nil }
        var events: [ConfigStore.Event] = []
        for _ in 0..<count {
            guard let revision = readUInt64(), let key = readString(), let value = readOptionalString() else { return nil }
            events.append(ConfigStore.Event(revision: revision, key: key, value: value))
        }
        return events
    }

    mutating func readWorkers() -> WorkerLeases? {
        var workers = WorkerLeases()
        guard let leaseCount = readCount(of: 24) else { return nil }
        for _ in 0..<leaseCount {
            guard let worker = readUInt64(), worker < UInt64(WorkerLeases.workersMaxLimit), let session = readUInt64(),
                  let deadline = readUInt64() else { return nil }
            workers.store(.init(worker: Int(worker), session: session, deadlineMillis: deadline), of: Int(worker))
        }
        guard let deadlineCount = readCount(of: 16) else { return nil }
        for _ in 0..<deadlineCount {
            guard let worker = readUInt64(), worker < UInt64(WorkerLeases.workersMaxLimit), let deadline = readUInt64() else { return nil }
            workers.record(deadline, of: Int(worker))
        }
        return workers
    }

    mutating func readConfig() -> ConfigStore? {
        guard let revision = readUInt64(), let keyCount = readCount(of: 12) else { return nil }
        var config = ConfigStore()
        config.revision = revision
        for _ in 0..<keyCount {
            guard let key = readString(), let versions = readVersions() else { return nil }
            config.history[key] = versions
        }
        guard let events = readEvents() else { return nil }
        config.events = events[...]
        config.rebuildStateHash()
        return config
    }
}
