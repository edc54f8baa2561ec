import ConclaveCore

extension Raft {
    /// Hands leadership to `target` (Raft thesis §3.10): bring it up to date, then tell it to
    /// campaign at once (TimeoutNow). Proposals are refused meanwhile; the transfer is abandoned
    /// after an election timeout if the target has not taken over.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        try refuseIfStopped()
        guard role == .leader else { throw .notLeader(leader) }
        guard target != id else { throw .invalidTransfer("node \(target) already leads") }
        if learners.contains(target) { throw .invalidTransfer("node \(target) is a learner; only voters can lead") }
        guard voters.contains(target), let follower = progress[target] else {
            throw .invalidTransfer("node \(target) is not a member")
        }
        guard follower.ticksSinceHeard <= config.electionTimeoutTicks else {
            throw .invalidTransfer("node \(target) has not answered for \(follower.ticksSinceHeard) ticks (down or cut off)")
        }
        leadTransferee = target
        transferElapsed = 0
        leaseForfeited = true
        if follower.match == log.lastIndex {
            send(Message(kind: .timeoutNow, to: target))
        } else {
            stopOnStorageError { raft throws(StorageError) in try raft.sendAppend(to: target) }
            try refuseIfStopped()
        }
    }

    /// Leader: the transferee acknowledged; if it has everything now, tell it to campaign.
    mutating func continueTransfer(after follower: Progress, from node: NodeID) {
        if node == leadTransferee && follower.match == log.lastIndex {
            send(Message(kind: .timeoutNow, to: node))
        }
    }
}
