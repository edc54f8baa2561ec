import ConclaveCore

/// A ReadIndex request waiting for a quorum to confirm this leader still leads.
///
/// Reads are matched to acknowledgements by `round`, which this leader issues, never by the
/// requester's `context`: two requesters may pick the same context (0 included), and a late answer
/// to an old round must not confirm a read that arrived after that round went out.
struct ReadRequest {
    /// The requester's own tag, handed back in its `ReadState`.
    var context: UInt64
    var index: LogIndex
    var from: NodeID
    /// The first heartbeat round sent after the request arrived: a quorum acknowledging it, or any
    /// later round, proves this node still led after the read was asked.
    var round: UInt64
}

extension Raft {
    /// Asks for a linearizable read position without writing to the log (Raft thesis §6.4).
    /// The answer comes as a `ReadState` with the same `context` in a later Ready, on this node;
    /// the caller serves the read once it has applied up to that index. A follower asks its
    /// leader. With `leaseReads`, a leader that holds its lease (`holdsLease`) answers at once,
    /// trusting that clocks drift by at most `clockDriftTicksMax`; otherwise it takes a round.
    /// `context` is the caller's own tag, returned in the `ReadState`; keep it unique among this
    /// node's outstanding reads.
    public mutating func readIndex(context: UInt64) throws(RaftError) {
        try refuseIfStopped()
        switch role {
        case .leader:
            guard handleReadIndex(from: id, context: context) else {
                throw .proposalDropped("too many reads pending (limit \(config.readRequestsMax))")
            }
        case .follower:
            guard leader != noNode else { throw .proposalDropped("no leader known") }
            send(Message(kind: .readIndex, to: leader, context: context))
        case .candidate, .preCandidate:
            throw .proposalDropped("election in progress")
        }
    }

    /// Leader: records the commit index for the read and starts a heartbeat round to confirm
    /// leadership. Returns false when the request queue is full.
    @discardableResult
    mutating func handleReadIndex(from requester: NodeID, context: UInt64) -> Bool {
        guard readRequests.count + readsAwaitingCommit.count < config.readRequestsMax else { return false }
        // Until an entry of our term commits, our commit index may lag the previous leader's.
        guard log.committed >= firstIndexOfTerm else {
            readsAwaitingCommit.append((requester, context))
            return true
        }
        if (voters.count == 1 && voters[0] == id) || holdsLease {
            answerRead(from: requester, index: log.committed, context: context)
            return true
        }
        readRequests.append(ReadRequest(context: context, index: log.committed, from: requester, round: heartbeatRound + 1))
        // One heartbeat round at the next Ready confirms every read queued until then.
        readHeartbeatPending = true
        return true
    }

    /// Answers the reads queued before the newest heartbeat round a quorum of voters has echoed
    /// (this leader counts as echoing every round it sent).
    mutating func confirmReads() {
        guard let first = readRequests.first else { return }
        var acknowledged = voters.map { $0 == id ? heartbeatRound : progress[$0]?.roundAcknowledged ?? 0 }
        acknowledged.sort(by: >)
        let confirmedRound = acknowledged[quorum - 1]
        guard first.round <= confirmedRound else { return }
        let confirmed = readRequests.prefix { $0.round <= confirmedRound }
        readRequests.removeFirst(confirmed.count)
        for request in confirmed { answerRead(from: request.from, index: request.index, context: request.context) }
    }

    private mutating func answerRead(from requester: NodeID, index: LogIndex, context: UInt64) {
        if requester == id {
            readStates.append(ReadState(index: index, context: context))
        } else {
            send(Message(kind: .readIndexResponse, to: requester, index: index, context: context))
        }
    }

    /// Reads that waited for this leader's first commit go ahead once it has happened.
    mutating func releaseReadsAwaitingCommit() {
        guard !readsAwaitingCommit.isEmpty, log.committed >= firstIndexOfTerm else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit.removeAll()
        for read in waiting { handleReadIndex(from: read.from, context: read.context) }
    }
}
