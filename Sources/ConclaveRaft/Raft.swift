import ConclaveCore

/// Raft consensus for one node, as a deterministic state machine (after etcd-io/raft).
///
/// The node never performs I/O. Its inputs are `tick()` (one unit of logical time), `step(_:)`
/// (a message from a peer) and `propose(_:)`; its effects queue up and are handed out by
/// `ready()`. The caller then, in this order: persists `Ready.entries` and `Ready.hardState`,
/// sends `Ready.messages`, applies `Ready.committedEntries`, and calls `advance(_:)`. Persisting
/// before sending is what makes a vote or an acknowledgement a promise (§5.1). The leader counts
/// its own log toward a quorum only after `advance` says those entries are persisted.
///
/// With `RaftConfig.asyncStorageWrites` the caller may instead write and apply in the background
/// while the node keeps stepping: `ready()` hands out each piece of work once, and the caller
/// acknowledges it with `persisted(_:)` and `applied(through:)` as it completes (Raft+Ready).
///
/// Randomness (election timeouts) comes from an injected seeded generator.
public struct Raft {
    public enum Role: String, Sendable { case follower, preCandidate, candidate, leader }

    public let id: NodeID
    public let config: RaftConfig
    public internal(set) var role: Role = .follower
    public internal(set) var term: Term = 0
    public internal(set) var vote: NodeID = noNode
    public internal(set) var leader: NodeID = noNode
    /// All voters, sorted: the order in which messages go out (deterministic).
    public internal(set) var voters: [NodeID]
    /// Members that receive the log but neither vote nor count toward a quorum.
    public internal(set) var learners: [NodeID]
    /// The node leadership is being handed to, or `noNode`.
    public internal(set) var leadTransferee: NodeID = noNode
    var transferElapsed = 0
    /// Index of the latest membership change proposed; no other may be proposed until it applies.
    var pendingConfIndex: LogIndex = 0
    /// ReadIndex requests awaiting a quorum's heartbeat acknowledgement, oldest first.
    var readRequests: [ReadRequest] = []
    /// As leader: the index of the empty entry that opened our term; once it commits, our commit
    /// index is authoritative for reads.
    var firstIndexOfTerm: LogIndex = .max
    /// As leader: the last heartbeat round sent (0: none yet this term); see `ReadRequest.round`.
    var heartbeatRound: UInt64 = 0
    /// As leader: ticks since it took office — the clock its lease is measured on (Raft+Lease).
    var leaderTicks = 0
    /// As leader: the first round sent at each recent tick, oldest first.
    var roundSendTicks: [(round: UInt64, tick: Int)] = []
    /// As leader: a transfer was started this term, so no lease reads until it ends.
    var leaseForfeited = false
    /// With lease reads, a node that restarts with a term on disk may have answered a leader's
    /// heartbeat just before: it refuses votes for this many more ticks, as it promised then.
    var startupLeaseTicks: Int
    /// ReadIndex requests that arrived before this leader committed an entry of its term.
    var readsAwaitingCommit: [(from: NodeID, context: UInt64)] = []
    var readStates: [ReadState] = []
    /// Reads were queued since the last `ready()`: one heartbeat round, carrying the newest
    /// read's context, goes out then (batching, as `appendsPending` does for proposals).
    var readHeartbeatPending = false
    var incomingSnapshot: IncomingSnapshot?
    /// Per follower in snapshot state: the manifest of the snapshot being sent to it (its data is
    /// read from storage a chunk at a time, never held here).
    var snapshotsInFlight: [NodeID: SnapshotManifest] = [:]
    var log: RaftLog
    var progress: [NodeID: Progress] = [:]
    var votes: [NodeID: Bool] = [:]
    var outbox: [Message] = []
    /// With `asyncStorageWrites`: messages that promise durability (append and vote answers),
    /// handed out in `Ready.messagesAfterPersist` with the write they wait for.
    var outboxAfterPersist: [Message] = []
    /// Writes handed out and not yet acknowledged, oldest first (see `persisted(_:)`).
    var writesInFlight: [WriteInFlight] = []
    var nextWriteSequence: UInt64 = 1
    /// Committed batches handed out to apply and not yet acknowledged, oldest first.
    var appliesInFlight: [ApplyInFlight] = []
    /// The newest hard state acknowledged durable.
    var persistedHardState: HardState
    /// With `asyncStorageWrites`: a candidate counts its own vote only once the hard state that
    /// records it is durable (a vote forgotten in a crash could be given twice).
    var selfVoteAwaitsPersist = false
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    var uncommittedBytes = 0
    /// Proposals were appended since the last `ready()`: one append per follower then carries
    /// them all (batching), instead of one message per proposal.
    var appendsPending = false
    var random: SeededGenerator
    /// The I/O error that stopped this node, if one did (see `stopOnStorageError`).
    public private(set) var storageFailure: StorageError?
    var storageFailureHandedOut = false
    /// The hard and soft state last handed out: each change is handed out once.
    var hardStateHandedOut: HardState
    var softStateHandedOut: SoftState

