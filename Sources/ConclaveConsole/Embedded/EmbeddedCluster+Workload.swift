import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// The live workload: lock clients taking fair blocking locks (a queue forms on the hot lock), and
/// config writers. Every attempt also passes through the service models (limiters, breakers,
/// balancers) so those views show what this traffic does to them.
extension EmbeddedCluster {
    func resizeWorkload() {
        let wanted = workload.knobs.clients
        while workload.clients.count < wanted {
            let slot = workload.clients.count
            workload.clients.append(WorkloadClient(slot: slot, isConfigWriter: slot % 3 == 2))
            scheduleClient(slot, after: workload.random.next() % 100_000_000)
        }
        for slot in workload.clients.indices.reversed() where slot >= wanted {
            if let _ = workload.clients[slot].inFlight { workload.clients[slot].inFlight = nil }
            workload.clients[slot].timerGeneration += 1  // its pending timer is now stale
        }
        if workload.clients.count > wanted { workload.clients.removeLast(workload.clients.count - wanted) }
    }

    func scheduleClient(_ slot: Int, after nanos: UInt64) {
        workload.clients[slot].timerGeneration = (workload.clients[slot].timerGeneration + 1) & 0xFFFF_FFFF
        let token = Self.clientTimerTag | UInt64(slot) << 32 | workload.clients[slot].timerGeneration
        simulator.schedule(timer: token, at: simulator.now + nanos)
    }

    /// Think time between operations from the rate knob (0: the client idles, checking back each second).
    var thinkNanos: UInt64 {
        guard workload.knobs.rate > 0 else { return 1_000_000_000 }
        let mean = 1_000_000_000 / UInt64(workload.knobs.rate)
        return mean / 2 + workload.random.next() % max(1, mean)
    }

    func clientTimerFired(_ slot: Int) {
        let now = simulator.now
        if let inFlight = workload.clients[slot].inFlight {
            services.recordOutcome(permit: inFlight.permit, failed: true, durationNanos: now - inFlight.sentNanos, nowNanos: now)
            if now - inFlight.firstSentNanos >= WorkloadClient.giveUpNanos {
                record(.lock, "client \(slot) gave up on session \(workload.clients[slot].session) (no answer for 4 s)")
                workload.clients[slot].abandon()
            } else {
                send(inFlight.request, slot: slot, firstSent: inFlight.firstSentNanos)
                return
            }
        }
        nextOperation(slot)
    }

    private func nextOperation(_ slot: Int) {
        let now = simulator.now
        guard workload.knobs.rate > 0 else { return scheduleClient(slot, after: thinkNanos) }
        let client = workload.clients[slot]
        let command: CoordinationCommand
        if client.isConfigWriter {
            let key = "feature.\(["search", "billing", "beta", "limits"][Int(workload.random.next() % 4)])"
            command = .configSet(key: key, value: "v\(workload.random.next() % 100)")
        } else if !client.hasSession {
            command = .openSession(ttlMillis: WorkloadClient.sessionTTLMillis)
        } else if now - client.lastKeepAliveNanos >= WorkloadClient.sessionTTLMillis * 1_000_000 / 3 {
            workload.clients[slot].lastKeepAliveNanos = now
            command = .keepAlive
        } else if let (lock, until) = client.held.min(by: { $0.value < $1.value }) {
            guard now >= until else { return scheduleClient(slot, after: until - now) }
            command = .release(lock: lock)
        } else if let lock = client.waitingFor {
            // A grant or a timeout should have been told by now; if neither came (told through a
            // node that has since crashed), release: it frees the lock if it was granted unseen.
            guard now - client.waitingSinceNanos >= 2_500_000_000 else { return scheduleClient(slot, after: 500_000_000) }
            workload.clients[slot].waitingFor = nil
            command = .release(lock: lock)
        } else {
            let hot = workload.random.next() % 100 < UInt64(workload.knobs.contentionPercent)
            let lock = "lock-\(hot ? 0 : Int(workload.random.next() % UInt64(max(1, workload.knobs.locks))))"
            // Spinning clients try-lock (no wait) and retry at once when refused; fair ones queue.
            let spins = isSpinner(slot)
            command = .acquire(lock: lock, kind: .mutex, mode: .exclusive, waitMillis: spins ? nil : 2_000, ttlMillis: nil, lockDelayMillis: 0)
            if spins { workload.contentionCounts.spinAttempts += 1 } else { workload.contentionCounts.fairAttempts += 1 }
        }
        workload.clients[slot].sequence += 1
        let session = client.isConfigWriter ? client.session : workload.clients[slot].session
        send(CoordinationRequest(client: session, sequence: workload.clients[slot].sequence, command: command), slot: slot, firstSent: now)
    }

