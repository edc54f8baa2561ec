import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// The live traffic: lock clients taking fair blocking locks (a queue forms on the hot lock), and
/// config writers. Every attempt also passes through the service models (limiters, breakers,
/// balancers) so those views show what this traffic does to them.
extension DemoWorkload {
    /// Think time between operations from the rate knob (0: the client idles, checking back each second).
    mutating func thinkNanos() -> UInt64 {
        guard knobs.rate > 0 else { return 1_000_000_000 }
        let mean = 1_000_000_000 / UInt64(knobs.rate)
        return mean / 2 + random.next() % max(1, mean)
    }

    /// How long a client holds a lock: 30–230 ms.
    mutating func holdNanos() -> UInt64 { 30_000_000 + random.next() % 200_000_000 }

    mutating func clientTimerFired(_ slot: Int, services: inout ServiceModels) {
        let now = simulator.now
        if let inFlight = clients[slot].inFlight {
            services.recordOutcome(permit: inFlight.permit, failed: true, durationNanos: now - inFlight.sentNanos, nowNanos: now)
            if now - inFlight.firstSentNanos >= WorkloadClient.giveUpNanos {
                record(.lock, "client \(slot) gave up on session \(clients[slot].session) (no answer for 4 s)")
                clients[slot].abandon()
            } else {
                send(inFlight.request, slot: slot, firstSent: inFlight.firstSentNanos, services: &services)
                return
            }
        }
        nextOperation(slot, services: &services)
    }

    private mutating func nextOperation(_ slot: Int, services: inout ServiceModels) {
        let now = simulator.now
        guard knobs.rate > 0 else { return scheduleClient(slot, after: thinkNanos()) }
        let client = clients[slot]
        let command: CoordinationCommand
        if client.isConfigWriter {
            let key = "feature.\(["search", "billing", "beta", "limits"][Int(random.next() % 4)])"
            command = .configSet(key: key, value: "v\(random.next() % 100)")
        } else if !client.hasSession {
            command = .openSession(ttlMillis: WorkloadClient.sessionTTLMillis)
        } else if now - client.lastKeepAliveNanos >= WorkloadClient.sessionTTLMillis * 1_000_000 / 3 {
            clients[slot].lastKeepAliveNanos = now
            command = .keepAlive
        } else if let (lock, until) = client.held.min(by: { $0.value < $1.value }) {
            guard now >= until else { return scheduleClient(slot, after: until - now) }
            command = .release(lock: lock)
        } else if let lock = client.waitingFor {
            // A grant or a timeout should have been told by now; if neither came (told through a
            // node that has since crashed), release: it frees the lock if it was granted unseen.
            guard now - client.waitingSinceNanos >= 2_500_000_000 else { return scheduleClient(slot, after: 500_000_000) }
            clients[slot].waitingFor = nil
            command = .release(lock: lock)
        } else {
            let hot = random.next() % 100 < UInt64(knobs.contentionPercent)
            let lock = "lock-\(hot ? 0 : Int(random.next() % UInt64(max(1, knobs.locks))))"
            // Spinning clients try-lock (no wait) and retry at once when refused; fair ones queue.
            let spins = isSpinner(slot)
            command = .acquire(lock: lock, kind: .mutex, mode: .exclusive, waitMillis: spins ? nil : 2_000, ttlMillis: nil, lockDelayMillis: 0)
            if spins { contentionCounts.spinAttempts += 1 } else { contentionCounts.fairAttempts += 1 }
        }
        clients[slot].sequence += 1
        let session = client.isConfigWriter ? client.session : clients[slot].session
        send(CoordinationRequest(client: session, sequence: clients[slot].sequence, command: command), slot: slot, firstSent: now,
             services: &services)
    }

    /// Sends (or resends) a request to the client's node, steered by the balancer and the breakers.
    private mutating func send(_ request: CoordinationRequest, slot: Int, firstSent: UInt64, services: inout ServiceModels) {
        let now = simulator.now
        let key = request.command.lockName ?? "\(request.client)"
        let admission = services.admit(key: key, nowNanos: now, nodes: simulator.nodeIDs)
        clients[slot].inFlight = WorkloadClient.InFlight(request: request, node: admission.node, sentNanos: now,
                                                         firstSentNanos: firstSent, permit: admission.permit)
        if case .refused = simulator.submit(request, to: admission.node) {
            // A node that is down (or paused with its backlog full) failed the call; one that is up
            // and answers "no leader" at once is healthy (the cluster is electing): a success.
            let nodeFailed = !simulator.isUp(admission.node)
            services.recordOutcome(permit: admission.permit, failed: nodeFailed, durationNanos: 0, nowNanos: now)
            clients[slot].inFlight?.permit = nil
            scheduleClient(slot, after: 20_000_000)
            return
        }
        scheduleClient(slot, after: WorkloadClient.attemptTimeoutNanos)
    }