    /// A node starting from whatever `storage` holds (empty for a new node).
    public init(config: RaftConfig, storage: any LogStorage, random: SeededGenerator) throws(RaftError) {
        try config.validate()
        // A node joining an existing cluster starts with no members: it waits for the leader.
        let (hardState, membership) = storage.initialState()
        self.id = config.id
        self.config = config
        self.voters = membership.voters
        self.learners = membership.learners
        self.random = random
        self.log = RaftLog(storage: storage, committed: hardState.commit, applied: config.applied)
        self.term = hardState.term
        self.vote = hardState.vote
        self.hardStateHandedOut = hardState
        self.persistedHardState = hardState
        self.softStateHandedOut = SoftState(leader: noNode, role: .follower)
        self.startupLeaseTicks = config.leaseReads && hardState.term > 0 ? config.electionTimeoutTicks : 0
        becomeFollower(term: term, leader: noNode)
    }

    /// A majority of the voters.
    var quorum: Int { voters.count / 2 + 1 }

    /// Voters and learners, sorted: everyone the leader replicates to.
    var members: [NodeID] { (voters + learners).sorted() }

    /// The current membership.
    public var confState: ConfState { ConfState(voters: voters, learners: learners) }

    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    // MARK: - Inputs

    /// Advances logical time by one tick: election timeouts for followers and candidates,
    /// heartbeats and the CheckQuorum round for a leader.
    public mutating func tick() {
        stopOnStorageError { raft throws(StorageError) in
            if raft.startupLeaseTicks > 0 { raft.startupLeaseTicks -= 1 }
            if raft.role == .leader {
                raft.tickLeader()
                return
            }
            raft.electionElapsed += 1
            // Snapshot chunks reset the timer like appends do: a timeout means the sender is gone,
            // and a half-received snapshot is no reason to wait for it forever.
            if raft.electionElapsed >= raft.randomizedElectionTimeout && raft.voters.contains(raft.id) {
                raft.electionElapsed = 0
                try raft.startElection(preVote: raft.config.preVote)
            }
        }
    }

    private mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        advanceLeaseClock()
        for member in members where member != id { progress[member]?.ticksSinceHeard += 1 }
        if leadTransferee != noNode {
            transferElapsed += 1
            if transferElapsed >= config.electionTimeoutTicks { leadTransferee = noNode }
        }
        if electionElapsed >= config.electionTimeoutTicks {
            electionElapsed = 0
            if config.checkQuorum {
                let active = voters.filter { $0 == id || progress[$0]?.recentActive == true }.count
                for voter in voters where voter != id { progress[voter]?.recentActive = false }
                if active < quorum {
                    becomeFollower(term: term, leader: noNode)
                    return
                }
            }
        }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// Starts an election now (a pre-vote first when `preVote` is on), as if the timeout fired.
    public mutating func campaign() {
        stopOnStorageError { raft throws(StorageError) in
            guard raft.role != .leader else { return }
            try raft.startElection(preVote: raft.config.preVote)
        }
    }

