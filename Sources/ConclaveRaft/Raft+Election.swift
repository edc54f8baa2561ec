import ConclaveCore

extension Raft {
    /// Becomes a (pre-)candidate and asks every voter. A pre-vote keeps our term and vote: only
    /// when a quorum says it *would* vote for us do we increment the term and run for real.
    mutating func startElection(preVote: Bool, transfer: Bool = false) throws(StorageError) {
        if preVote {
            role = .preCandidate
            votes.removeAll()
            leader = noNode
            dropIncomingSnapshot()
        } else {
            reset(term: term + 1)
            role = .candidate
            vote = id
        }
        let voteTerm = preVote ? term + 1 : term
        if preVote || !config.asyncStorageWrites {
            votes[id] = true
        } else {
            // Our vote for ourselves counts once the hard state recording it is durable
            // (`countOwnVoteIfPersisted`); a pre-vote records nothing, so it counts at once.
            selfVoteAwaitsPersist = true
        }
        if grantedVotes >= quorum {
            try winElection()
            return
        }
        let lastTerm = try log.lastTerm()
        for voter in voters where voter != id {
            send(Message(kind: preVote ? .preVote : .vote, to: voter, term: voteTerm,
                         logTerm: lastTerm, index: log.lastIndex, transfer: transfer))
        }
    }

    /// With `asyncStorageWrites`: a candidate's own vote counts once `persistedHardState` records it.
    mutating func countOwnVoteIfPersisted() throws(StorageError) {
        guard selfVoteAwaitsPersist, role == .candidate,
              persistedHardState.term == term, persistedHardState.vote == id else { return }
        selfVoteAwaitsPersist = false
        votes[id] = true
        if grantedVotes >= quorum { try winElection() }
    }

    private var grantedVotes: Int { votes.values.filter { $0 }.count }
    private var rejectedVotes: Int { votes.values.filter { !$0 }.count }

    private mutating func winElection() throws(StorageError) {
        if role == .preCandidate {
            try startElection(preVote: false)
        } else {
            try becomeLeader()
        }
    }

    /// Grants a vote to a candidate whose log is at least as up to date as ours, if we have not
    /// voted for another in this term (§5.2, §5.4.1). Pre-votes are granted without recording.
    mutating func handleVoteRequest(_ message: Message) throws(StorageError) {
        let responseKind: Message.Kind = message.kind == .vote ? .voteResponse : .preVoteResponse
        // Learners and removed nodes never vote.
        let canVote = voters.contains(id) && (vote == message.from
            || (vote == noNode && leader == noNode)
            || (message.kind == .preVote && message.term > term))
        if canVote, try log.isUpToDate(lastIndex: message.index, term: message.logTerm) {
            // A granted pre-vote answers with the candidate's future term, so it is not dropped as stale.
            send(Message(kind: responseKind, to: message.from, term: message.term))
            if message.kind == .vote {
                electionElapsed = 0
                vote = message.from
            }
        } else {
            send(Message(kind: responseKind, to: message.from, term: term, reject: true))
        }
    }

    mutating func stepCandidate(_ message: Message) throws(StorageError) {
        switch message.kind {
        case .snapshot:
            becomeFollower(term: term, leader: message.from)
            try handleSnapshotChunk(message)
        case .append:
            becomeFollower(term: term, leader: message.from)
            try handleAppend(message)
        case .heartbeat:
            becomeFollower(term: term, leader: message.from)
            handleHeartbeat(message)
        case .voteResponse, .preVoteResponse:
            guard (role == .preCandidate) == (message.kind == .preVoteResponse),
                  voters.contains(message.from), votes[message.from] == nil else { return }
            votes[message.from] = !message.reject
            if grantedVotes >= quorum {
                try winElection()
            } else if rejectedVotes > voters.count - quorum {
                becomeFollower(term: term, leader: noNode)
            }
        default:
            break
        }
    }

    mutating func stepFollower(_ message: Message) throws(StorageError) {
        switch message.kind {
        case .snapshot:
            electionElapsed = 0
            leader = message.from
            try handleSnapshotChunk(message)
        case .timeoutNow:
            // Our leader hands over: campaign now, skipping the pre-vote, past the others' lease.
            if voters.contains(id) { try startElection(preVote: false, transfer: true) }
        case .append:
            electionElapsed = 0
            leader = message.from
            try handleAppend(message)
        case .heartbeat:
            electionElapsed = 0
            leader = message.from
            handleHeartbeat(message)
        default:
            break
        }
    }

    /// Queues `message` for the next Ready, stamped with our ID and (unless it carries its own,
    /// as vote traffic does) our term.
    mutating func send(_ message: Message) {
        var message = message
        message.from = id
        if message.term == 0 && message.kind != .propose {
            message.term = term
        }
        if config.asyncStorageWrites && message.promisesDurability {
            outboxAfterPersist.append(message)
        } else {
            outbox.append(message)
        }
    }
}
