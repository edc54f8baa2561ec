import ConclaveCore
import ConclaveCoordination

/// Lock clients: each opens a session and keeps it alive. Try-lock clients (`trylocks`, `mixed`)
/// take try-locks on a few lock names, holding each for a while before releasing it; lock-mix
/// clients (`locks`) use the whole lock service (`ChaosRunner+LockMix`). Their operations go into
/// the history; when a client can no longer trust its lease (a keep-alive failed or timed out, or
/// any request's outcome is unknown), it records an `expire` with itself as holder for every lock
/// it may hold (try-lock clients: every lock in play; lock-mix clients: every lock its session
/// asked for) and goes on under a new number and session.
extension ChaosRunner {
    static let lockNames = 3

    /// Past its trust window a client can no longer count on its lease, whatever it is doing.
    func checkLease(_ slot: Int) {
        if clients[slot].sessionOpen && simulator.now >= clients[slot].leaseTrustedUntil { abandonSession(slot) }
    }

    func lockClientStep(_ slot: Int) {
        let now = simulator.now
        checkLease(slot)
        let client = clients[slot]
        let command: CoordinationCommand
        var operation: HistoryOperation?
        if !client.sessionOpen {
            command = .openSession(ttlMillis: options.sessionTTLMillis)
        } else if now - client.lastKeepAliveCall >= options.sessionTTLMillis * 1_000_000 / 4 {
            command = .keepAlive
        } else if client.isIDClient {
            guard let idCommand = idCommand(slot) else {
                issueIDs(slot)
                scheduleClient(slot, after: 5_000_000 + random.next() % max(1, options.thinkNanosMax))
                return
            }
            command = idCommand
        } else if client.isLockMixClient {
            guard let (mixCommand, mixOperation) = lockMixCommand(slot) else {
                // Thinking while holding, or just crashed (a new session opens soon).
                let pause: UInt64 = clients[slot].sessionOpen ? 10_000_000 : 0
                scheduleClient(slot, after: pause + random.next() % max(1, options.thinkNanosMax))
                return
            }
            (command, operation) = (mixCommand, mixOperation)
        } else if let (lock, until) = client.held.min(by: { $0.key < $1.key }), now >= until {
            command = .release(lock: lock)
            operation = HistoryOperation(client: client.historyNumber, kind: .release, key: lock, call: now)
        } else if client.held.isEmpty {
            let lock = lockName(Int(random.next() % UInt64(Self.lockNames)))
            command = .acquire(lock: lock, kind: .mutex, mode: .exclusive, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0)
            operation = HistoryOperation(client: client.historyNumber, kind: .acquire, key: lock, call: now)
        } else {
            scheduleClient(slot, after: 10_000_000 + random.next() % max(1, options.thinkNanosMax))
            return
        }
        clients[slot].sequence += 1
        if case .keepAlive = command { clients[slot].lastKeepAliveCall = now }
        let request = CoordinationRequest(client: clients[slot].session, sequence: clients[slot].sequence, command: command)
        let waitNanos = (operation?.waitMillis ?? 0) * 1_000_000
        clients[slot].coordination = CoordinationInFlight(request: request, operation: operation,
                                                          deadline: now + waitNanos + options.operationTimeoutNanos)
        routeNewCall(slot)
        attemptCoordination(slot)
    }

    func lockName(_ number: Int) -> String { "lock-\(number)" }

    func attemptCoordination(_ slot: Int) {
        guard let inFlight = clients[slot].coordination else { return }
        if followUp(submitRouted(slot) { simulator.submit(inFlight.request, to: $0) }, slot: slot) {
            clients[slot].coordination?.everAccepted = true
        }
    }

    /// The lock client's timer: retry, or give up on the request.
    func lockClientTimerFired(_ slot: Int) {
        checkLease(slot)
        guard let inFlight = clients[slot].coordination else {
            if !stopping { lockClientStep(slot) }
            return
        }
        if clients[slot].isLockMixClient && lockMixWaitTimer(slot) { return }
        callFailed(slot)
        if simulator.now < inFlight.deadline {
            attemptCoordination(slot)
            return
        }
        clients[slot].coordination = nil
        if inFlight.everAccepted, var operation = inFlight.operation {
            operation.returnTime = nil
            record(operation)
        }
        if inFlight.request.client != clients[slot].session {
            // Already abandoned while this was in flight; an unknown acquire may still have
            // taken effect after those expires, so say once more that its hold may lapse.
            if inFlight.everAccepted { recordExpires(holder: Int(inFlight.request.client) - 1, after: inFlight.request.command) }
        } else if inFlight.everAccepted || clients[slot].sessionOpen {
            abandonSession(slot)
        }
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
    }

