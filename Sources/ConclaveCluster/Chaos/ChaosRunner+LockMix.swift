import ConclaveCore
import ConclaveCoordination

/// The lock mix (`--workload locks`): lock clients use the whole lock service, so that the checker
/// sees every rule of README's "History operations beyond ../shared/HISTORY.md":
/// - try-locks on a plain mutex, recorded in HISTORY.md's fields only (the two-integer model);
/// - a queue mutex with blocking acquires (waits of 30–200 ms, a quarter of them cancelled while
///   queued), reentrant holds and a 150 ms lock-delay (sessions end: clients "crash" while holding,
///   half of them closing their session at once);
/// - a read/write lock (readers and writers, try and blocking, reentrant) and a semaphore of 3
///   permits (1 or 2 at a time, asked again for more);
/// - revokes of any of the last three with a 30–150 ms grace; holders let go when asked;
/// - fenced writes by the exclusive holders of the queue mutex and the read/write lock to each
///   lock's fence key, plus writes that must be refused: a token another lock granted, and a token
///   of a hold let go of after a newer token's write landed.
/// Lock names are retired for fresh ones every `keyLifetimeOperations` operations, and an expire is
/// recorded only for the locks a session asked for, so each key's search stays small.
extension ChaosRunner {
    /// One kind of lock in the mix.
    struct LockMixSlot {
        var prefix: String
        var kind: LockKind
        var lockDelayMillis: UInt64
        /// HISTORY.md's try-lock mutex: no waits, no revokes, no reentrant holds, no extra fields.
        var isPlain: Bool
        /// Exclusive holders write the lock's fence key with their token.
        var isFenced: Bool
    }

    static let lockMixSlots = [
        LockMixSlot(prefix: "mutex", kind: .mutex, lockDelayMillis: 0, isPlain: true, isFenced: false),
        LockMixSlot(prefix: "queue", kind: .mutex, lockDelayMillis: 150, isPlain: false, isFenced: true),
        LockMixSlot(prefix: "rw", kind: .readWrite, lockDelayMillis: 0, isPlain: false, isFenced: true),
        LockMixSlot(prefix: "sem", kind: .semaphore(permits: 3), lockDelayMillis: 0, isPlain: false, isFenced: false),
    ]

    /// Tokens of past holds a client keeps for stale writes.
    static let pastTokensMax = 4

    /// The next request of a lock-mix client with an open, fresh session (nil: think a while).
    func lockMixCommand(_ slot: Int) -> (CoordinationCommand, HistoryOperation?)? {
        if let (lock, hold) = clients[slot].holds.min(by: { $0.key < $1.key }) {
            return holderCommand(slot, lock: lock, hold: hold)
        }
        let roll = random.next() % 100
        if roll < 5 { return revokeCommand(slot) }
        if roll < 10, let stale = staleWrite(slot) { return stale }
        return acquireCommand(slot)
    }

    private func holderCommand(_ slot: Int, lock: String, hold: LockMixHold) -> (CoordinationCommand, HistoryOperation?)? {
        let client = clients[slot]
        let now = simulator.now
        if now >= hold.releaseAt {
            return (.release(lock: lock), HistoryOperation(client: client.historyNumber, kind: .release, key: lock, call: now))
        }
        let kind = Self.lockMixSlots[hold.slot]
        let roll = random.next() % 100
        switch roll {
        case 0..<1:
            crash(slot)
            return nil
        case 1..<40 where kind.isFenced && hold.mode == .exclusive:
            return fencedWrite(slot, key: fenceKey(of: lock), lock: lock, token: hold.tokens.last ?? 0)
        case 40..<50:
            // A token this lock granted, on another lock's fence key: must be refused.
            let others = Self.lockMixSlots.indices.filter { Self.lockMixSlots[$0].isFenced && lockMixName($0) != lock }
            guard !others.isEmpty else { return nil }
            let target = lockMixName(others[Int(random.next() % UInt64(others.count))])
            return fencedWrite(slot, key: fenceKey(of: target), lock: target, token: hold.tokens.last ?? 0)
        case 50..<62 where !kind.isPlain && hold.count < 3:
            let mode: LockMode = if case .permits = hold.mode { .permits(1) } else { hold.mode }
            return acquire(slot, lock: lock, kindSlot: hold.slot, mode: mode, waitMillis: nil)
        default:
            return nil
        }
    }

