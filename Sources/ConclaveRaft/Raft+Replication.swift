import ConclaveCore

extension Raft {
    /// A proposal: the leader appends it; a follower forwards its own to the leader.
    mutating func stepPropose(_ message: Message) throws(RaftError) {
        guard !message.entries.isEmpty else { return }
        switch role {
        case .leader:
            guard leadTransferee == noNode else { throw .proposalDropped("leadership transfer to node \(leadTransferee) in progress") }
            let bytes = message.entries.reduce(0) { $0 + $1.data.count }
            if uncommittedBytes > 0 && uncommittedBytes + bytes > config.uncommittedBytesMax {
                throw .proposalDropped("\(uncommittedBytes) bytes await commit (limit \(config.uncommittedBytesMax))")
            }
            appendEntries(message.entries)
            appendsPending = true
        case .follower:
            guard leader != noNode else { throw .proposalDropped("no leader known") }
            // Forward only our own proposals: a proposal bounced between two confused followers
            // must die rather than circle.
            guard message.from == id else { throw .proposalDropped("not the leader") }
            var forwarded = message
            forwarded.to = leader
            send(forwarded)
        case .candidate, .preCandidate:
            throw .proposalDropped("election in progress")
        }
    }

    /// Appends entries at our term after the last index.
    mutating func appendEntries(_ entries: [Entry]) {
        var entries = entries
        var index = log.lastIndex
        for position in entries.indices {
            index += 1
            entries[position].term = term
            entries[position].index = index
            uncommittedBytes += entries[position].data.count
        }
        _ = log.append(entries)
    }

    mutating func stepLeader(_ message: Message) throws(StorageError) {
        guard var follower = progress[message.from], message.from != id else { return }
        follower.recentActive = true
        follower.ticksSinceHeard = 0
        switch message.kind {
        case .snapshotResponse:
            handleSnapshotResponse(message, follower: &follower)
            progress[message.from] = follower
            try sendSnapshotChunks(to: message.from)
        case .appendResponse where message.reject:
            var hint = message.rejectHint
            if message.logTerm > 0 {
                hint = try log.conflictHint(index: message.rejectHint, term: message.logTerm).index
            }
            let moved = follower.rejected(message.index, hint: hint)
            if moved && follower.state == .replicate { follower.becomeProbe() }
            progress[message.from] = follower
            if moved { try sendAppend(to: message.from) }
        case .appendResponse:
            let wasPaused = follower.isPaused
            let advanced = follower.acknowledged(message.index)
            if follower.state == .snapshot && follower.match >= follower.pendingSnapshotIndex {
                follower.becomeProbe()
                snapshotsInFlight[message.from] = nil
            } else if advanced && follower.state == .probe {
                follower.becomeReplicate()
            }
            progress[message.from] = follower
            continueTransfer(after: follower, from: message.from)
            guard advanced else { return }
            if try maybeCommit() {
                try broadcastAppend()
            } else if wasPaused {
                try sendAppend(to: message.from)
            }
            while try sendAppend(to: message.from, sendIfEmpty: false) {}
        case .heartbeatResponse:
            recordEcho(of: message.context, by: &follower)
            progress[message.from] = follower
            confirmReads()
            if follower.state == .snapshot {
                resumeSnapshotIfStalled(&follower)
                progress[message.from] = follower
                try sendSnapshotChunks(to: message.from)
                return
            }
            follower.probeSent = false
            // A full window whose appends were lost would pause this follower forever: free one
            // slot per heartbeat so the next append goes out, and its rejection (a gap) sends the
            // follower back to probing.
            if follower.state == .replicate && follower.inFlight.isFull { follower.inFlight.freeFirst() }
            progress[message.from] = follower
            if follower.match < log.lastIndex { try sendAppend(to: message.from) }
        default:
            progress[message.from] = follower
        }
    }

    /// Commits the highest index a quorum has persisted, if it is of our term (§5.4.2: counting
    /// replicas of an older term's entry is unsafe — Figure 8). Returns true if commit advanced.
    mutating func maybeCommit() throws(StorageError) -> Bool {
        var matches = voters.map { progress[$0]?.match ?? 0 }
        matches.sort(by: >)
        let candidate = matches[quorum - 1]
        guard candidate > log.committed, try log.matchesTerm(candidate, term) else { return false }
        log.commit(to: candidate)
        return true
    }

    mutating func broadcastAppend() throws(StorageError) {
        for member in members where member != id { try sendAppend(to: member) }
    }

    mutating func broadcastHeartbeat() {
        // Every round is numbered, so a steady heartbeat also confirms the reads queued before it.
        let round = nextHeartbeatRound()
        for member in members where member != id {
            let match = progress[member]?.match ?? 0
            send(Message(kind: .heartbeat, to: member, commit: min(match, log.committed), context: round))
        }
    }

    /// Sends the follower what it lacks, if its window allows. Returns true if something was sent.
    @discardableResult
    mutating func sendAppend(to target: NodeID, sendIfEmpty: Bool = true) throws(StorageError) -> Bool {
        guard var follower = progress[target], target != id, !follower.isPaused else { return false }
        let previous = follower.next - 1
        let previousTerm: Term
        let entries: [Entry]
        do {
            previousTerm = try log.term(at: previous)
            entries = try log.entries(from: follower.next, maxBytes: config.entriesBytesPerMessageMax)
        } catch .compacted {
            // What the follower needs was compacted away: it gets the snapshot instead.
            return try startSnapshot(to: target)
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        send(Message(kind: .append, to: target, logTerm: previousTerm, index: previous,
                     entries: entries, commit: log.committed))
        if let last = entries.last {
            follower.sent(lastIndex: last.index, bytes: entries.reduce(0) { $0 + $1.byteSize })
        }
        progress[target] = follower
        return true
    }

    /// A follower's side of AppendEntries. The response goes out only after the Ready that holds
    /// the appended entries is persisted, which is the caller's half of the contract.
    mutating func handleAppend(_ message: Message) throws(StorageError) {
        if message.index < log.committed {
            send(Message(kind: .appendResponse, to: message.from, index: log.committed))
            return
        }
        if let lastNew = try log.maybeAppend(previousIndex: message.index, previousTerm: message.logTerm,
                                         leaderCommit: message.commit, entries: message.entries) {
            send(Message(kind: .appendResponse, to: message.from, index: lastNew))
        } else {
            let hint = try log.conflictHint(index: min(message.index, log.lastIndex), term: message.logTerm)
            send(Message(kind: .appendResponse, to: message.from, logTerm: hint.term, index: message.index,
                         reject: true, rejectHint: hint.index))
        }
    }

    mutating func handleHeartbeat(_ message: Message) {
        log.commit(to: min(message.commit, log.lastIndex))
        send(Message(kind: .heartbeatResponse, to: message.from, context: message.context))
    }
}
