/// The answers kept so that a retried request (same client and sequence) takes effect once.
///
/// A client's last answer lives with its session while the session lives: at most one per live
/// session, never forgotten early. When the session ends, or for a client that never had one, it
/// is kept among `CoordinationLimits.answersWithoutSessionMax`, least recently written forgotten
/// first. Client 0 (the nodes' own entries) is never answered from here.
extension CoordinationStateMachine {
    struct CachedAnswer: Equatable, Sendable {
        var sequence: UInt64
        var result: CoordinationResult
    }

    func answer(for client: UInt64) -> CachedAnswer? {
        sessionAnswers[client] ?? looseAnswers[client]
    }

    /// Keeps `answer` as the client's last, with its session if it has one now.
    mutating func remember(_ answer: CachedAnswer, for client: UInt64) {
        if sessions.contains(client) {
            sessionAnswers[client] = answer
            looseAnswers.remove(client)
        } else {
            sessionAnswers[client] = nil
            looseAnswers.set(client, answer)
        }
    }

    /// The session ended (expired): its client's answer joins the bounded ones.
    mutating func sessionEnded(_ session: UInt64) {
        if let answer = sessionAnswers.removeValue(forKey: session) { looseAnswers.set(session, answer) }
    }

    /// A retry's answer: the first one, except that a queued acquire is answered with where it
    /// stands now — still queued (at its position now), granted (with its token), or ended (why).
    /// A client whose grant notice was lost learns it holds the lock by asking again.
    func retryAnswer(_ cached: CoordinationResult, to command: CoordinationCommand?, id: RequestID) -> CoordinationResult {
        guard case .acquire(.queued) = cached, case .acquire(let name, _, _, _, _, _)? = command,
              let position = locks.locks[name]?.waiters.firstIndex(where: { $0.request == id }) else { return cached }
        return .acquire(.queued(position: position))
    }

    /// A queued acquire was granted or its wait ended: its cached answer says so from now on.
    mutating func settleQueuedAcquire(_ event: LockEvent) {
        let request: RequestID
        let settled: CoordinationResult
        switch event {
        case .granted(_, _, let granted, let token):
            (request, settled) = (granted, .acquire(.granted(token: token, holdCount: 1)))
        case .waitEnded(let lock, _, let ended, let reason):
            (request, settled) = (ended, .refused(.waitEnded(lock: lock, reason: reason.rawValue)))
        case .lost, .revokeRequested:
            return
        }
        guard var cached = answer(for: request.client), cached.sequence == request.sequence else { return }
        cached.result = settled
        if sessionAnswers[request.client] != nil {
            sessionAnswers[request.client] = cached
        } else {
            looseAnswers.update(request.client, cached)
        }
    }
}