    private func acquireCommand(_ slot: Int) -> (CoordinationCommand, HistoryOperation?) {
        let kindSlot = Int(random.next() % UInt64(Self.lockMixSlots.count))
        let kind = Self.lockMixSlots[kindSlot]
        let lock = lockMixName(kindSlot, counting: true)
        let mode: LockMode = switch kind.kind {
        case .mutex: .exclusive
        case .readWrite: random.next() % 5 < 3 ? .shared : .exclusive
        case .semaphore: .permits(1 + Int(random.next() % 2))
        }
        let waitMillis: UInt64? = !kind.isPlain && random.next() % 2 == 0 ? 30 + random.next() % 171 : nil
        // A waiting client sends no keep-alive: start the wait on a freshly renewed lease.
        if waitMillis != nil && simulator.now - clients[slot].lastKeepAliveCall > options.sessionTTLMillis * 1_000_000 / 8 {
            return (.keepAlive, nil)
        }
        return acquire(slot, lock: lock, kindSlot: kindSlot, mode: mode, waitMillis: waitMillis)
    }

    private func acquire(_ slot: Int, lock: String, kindSlot: Int, mode: LockMode, waitMillis: UInt64?) -> (CoordinationCommand, HistoryOperation?) {
        let kind = Self.lockMixSlots[kindSlot]
        clients[slot].touchedLocks.insert(lock)
        var operation = HistoryOperation(client: clients[slot].historyNumber, kind: .acquire, key: lock, call: simulator.now)
        if !kind.isPlain {
            switch mode {
            case .exclusive: operation.mode = .exclusive
            case .shared: operation.mode = .shared
            case .permits(let count):
                guard case .semaphore(let capacity) = kind.kind else { break }
                (operation.mode, operation.permits, operation.capacity) = (.permits, count, capacity)
            }
            operation.waitMillis = waitMillis
            operation.delayMillis = kind.lockDelayMillis > 0 ? kind.lockDelayMillis : nil
        }
        let command = CoordinationCommand.acquire(lock: lock, kind: kind.kind, mode: mode, waitMillis: waitMillis, ttlMillis: nil,
                                                  lockDelayMillis: kind.lockDelayMillis)
        return (command, operation)
    }

    private func revokeCommand(_ slot: Int) -> (CoordinationCommand, HistoryOperation?) {
        let kindSlot = 1 + Int(random.next() % UInt64(Self.lockMixSlots.count - 1))
        let lock = lockMixName(kindSlot, counting: true)
        let grace = 30 + random.next() % 121
        let operation = HistoryOperation(client: clients[slot].historyNumber, kind: .revoke, key: lock, graceMillis: grace, call: simulator.now)
        return (.revoke(lock: lock, graceMillis: grace), operation)
    }

    /// A write with the token of a hold let go of, on a key where a newer token's write landed.
    private func staleWrite(_ slot: Int) -> (CoordinationCommand, HistoryOperation?)? {
        guard let past = clients[slot].pastTokens.last(where: { (lockMix.fenceHighest[fenceKey(of: $0.lock)] ?? 0) > $0.token }) else {
            return nil
        }
        return fencedWrite(slot, key: fenceKey(of: past.lock), lock: past.lock, token: past.token)
    }

    private func fencedWrite(_ slot: Int, key: String, lock: String, token: UInt64) -> (CoordinationCommand, HistoryOperation?) {
        let client = clients[slot]
        let value = "c\(client.historyNumber)-\(client.sequence + 1)"
        lockMix.fenceKeys.insert(key)
        let operation = HistoryOperation(client: client.historyNumber, kind: .fencedPut, key: key, value: value, token: token,
                                         lock: lock, call: simulator.now)
        return (.fencedPut(key: key, value: value, lock: lock, token: token), operation)
    }

    /// The client stops keeping its session alive while holding, as a crashed process would; half
    /// the time its session is closed at once (fire and forget), so the lock-delay starts now.
    private func crash(_ slot: Int) {
        let close = CoordinationRequest(client: clients[slot].session, sequence: clients[slot].sequence + 1, command: .closeSession)
        abandonSession(slot)
        if random.next() % 2 == 0 { _ = simulator.submit(close, to: clients[slot].preferredNode) }
    }

    /// The current name of a slot's lock; `counting` an operation on it retires the name after
    /// `keyLifetimeOperations`.
    func lockMixName(_ kindSlot: Int, counting: Bool = false) -> String {
        if counting {
            lockMix.operations[kindSlot] += 1
            if lockMix.operations[kindSlot] > options.keyLifetimeOperations {
                lockMix.epochs[kindSlot] += 1
                lockMix.operations[kindSlot] = 1
            }
        }
        return "\(Self.lockMixSlots[kindSlot].prefix)-\(lockMix.epochs[kindSlot])"
    }

    func fenceKey(of lock: String) -> String { "fence/\(lock)" }
}

// MARK: - Answers

