import ConclaveCore

/// A ReadIndex request waiting for a quorum to confirm this leader still leads.
struct ReadRequest {
    var context: UInt64
    var index: LogIndex
    var from: NodeID
}

/// One heartbeat round confirming reads: it carries the newest pending read's context; a quorum
/// of answers confirms that read and every read queued before it. Counting per round rather
/// than per request keeps a batch of reads at one small array, not a set each.
struct ReadRound {
    var context: UInt64
    var acknowledgements: [NodeID]
}

extension Raft {
    /// Asks for a linearizable read position without writing to the log (Raft thesis §6.4).
    /// The answer comes as a `ReadState` with the same `context` in a later Ready, on this node;
    /// the caller serves the read once it has applied up to that index. A follower asks its
    /// leader. With `leaseReads`, a leader answers at once, trusting that no other leader can
    /// exist within its CheckQuorum lease (a clock assumption: clocks drift less than the gap
    /// between the lease and the followers' election timeouts).
    public mutating func readIndex(context: UInt64) throws(RaftError) {
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
        if (voters.count == 1 && voters[0] == id) || (config.leaseReads && config.checkQuorum) {
            answerRead(from: requester, index: log.committed, context: context)
            return true
        }
        readRequests.append(ReadRequest(context: context, index: log.committed, from: requester))
        // One heartbeat round at the next Ready confirms every read queued until then.
        readHeartbeatPending = true
        return true
    }

    /// A heartbeat answer carrying a read's context: once a quorum of voters has answered, that
    /// read and every earlier one are confirmed.
    mutating func acknowledgeRead(context: UInt64, from voter: NodeID) {
        guard voters.contains(voter), let round = readRounds.firstIndex(where: { $0.context == context }) else { return }
        if !readRounds[round].acknowledgements.contains(voter) { readRounds[round].acknowledgements.append(voter) }
        guard readRounds[round].acknowledgements.count + 1 >= quorum,
              let position = readRequests.firstIndex(where: { $0.context == context }) else { return }
        readRounds.removeSubrange(...round)
        let confirmed = readRequests[...position]
        readRequests.removeSubrange(...position)
        for request in confirmed { answerRead(from: request.from, index: request.index, context: request.context) }
    }

    /// The context the next heartbeat carries: the newest pending read's, opening a round for it.
    mutating func readRoundContext() -> UInt64 {
        guard let newest = readRequests.last?.context else { return 0 }
        if readRounds.last?.context != newest {
            readRounds.append(ReadRound(context: newest, acknowledgements: []))
            if readRounds.count > config.readRequestsMax { readRounds.removeFirst() }
        }
        return newest
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
