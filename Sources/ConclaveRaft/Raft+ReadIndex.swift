import ConclaveCore

/// A ReadIndex request waiting for a quorum to confirm this leader still leads.
struct ReadRequest {
    var context: UInt64
    var index: LogIndex
    var from: NodeID
    var acknowledgements: Set<NodeID>
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
        guard log.matchesTerm(log.committed, term) else {
            readsAwaitingCommit.append((requester, context))
            return true
        }
        if voters == [id] || (config.leaseReads && config.checkQuorum) {
            answerRead(from: requester, index: log.committed, context: context)
            return true
        }
        readRequests.append(ReadRequest(context: context, index: log.committed, from: requester, acknowledgements: [id]))
        for member in members where member != id {
            let match = progress[member]?.match ?? 0
            send(Message(kind: .heartbeat, to: member, commit: min(match, log.committed), context: context))
        }
        return true
    }

    /// A heartbeat answer carrying a read's context: once a quorum of voters has answered, that
    /// read and every earlier one are confirmed.
    mutating func acknowledgeRead(context: UInt64, from voter: NodeID) {
        guard voters.contains(voter), let position = readRequests.firstIndex(where: { $0.context == context }) else { return }
        readRequests[position].acknowledgements.insert(voter)
        guard readRequests[position].acknowledgements.count >= quorum else { return }
        let confirmed = readRequests[...position]
        readRequests.removeSubrange(...position)
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
        guard !readsAwaitingCommit.isEmpty, log.matchesTerm(log.committed, term) else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit.removeAll()
        for read in waiting { handleReadIndex(from: read.from, context: read.context) }
    }
}