    /// Sends (or resends) a request to the client's node, steered by the balancer and the breakers.
    private func send(_ request: CoordinationRequest, slot: Int, firstSent: UInt64) {
        let now = simulator.now
        let key = request.command.lockName ?? "\(request.client)"
        let admission = services.admit(key: key, nowNanos: now, nodes: simulator.nodeIDs)
        workload.clients[slot].inFlight = WorkloadClient.InFlight(request: request, node: admission.node, sentNanos: now,
                                                         firstSentNanos: firstSent, permit: admission.permit)
        if case .refused(let reason) = simulator.submit(request, to: admission.node) {
            // A node that is down or overloaded failed the call; one that answers "no leader" at
            // once is healthy (the cluster is electing), so its breaker counts a success.
            let nodeFailed = reason.contains("down") || reason.contains("overloaded")
            services.recordOutcome(permit: admission.permit, failed: nodeFailed, durationNanos: 0, nowNanos: now)
            workload.clients[slot].inFlight?.permit = nil
            scheduleClient(slot, after: 20_000_000)
            return
        }
        scheduleClient(slot, after: WorkloadClient.attemptTimeoutNanos)
    }

    /// Whether the client in `slot` spins on try-lock: the first `spinPercent` of the lock clients.
    func isSpinner(_ slot: Int) -> Bool {
        let lockClients = workload.clients.filter { !$0.isConfigWriter }.map(\.slot)
        guard let rank = lockClients.firstIndex(of: slot) else { return false }
        return rank * 100 < workload.knobs.spinPercent * lockClients.count
    }

    func countGrant(_ lock: String, slot: Int) {
        workload.lockCounts[lock, default: (0, 0)].acquires += 1
        if isSpinner(slot) { workload.contentionCounts.spinGrants += 1 } else { workload.contentionCounts.fairGrants += 1 }
    }

    /// How long a client holds a lock: 30–230 ms.
    var holdNanos: UInt64 { 30_000_000 + workload.random.next() % 200_000_000 }

    func coordinationReplied(node: NodeID, session: UInt64, sequence: UInt64, result: CoordinationResult) {
        if session == Self.taskClient {
            taskReplied(node: node, result: result)
            return
        }
        if session >= Self.consoleSessionBase {
            consoleReplied(session: session, result: result)
            return
        }
        guard let slot = workload.clients.firstIndex(where: { $0.inFlight?.request.client == session && $0.inFlight?.request.sequence == sequence }),
              let inFlight = workload.clients[slot].inFlight else {
            queuedAcquireAnswered(session: session, sequence: sequence, result: result)
            return
        }
        let now = simulator.now
        workload.clients[slot].inFlight = nil
        switch (inFlight.request.command, result) {
        case (.openSession, .sessionOpened):
            workload.clients[slot].hasSession = true
            workload.clients[slot].lastKeepAliveNanos = now
        case (.acquire(let lock, _, _, _, _, _), .acquire(.granted)):
            workload.clients[slot].held[lock] = now + holdNanos
            countGrant(lock, slot: slot)
        case (.acquire(let lock, _, _, _, _, _), .acquire(.refused)):
            workload.lockCounts[lock, default: (0, 0)].refusals += 1
            if isSpinner(slot) {
                // Spin: ask again almost at once — the wasted attempts the Locks view counts.
                services.recordOutcome(permit: inFlight.permit, failed: false, durationNanos: now - inFlight.sentNanos, nowNanos: now)
                return scheduleClient(slot, after: 2_000_000 + workload.random.next() % 3_000_000)
            }
        case (.acquire(let lock, _, _, _, _, _), .acquire(.queued)):
            // The grant comes as a lock event, which may have overtaken this answer.
            if workload.clients[slot].held[lock] == nil {
                workload.clients[slot].waitingFor = lock
                workload.clients[slot].waitingSequence = inFlight.request.sequence
                workload.clients[slot].waitingSinceNanos = now
            }
        case (.release(let lock), _):
            workload.clients[slot].held[lock] = nil
        case (_, .refused(let error)):
            record(.lock, "client \(slot): \(error); new session")
            workload.clients[slot].abandon()
        default:
            break
        }
        // Any answer means the node is alive and serving: a success for its breaker.
        services.recordOutcome(permit: inFlight.permit, failed: false, durationNanos: now - inFlight.sentNanos, nowNanos: now)
        scheduleClient(slot, after: thinkNanos)
    }

    /// A queued acquire is answered a second time, by the node that took it, when it is granted
    /// or its wait ends.
    func queuedAcquireAnswered(session: UInt64, sequence: UInt64, result: CoordinationResult) {
        guard let slot = workload.clients.firstIndex(where: { $0.session == session && $0.waitingSequence == sequence }),
              let lock = workload.clients[slot].waitingFor else { return }
        workload.clients[slot].waitingFor = nil
        if case .acquire(.granted) = result {
            workload.clients[slot].held[lock] = simulator.now + holdNanos
            countGrant(lock, slot: slot)
        }
        if workload.clients[slot].inFlight == nil { scheduleClient(slot, after: thinkNanos) }
    }

    /// A holder lost its lock, or is asked to let go. (Grants and ended waits come as answers to
    /// the queued acquire; see above.)
    func lockEvent(_ event: LockEvent) {
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
