import ConclaveCore

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
        /// The hash of the result's encoding (what the answer digest folds in).
        var resultHash: UInt64

        /// Two cached answers are the same when their encodings are: a refusal read back from a
        /// snapshot may decode to another error case with the same words and bytes, and a retry is
        /// answered with those bytes either way.
        static func == (left: Self, right: Self) -> Bool {
            left.sequence == right.sequence && left.resultHash == right.resultHash
        }

        init(sequence: UInt64, result: CoordinationResult, resultHash: UInt64? = nil) {
            self.sequence = sequence
            self.result = result
            self.resultHash = resultHash ?? Self.resultHash(result)
        }

        static func resultHash(_ result: CoordinationResult) -> UInt64 {
            var encoded = ByteWriter(capacity: 24)
            encoded.write(result)
            return StableHash.fnv1a64(encoded.bytes)
        }

        /// Cheaper than a `StateHasher` (this runs twice for every applied request): the result is
        /// hashed already, and one mix of the three spreads them.
        @Sendable static func stateHash(_ client: UInt64, _ answer: CachedAnswer) -> UInt64 {
            StableHash.mix(client &* 0x9E37_79B9_7F4A_7C15 ^ answer.sequence &* 0xC2B2_AE3D_27D4_EB4F ^ answer.resultHash)
        }
    }

    func answer(for client: UInt64) -> CachedAnswer? {
        sessionAnswers[client] ?? looseAnswers[client]
    }

    /// Keeps `answer` as the client's last, with its session if it has one now. `keptWithSession`:
    /// its previous answer was kept with a session — then, unless the request opened or closed one
    /// (`sessionChanged`), the session still lives (a client's own request ends its session only by
    /// closing it), and the common case costs one map write.
    mutating func remember(_ answer: CachedAnswer, for client: UInt64, keptWithSession: Bool, sessionChanged: Bool) {
        if keptWithSession && !sessionChanged || sessions.contains(client) {
            storeSessionAnswer(answer, for: client)
            if !keptWithSession { looseAnswers.remove(client) }
        } else {
            if keptWithSession { dropSessionAnswer(for: client) }
            looseAnswers.set(client, answer)
        }
    }

    /// The session ended (expired): its client's answer joins the bounded ones.
    mutating func sessionEnded(_ session: UInt64) {
        if let answer = dropSessionAnswer(for: session) { looseAnswers.set(session, answer) }
    }

    /// Every write of `sessionAnswers` goes through here or `dropSessionAnswer`, so the digest's
    /// share stays in step.
    mutating func storeSessionAnswer(_ answer: CachedAnswer, for client: UInt64) {
        let added = CachedAnswer.stateHash(client, answer)
        if let old = sessionAnswers.updateValue(answer, forKey: client) {
            sessionAnswersHash.replace(CachedAnswer.stateHash(client, old), with: added)
        } else {
            sessionAnswersHash.replace(nil, with: added)
        }
    }

    @discardableResult
    mutating func dropSessionAnswer(for client: UInt64) -> CachedAnswer? {
        guard let old = sessionAnswers.removeValue(forKey: client) else { return nil }
        sessionAnswersHash.replace(CachedAnswer.stateHash(client, old), with: nil)
        return old
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
        guard let cached = answer(for: request.client), cached.sequence == request.sequence else { return }
        let answer = CachedAnswer(sequence: cached.sequence, result: settled)
        if sessionAnswers[request.client] != nil {
            storeSessionAnswer(answer, for: request.client)
        } else {
            looseAnswers.update(request.client, answer)
        }
    }
}

extension CoordinationCommand {
    var opensOrClosesSession: Bool {
        switch self {
        case .openSession, .closeSession: return true
        default: return false
        }
    }
}