    /// Proposes `data` for the log. A leader appends it; a follower forwards it to the leader.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) {
        try propose([data])
    }

    /// Proposes several commands at once (one append, one round of messages).
    public mutating func propose(_ commands: [[UInt8]]) throws(RaftError) {
        try refuseIfStopped()
        let entries = commands.map { Entry(term: 0, index: 0, data: $0) }
        try stepPropose(Message(kind: .propose, from: id, to: id, entries: entries))
    }

    /// Processes one message from a peer.
    public mutating func step(_ message: Message) {
        guard message.to == id || message.to == noNode, storageFailure == nil else { return }
        if message.kind == .propose {
            try? stepPropose(message)
            return
        }
        guard checkTerm(of: message) else { return }
        stopOnStorageError { raft throws(StorageError) in
            switch message.kind {
            case .vote, .preVote:
                try raft.handleVoteRequest(message)
            case .readIndex:
                if raft.role == .leader { raft.handleReadIndex(from: message.from, context: message.context) }
            case .readIndexResponse:
                raft.readStates.append(ReadState(index: message.index, context: message.context))
            default:
                switch raft.role {
                case .leader: try raft.stepLeader(message)
                case .candidate, .preCandidate: try raft.stepCandidate(message)
                case .follower: try raft.stepFollower(message)
                }
            }
        }
    }

    /// Handles a message's term against ours. Returns false when the message is to be dropped.
    private mutating func checkTerm(of message: Message) -> Bool {
        if message.term > term {
            if message.kind == .vote || message.kind == .preVote {
                // Within a live leader's lease, a vote request is a disruption, not an election —
                // unless the leader itself handed over (a transfer). A node that is not a voter in
                // our configuration (removed, or not yet promoted) is never heard.
                let inLease = config.checkQuorum
                    && ((leader != noNode && electionElapsed < config.electionTimeoutTicks) || startupLeaseTicks > 0)
                if (inLease && !message.transfer) || !voters.contains(message.from) { return false }
            }
            switch message.kind {
            case .preVote:
                break  // a pre-vote never changes our term
            case .preVoteResponse where !message.reject:
                break  // granted pre-votes carry the future term; we move to it only by winning
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: noNode)
            }
            return true
        }
        if message.term < term {
            if (config.checkQuorum || config.preVote) && [.heartbeat, .append, .snapshot].contains(message.kind) {
                // A stale leader (e.g. after a partition healed) learns our term from this and steps
                // down; without it, PreVote could leave it unable to hear of the newer term.
                send(Message(kind: .appendResponse, to: message.from))
            } else if message.kind == .preVote {
                send(Message(kind: .preVoteResponse, to: message.from, term: term, reject: true))
            }
            return false
        }
        return true
    }

    // MARK: - Storage failure

    /// Runs one input. A storage error that reaches here — an I/O error, or (a bug) an entry
    /// missing where the log must hold it — stops the node for good: it is recorded in
    /// `storageFailure`, nothing computed since the last Ready is handed out (as if the node had
    /// crashed before persisting it), the next Ready carries only the failure, and every later
    /// input is ignored or refused. The caller stops the node and recovers it from its log.
    mutating func stopOnStorageError(_ input: (inout Raft) throws(StorageError) -> Void) {
        guard storageFailure == nil else { return }
        do {
            try input(&self)
        } catch {
            storageFailure = error
            outbox.removeAll()
            outboxAfterPersist.removeAll()
            readStates.removeAll()
            appendsPending = false
            readHeartbeatPending = false
        }
    }

    /// Throws the storage failure that stopped this node, if one did.
    func refuseIfStopped() throws(RaftError) {
        if let storageFailure { throw .storage(storageFailure) }
    }

    public var softState: SoftState { SoftState(leader: leader, role: role) }

    // MARK: - Role changes

    mutating func reset(term newTerm: Term) {
        if term != newTerm {
            term = newTerm
            vote = noNode
        }
        leader = noNode
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTimeoutTicks
            + Int(random.next() % UInt64(config.electionTimeoutTicks))
        votes.removeAll()
        selfVoteAwaitsPersist = false
        uncommittedBytes = 0
        progress.removeAll()
        snapshotsInFlight.removeAll()
        leadTransferee = noNode
        readRequests.removeAll()
        heartbeatRound = 0
        leaderTicks = 0
        roundSendTicks.removeAll()
        leaseForfeited = false
        firstIndexOfTerm = .max
        readsAwaitingCommit.removeAll()
        readHeartbeatPending = false
        // Chunks of a leader we no longer follow: a new leader starts its snapshot from byte 0.
        dropIncomingSnapshot()
    }

    /// Gives up a snapshot transfer in progress, with whatever storage staged of it (a temporary
    /// file on `DurableLogStorage`), so an abandoned transfer leaves nothing behind. A snapshot
    /// received whole and waiting to be installed is not in progress and stays.
    mutating func dropIncomingSnapshot() {
        guard incomingSnapshot != nil else { return }
        incomingSnapshot = nil
        (log.storage as? any SnapshotReceivingStorage)?.abandonReceivedSnapshot()
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: NodeID) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    mutating func becomeLeader() throws(StorageError) {
        precondition(role == .candidate, "only a candidate becomes leader")
        reset(term: term)
        role = .leader
        leader = id
        for member in members {
            var follower = newProgress()
            if member == id {
                // What is durable here; the rest counts once its write is acknowledged.
                follower.match = log.unstableOffset - 1
                follower.state = .replicate
            }
            progress[member] = follower
        }
        // Membership changes not yet applied may be in the log: none may be proposed until then.
        pendingConfIndex = log.lastIndex
        // An entry of our own term: entries of earlier terms commit only under it (§5.4.2).
        firstIndexOfTerm = log.lastIndex + 1
        appendEntries([Entry(term: term, index: 0)])
        try broadcastAppend()
    }

}

/// What changes rarely and callers want to notice: who leads and our role.
public struct SoftState: Equatable, Sendable {
    public var leader: NodeID
    public var role: Raft.Role
}

extension Raft {
    func newProgress() -> Progress {
        Progress(next: log.lastIndex + 1, inFlightMessagesMax: config.inFlightMessagesMax,
                 inFlightBytesMax: config.inFlightBytesMax)
    }
}