extension ChaosRunner {
    /// A lock-mix client's request was answered (for a session it may have given up since).
    func lockMixAnswered(_ slot: Int, from node: NodeID, inFlight: CoordinationInFlight, result: CoordinationResult) {
        callAnswered(slot, by: node)
        if case .acquire(.queued) = result, inFlight.operation?.waitMillis != nil {
            waitQueued(slot, at: node)
            return
        }
        clients[slot].coordination = nil
        checkLease(slot)
        let abandoned = inFlight.request.client != clients[slot].session
        let holder = Int(inFlight.request.client) - 1
        switch (inFlight.request.command, result) {
        case (.openSession, .sessionOpened), (.keepAlive, .keptAlive):
            if !abandoned { sessionRenewed(slot, inFlight) }
        case (.acquire(let lock, _, let mode, _, _, _), .acquire(.granted(let token, let holdCount))):
            let holds = inFlight.operation?.mode == nil ? nil : holdCount
            recordAnswered(inFlight.operation, ok: true, token: token, holds: holds)
            if abandoned {
                recordExpires(holder: holder, locks: [lock])
            } else {
                granted(slot, lock: lock, mode: mode, token: token, holdCount: holdCount)
            }
        case (.acquire, .acquire(.refused)):
            recordAnswered(inFlight.operation, ok: false, token: nil)
        case (.acquire, .refused(.waitEnded)) where inFlight.operation?.waitMillis != nil:
            recordAnswered(inFlight.operation, ok: false, token: nil)  // the wait ended: no hold
        case (.release(let lock), .done):
            recordAnswered(inFlight.operation, ok: true, token: nil)
            if !abandoned { released(slot, lock: lock) }
        case (.release(let lock), .refused(.notOwner)), (.release(let lock), .refused(.unknownLock)):
            recordAnswered(inFlight.operation, ok: false, token: nil)
            if !abandoned { dropHold(slot, lock: lock, token: nil) }
        case (.fencedPut(let key, _, _, let token), .fenced(let accepted, _)):
            recordAnswered(inFlight.operation, ok: accepted, token: token)
            if accepted { lockMix.fenceHighest[key] = max(lockMix.fenceHighest[key] ?? 0, token) }
        case (.revoke, .done), (.revoke, .refused(.unknownLock)):
            recordAnswered(inFlight.operation, ok: result == .done, token: nil)
        default:
            // Session upkeep refused (the lease is gone), or an answer that does not say what
            // happened (a stale sequence): unknown, and an acquire may have left a hold.
            if var operation = inFlight.operation {
                operation.returnTime = nil
                record(operation)
            }
            if case .acquire(let lock, _, _, _, _, _) = inFlight.request.command, abandoned {
                recordExpires(holder: holder, locks: [lock])
            }
            if !abandoned { abandonSession(slot) }
        }
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
    }

    /// A blocking acquire was queued at `node`, which answers again when it is granted or its wait
    /// ends. Wait that long and one attempt more before asking again; maybe cancel the wait first.
    private func waitQueued(_ slot: Int, at node: NodeID) {
        guard var inFlight = clients[slot].coordination else { return }
        let now = simulator.now
        if inFlight.queuedAt == nil {
            let waitNanos = (inFlight.operation?.waitMillis ?? 0) * 1_000_000
            inFlight.retryAt = now + waitNanos + options.attemptTimeoutNanos
            if inFlight.request.client == clients[slot].session && random.next() % 4 == 0 {
                inFlight.cancelAt = now + random.next() % max(1, waitNanos)
            }
        } else {
            inFlight.retryAt = now + options.attemptTimeoutNanos
        }
        inFlight.queuedAt = node
        clients[slot].coordination = inFlight
        scheduleClient(slot, after: min(inFlight.cancelAt ?? .max, inFlight.retryAt) - now)
    }

    /// The timer of a client whose blocking acquire is queued: cancel the wait when planned; once
    /// the wait should have been answered, a cancelled one ended refused, and any other is asked
    /// about again (false: go on with the usual retry).
    func lockMixWaitTimer(_ slot: Int) -> Bool {
        guard var inFlight = clients[slot].coordination, let node = inFlight.queuedAt else { return false }
        let now = simulator.now
        if let cancelAt = inFlight.cancelAt, now >= cancelAt {
            inFlight.cancelAt = nil
            clients[slot].coordination = inFlight
            sendCancel(slot, of: inFlight, to: node)
        }
        if now < inFlight.retryAt {
            scheduleClient(slot, after: min(inFlight.cancelAt ?? .max, inFlight.retryAt) - now)
            return true
        }
        guard inFlight.cancelConfirmed else { return false }
        // The cancel was applied while the acquire waited, so the wait ended without a grant; its
        // own answer was lost.
        clients[slot].coordination = nil
        recordAnswered(inFlight.operation, ok: false, token: nil)
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
        return true
    }