    private mutating func countGrant(_ lock: String, slot: Int) {
        lockCounts[lock, default: (0, 0)].acquires += 1
        if isSpinner(slot) { contentionCounts.spinGrants += 1 } else { contentionCounts.fairGrants += 1 }
    }

    /// A node answered one of the workload's requests (a lock client's, the task client's or a
    /// console client's).
    mutating func replied(node: NodeID, session: UInt64, sequence: UInt64, result: CoordinationResult, services: inout ServiceModels) {
        if session == Self.taskClient { return taskReplied(node: node, result: result) }
        if session >= Self.consoleSessionBase { return consoleReplied(session: session, result: result) }
        guard let slot = clients.firstIndex(where: { $0.inFlight?.request.client == session && $0.inFlight?.request.sequence == sequence }),
              let inFlight = clients[slot].inFlight else {
            return queuedAcquireAnswered(session: session, sequence: sequence, result: result)
        }
        let now = simulator.now
        clients[slot].inFlight = nil
        switch (inFlight.request.command, result) {
        case (.openSession, .sessionOpened):
            clients[slot].hasSession = true
            clients[slot].lastKeepAliveNanos = now
        case (.acquire(let lock, _, _, _, _, _), .acquire(.granted)):
            clients[slot].held[lock] = now + holdNanos()
            countGrant(lock, slot: slot)
        case (.acquire(let lock, _, _, _, _, _), .acquire(.refused)):
            lockCounts[lock, default: (0, 0)].refusals += 1
            if isSpinner(slot) {
                // Spin: ask again almost at once — the wasted attempts the Locks view counts.
                services.recordOutcome(permit: inFlight.permit, failed: false, durationNanos: now - inFlight.sentNanos, nowNanos: now)
                return scheduleClient(slot, after: 2_000_000 + random.next() % 3_000_000)
            }
        case (.acquire(let lock, _, _, _, _, _), .acquire(.queued)):
            // The grant comes as a lock event, which may have overtaken this answer.
            if clients[slot].held[lock] == nil {
                clients[slot].waitingFor = lock
                clients[slot].waitingSequence = inFlight.request.sequence
                clients[slot].waitingSinceNanos = now
            }
        case (.release(let lock), _):
            clients[slot].held[lock] = nil
        case (_, .refused(let error)):
            record(.lock, "client \(slot): \(error); new session")
            clients[slot].abandon()
        default:
            break
        }
        // Any answer means the node is alive and serving: a success for its breaker.
        services.recordOutcome(permit: inFlight.permit, failed: false, durationNanos: now - inFlight.sentNanos, nowNanos: now)
        scheduleClient(slot, after: thinkNanos())
    }

    /// A queued acquire is answered a second time, by the node that took it, when it is granted
    /// or its wait ends.
    private mutating func queuedAcquireAnswered(session: UInt64, sequence: UInt64, result: CoordinationResult) {
        guard let slot = clients.firstIndex(where: { $0.session == session && $0.waitingSequence == sequence }),
              let lock = clients[slot].waitingFor else { return }
        clients[slot].waitingFor = nil
        if case .acquire(.granted) = result {
            clients[slot].held[lock] = simulator.now + holdNanos()
            countGrant(lock, slot: slot)
        }
        if clients[slot].inFlight == nil { scheduleClient(slot, after: thinkNanos()) }
    }

    /// A holder lost its lock, or is asked to let go. (Grants and ended waits come as answers to
    /// the queued acquire; see above.)
    mutating func lockEvent(_ event: LockEvent) {
        switch event {
        case .lost(let lock, let session, _, let reason):
            record(.lock, "session \(session) lost \(lock): \(reason.rawValue)")
        case .revokeRequested(let lock, let session, _):
            record(.lock, "session \(session) asked to let go of \(lock)")
        case .granted, .waitEnded:
            break
        }
    }
}

extension CoordinationCommand {
    var lockName: String? {
        switch self {
        case .acquire(let lock, _, _, _, _, _), .release(let lock): return lock
        default: return nil
        }
    }
}
