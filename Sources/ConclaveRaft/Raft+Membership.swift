import ConclaveCore

extension Raft {
    /// Proposes a membership change. Refused, with the cluster unchanged, when: this node does not
    /// lead; it has not yet committed an entry of its own term (a change from an earlier leader may
    /// still be in flight, and two uncommitted single-node changes need not overlap — the bug in
    /// Ongaro's original single-server algorithm); another change has not yet applied; the node is
    /// already what the change would make it or is unknown; promoting a node that is not a learner;
    /// the result would pass `MembershipEntry.membersPerListMax`; or removing a voter would leave no
    /// voters, or too few responsive voters for a quorum of the new configuration.
    public mutating func proposeConfChange(_ change: ConfChange) throws(RaftError) {
        try refuseIfStopped()
        guard role == .leader else { throw .notLeader(leader) }
        guard leadTransferee == noNode else { throw .proposalDropped("leadership transfer in progress") }
        guard log.committed >= firstIndexOfTerm else {
            throw .invalidConfChange("this leader has not yet committed an entry of its term (index \(firstIndexOfTerm)); retry once it has")
        }
        guard pendingConfIndex <= log.applied else {
            throw .invalidConfChange("membership change at index \(pendingConfIndex) has not applied yet; one change at a time")
        }
        try validate(change)
        let resulting = confState.applying(change)
        let limit = MembershipEntry.membersPerListMax
        guard resulting.voters.count <= limit, resulting.learners.count <= limit else {
            throw .invalidConfChange("\(change) would make \(resulting.voters.count) voters and \(resulting.learners.count) learners; at most \(limit) of each")
        }
        let entry = MembershipEntry(change: change, resulting: resulting)
        pendingConfIndex = log.lastIndex + 1
        appendEntries([Entry(term: term, index: 0, kind: .membership, data: entry.encoded())])
        appendsPending = true
    }

    private func validate(_ change: ConfChange) throws(RaftError) {
        let node = change.node
        guard node != noNode else { throw .invalidConfChange("node 0 is not a node ID") }
        switch change {
        case .addLearner:
            if voters.contains(node) { throw .invalidConfChange("node \(node) is already a voter") }
            if learners.contains(node) { throw .invalidConfChange("node \(node) is already a learner") }
        case .promote:
            if voters.contains(node) { throw .invalidConfChange("node \(node) is already a voter") }
            guard learners.contains(node) else {
                throw .invalidConfChange("node \(node) is not a learner; add it as a learner first")
            }
        case .remove:
            if learners.contains(node) { return }
            guard voters.contains(node) else { throw .invalidConfChange("node \(node) is not a member") }
            let remaining = voters.filter { $0 != node }
            guard !remaining.isEmpty else { throw .invalidConfChange("removing node \(node) would leave no voters") }
            let responsive = remaining.filter { $0 == id || (progress[$0]?.ticksSinceHeard ?? .max) <= config.electionTimeoutTicks }
            guard responsive.count >= remaining.count / 2 + 1 else {
                throw .invalidConfChange("removing node \(node) would leave \(responsive.count) responsive voters of \(remaining.count), fewer than a quorum")
            }
        }
    }

    /// Applies a committed membership entry (called as the entry is applied): the configuration
    /// becomes the one the entry carries.
    mutating func applyMembership(_ entry: MembershipEntry) throws(StorageError) {
        voters = entry.resulting.voters
        learners = entry.resulting.learners
        let members = Set(self.members)
        if role == .leader {
            for node in members where progress[node] == nil { progress[node] = newProgress() }
            for node in progress.keys.sorted() where !members.contains(node) {
                progress[node] = nil
                snapshotsInFlight[node] = nil
            }
        }
        if !members.contains(leadTransferee) { leadTransferee = noNode }
        if !voters.contains(id) && role == .leader {
            // A removed leader steps down; it is no voter, so it never campaigns again.
            becomeFollower(term: term, leader: noNode)
            return
        }
        // The quorum may have shrunk: entries may now be committed.
        if role == .leader, !voters.isEmpty, try maybeCommit() { try broadcastAppend() }
    }
}