    /// Sends a cancel of the queued acquire to the node that holds its wait, once. Its answer may
    /// come after the acquire's; unanswered, it gets unknown outcome when the client sends another
    /// cancel or gives up its session, or when the run ends.
    private func sendCancel(_ slot: Int, of inFlight: CoordinationInFlight, to node: NodeID) {
        guard case .acquire(let lock, _, _, _, _, _) = inFlight.request.command, inFlight.request.client == clients[slot].session else { return }
        settleCancel(slot)
        clients[slot].sequence += 1
        let request = CoordinationRequest(client: clients[slot].session, sequence: clients[slot].sequence,
                                          command: .cancelWait(lock: lock, sequence: inFlight.request.sequence))
        let operation = HistoryOperation(client: clients[slot].historyNumber, kind: .cancel, key: lock, call: simulator.now)
        guard case .accepted = simulator.submit(request, to: node) else { return }
        clients[slot].cancelling = CoordinationInFlight(request: request, operation: operation, deadline: inFlight.deadline, everAccepted: true)
    }

    /// The cancel's answer: recorded; a `.done` means the acquire it cancelled ends refused.
    func cancelAnswered(_ slot: Int, result: CoordinationResult) {
        guard let cancel = clients[slot].cancelling else { return }
        clients[slot].cancelling = nil
        recordAnswered(cancel.operation, ok: result == .done, token: nil)
        guard result == .done, var inFlight = clients[slot].coordination,
              case .cancelWait(_, let sequence) = cancel.request.command, inFlight.request.sequence == sequence else { return }
        inFlight.cancelConfirmed = true
        inFlight.retryAt = simulator.now + options.attemptTimeoutNanos
        clients[slot].coordination = inFlight
        scheduleClient(slot, after: options.attemptTimeoutNanos)
    }

    /// A cancel still unanswered gets unknown outcome.
    func settleCancel(_ slot: Int) {
        guard var operation = clients[slot].cancelling?.operation else { return }
        clients[slot].cancelling = nil
        operation.returnTime = nil
        record(operation)
    }

    private func granted(_ slot: Int, lock: String, mode: LockMode, token: UInt64, holdCount: Int) {
        guard let kindSlot = Self.lockMixSlots.firstIndex(where: { lock.hasPrefix($0.prefix + "-") }) else { return }
        if var hold = clients[slot].holds[lock] {
            if case .permits = hold.mode {
                hold.tokens.append(token)
                hold.count += 1
            } else if hold.tokens == [token] {
                hold.count = holdCount
            } else {
                hold.tokens = [token]  // lost since, unnoticed: this is a new hold
                hold.count = holdCount
            }
            clients[slot].holds[lock] = hold
            return
        }
        let releaseAt = simulator.now + 20_000_000 + random.next() % 200_000_000
        clients[slot].holds[lock] = LockMixHold(slot: kindSlot, mode: mode, tokens: [token], count: holdCount, releaseAt: releaseAt)
    }

    private func released(_ slot: Int, lock: String) {
        guard var hold = clients[slot].holds[lock] else { return }
        hold.count -= 1
        guard hold.count > 0 else {
            dropHold(slot, lock: lock, token: nil)
            return
        }
        if case .permits = hold.mode, hold.tokens.count > 1 { rememberPast(slot, lock: lock, token: hold.tokens.removeFirst()) }
        clients[slot].holds[lock] = hold
    }

    /// The hold (or, for a semaphore holder's `token`, that one) is gone; its tokens become past ones.
    private func dropHold(_ slot: Int, lock: String, token: UInt64?) {
        guard var hold = clients[slot].holds[lock] else { return }
        if let token, case .permits = hold.mode, hold.tokens.count > 1, let position = hold.tokens.firstIndex(of: token) {
            hold.tokens.remove(at: position)
            hold.count -= 1
            clients[slot].holds[lock] = hold
            rememberPast(slot, lock: lock, token: token)
            return
        }
        clients[slot].holds[lock] = nil
        for past in hold.tokens { rememberPast(slot, lock: lock, token: past) }
    }

    private func rememberPast(_ slot: Int, lock: String, token: UInt64) {
        clients[slot].pastTokens.append((lock, token))
        if clients[slot].pastTokens.count > Self.pastTokensMax { clients[slot].pastTokens.removeFirst() }
    }

    /// A holder hears it is asked to let go (it releases at its next step) or that it lost a hold.
    func lockMixEvent(_ event: LockEvent) {
        switch event {
        case .revokeRequested(let lock, let session, _):
            guard let slot = clients.firstIndex(where: { $0.isLockMixClient && $0.session == session }),
                  clients[slot].holds[lock] != nil else { return }
            clients[slot].holds[lock]?.releaseAt = simulator.now
        case .lost(let lock, let session, let token, _):
            guard let slot = clients.firstIndex(where: { $0.isLockMixClient && $0.session == session }),
                  clients[slot].holds[lock]?.tokens.contains(token) == true else { return }
            dropHold(slot, lock: lock, token: token)
        case .granted, .waitEnded:
            break
        }
    }
}
