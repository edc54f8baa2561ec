import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// Applying committed entries, and answering the clients that wait for them.
extension NodeCore {
    /// Applies one committed entry to the state machine. Membership entries only move the
    /// applied index; a normal one may answer a request this node accepted, move cluster time,
    /// start a callback this node claimed, and grant or end queued acquires.
    mutating func apply(_ entry: Entry) {
        appliedBytesSinceSnapshot &+= UInt64(entry.data.count)
        guard entry.kind == .normal else {
            stateMachine.skip(index: entry.index)
            outputs.append(.applied(entry, digest: stateMachine.combinedDigest))
            return
        }
        let (kvApplied, coordinationApplied) = stateMachine.apply(index: entry.index, data: entry.data)
        noteClusterTime()
        outputs.append(.applied(entry, digest: stateMachine.combinedDigest))
        if let applied = kvApplied, waiting.remove(RequestKey(client: applied.client, sequence: applied.sequence)) != nil {
            outputs.append(.reply(applied))
        }
        guard let applied = coordinationApplied else { return }
        schedulerApplied(applied)
        let key = RequestKey(client: applied.client, sequence: applied.sequence)
        if waiting.remove(key) != nil {
            outputs.append(.coordinationReply(client: applied.client, sequence: applied.sequence, result: applied.result))
            if case .acquire(.queued) = applied.result { waitingGrants.insert(key) }
        }
        for event in applied.events { answer(event) }
    }

    /// A queued acquire is answered again, from the node that took it, when it is granted or its
    /// wait ends; a lost hold or a revocation request goes to the holder's session (the driver
    /// knows whether that session's client talks through this node).
    private mutating func answer(_ event: LockEvent) {
        let request: RequestID
        let answer: CoordinationResult
        switch event {
        case .granted(_, _, let waiter, let token):
            (request, answer) = (waiter, .acquire(.granted(token: token, holdCount: 1)))
        case .waitEnded(let lock, _, let waiter, let reason):
            (request, answer) = (waiter, .refused(.waitEnded(lock: lock, reason: reason.rawValue)))
        case .lost(_, let session, _, _), .revokeRequested(_, let session, _):
            outputs.append(.lockEvent(session: session, event: event))
            return
        }
        guard waitingGrants.remove(RequestKey(client: request.client, sequence: request.sequence)) != nil else { return }
        outputs.append(.coordinationReply(client: request.client, sequence: request.sequence, result: answer))
    }
}