    func handleCoordinationReply(from node: NodeID, client session: UInt64, sequence: UInt64, result: CoordinationResult) {
        if let slot = clients.firstIndex(where: { $0.cancelling?.request.client == session && $0.cancelling?.request.sequence == sequence }) {
            cancelAnswered(slot, result: result)
            return
        }
        guard let slot = clients.firstIndex(where: {
            $0.coordination?.request.client == session && $0.coordination?.request.sequence == sequence
        }), let inFlight = clients[slot].coordination else { return }
        if clients[slot].isLockMixClient {
            lockMixAnswered(slot, from: node, inFlight: inFlight, result: result)
            return
        }
        clients[slot].coordination = nil
        callAnswered(slot, by: node)
        checkLease(slot)
        if inFlight.request.client != clients[slot].session {
            answeredAfterAbandon(inFlight, result: result)
            scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
            return
        }
        let now = simulator.now
        switch (inFlight.request.command, result) {
        case (.openSession, .sessionOpened), (.keepAlive, .keptAlive):
            sessionRenewed(slot, inFlight)
        case (.acquire(let lock, _, _, _, _, _), .acquire(.granted(let token, _))):
            recordAnswered(inFlight.operation, ok: true, token: token)
            clients[slot].held[lock] = now + 20_000_000 + random.next() % 200_000_000
        case (.acquire, .acquire(.refused)):
            recordAnswered(inFlight.operation, ok: false, token: nil)
        case (.release(let lock), .done):
            recordAnswered(inFlight.operation, ok: true, token: nil)
            clients[slot].held[lock] = nil
        case (.release(let lock), .refused(.notOwner)):
            recordAnswered(inFlight.operation, ok: false, token: nil)
            clients[slot].held[lock] = nil
        case (.leaseWorker(_, let deadline), .workerLeased(let worker, let startAfter)):
            workerLeased(slot, worker: worker, startAfterMillis: startAfter, deadlineMillis: deadline)
        default:
            // Refused for another reason (the session is gone): it took no effect; the lease is lost.
            abandonSession(slot)
        }
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
    }

    /// The session was opened or kept alive: trusted for a third of its TTL from the request's call.
    func sessionRenewed(_ slot: Int, _ inFlight: CoordinationInFlight) {
        clients[slot].sessionOpen = true
        let call = inFlight.request.command == .keepAlive ? clients[slot].lastKeepAliveCall : inFlight.deadline - options.operationTimeoutNanos
        clients[slot].leaseTrustedUntil = call + options.sessionTTLMillis * 1_000_000 / 3
        if case .openSession = inFlight.request.command { clients[slot].lastKeepAliveCall = call }
    }

    /// The answer to a request of a session the client already gave up: record what happened; a
    /// grant that arrived now may outlive the expires recorded at abandonment, so record another.
    private func answeredAfterAbandon(_ inFlight: CoordinationInFlight, result: CoordinationResult) {
        switch (inFlight.request.command, result) {
        case (.acquire, .acquire(.granted(let token, _))):
            recordAnswered(inFlight.operation, ok: true, token: token)
            recordExpires(holder: Int(inFlight.request.client) - 1, after: inFlight.request.command)
        case (.acquire, .acquire(.refused)), (.release, .refused(.notOwner)):
            recordAnswered(inFlight.operation, ok: false, token: nil)
        case (.release, .done):
            recordAnswered(inFlight.operation, ok: true, token: nil)
        default:
            break  // session upkeep, or refused without effect
        }
    }

    func recordAnswered(_ operation: HistoryOperation?, ok: Bool, token: UInt64?, holds: Int? = nil) {
        guard var operation else { return }
        operation.returnTime = simulator.now
        operation.ok = ok
        operation.token = token
        operation.holds = holds
        record(operation)
        if healed && ok { succeededAfterHeal += 1 }
    }

    /// Whatever `holder` holds of `locks` may be freed by its lease's expiry at any time from now.
    func recordExpires(holder: Int, locks: [String]) {
        for lock in locks {
            record(HistoryOperation(client: nextHistoryNumber, kind: .expire, key: lock, holder: holder, call: simulator.now))
            nextHistoryNumber += 1
        }
    }

    /// After `command` of a given-up session had an unknown outcome: an acquire may hold its lock
    /// (a try-lock client's: any lock in play) until the session's lease expires.
    private func recordExpires(holder: Int, after command: CoordinationCommand) {
        guard case .acquire(let lock, _, _, _, _, _) = command else {
            if !isLockMixWorkload { recordExpires(holder: holder, locks: (0..<Self.lockNames).map(lockName)) }
            return
        }
        recordExpires(holder: holder, locks: isLockMixWorkload ? [lock] : (0..<Self.lockNames).map(lockName))
    }

    private var isLockMixWorkload: Bool { options.workload == .locks }

    /// The client's lease may be gone: whatever it held may be freed by expiry at any time from
    /// now. Record that, then continue as a new client with a new session.
    func abandonSession(_ slot: Int) {
        if clients[slot].isLockMixClient {
            recordExpires(holder: clients[slot].historyNumber, locks: clients[slot].touchedLocks.sorted())
        } else if !clients[slot].isIDClient {
            recordExpires(holder: clients[slot].historyNumber, locks: (0..<Self.lockNames).map(lockName))
        }
        settleCancel(slot)
        clients[slot].historyNumber = nextHistoryNumber
        nextHistoryNumber += 1
        clients[slot].sequence = 0
        clients[slot].sessionOpen = false
        clients[slot].held.removeAll()
        clients[slot].holds.removeAll()
        clients[slot].touchedLocks.removeAll()
        clients[slot].generator = nil
    }
}
