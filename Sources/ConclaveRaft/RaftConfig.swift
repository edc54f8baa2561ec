import ConclaveCore

/// How a Raft node behaves. Times are in ticks: the caller decides how long a tick is.
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// A follower that hears nothing from a leader for a random time in
    /// [electionTimeoutTicks, 2 × electionTimeoutTicks) starts an election.
    public var electionTimeoutTicks = 10
    /// A leader sends heartbeats this often; must be less than `electionTimeoutTicks`.
    public var heartbeatTicks = 1
    /// Ask for pre-votes before incrementing the term, so a node cut off from the cluster cannot
    /// inflate terms and depose a healthy leader when it returns (Ongaro's thesis §9.6).
    public var preVote = true
    /// A leader that has not heard from a quorum within an election timeout steps down, and voters
    /// ignore vote requests while they hear from a live leader.
    public var checkQuorum = true
    /// At most this many bytes of entries per append message (at least one entry is always sent).
    public var entriesBytesPerMessageMax = 1 << 20
    /// At most this many append messages in flight to one follower (pipelining window).
    public var inFlightMessagesMax = 256
    /// At most this many entry bytes in flight to one follower (0: no byte limit).
    public var inFlightBytesMax = 32 << 20
    /// A leader refuses proposals while this many bytes are appended but not committed.
    public var uncommittedBytesMax = 64 << 20
    /// At most this many bytes of committed entries handed out in one `Ready`.
    public var committedBytesPerReadyMax = 16 << 20
    /// The index the state machine has already applied when the node starts (its snapshot).
    public var applied: LogIndex = 0
    /// Snapshots travel in chunks of this many bytes, at most `snapshotChunksInFlightMax`
    /// unacknowledged at once (flow control for InstallSnapshot).
    public var snapshotChunkBytes = 1 << 20
    public var snapshotChunksInFlightMax = 4
    /// A follower refuses snapshots larger than this.
    public var snapshotBytesMax = 4 << 30
    /// Serve ReadIndex on the leader without a heartbeat round while it holds a lease (off by
    /// default; requires `checkQuorum`; assumes clocks drift by at most `clockDriftTicksMax`).
    ///
    /// A voter that answered a heartbeat refuses every non-transfer vote for an election timeout of
    /// its own ticks after receiving it, so no other leader can be elected before that. The lease
    /// therefore runs `leaseTicks` from when the newest heartbeat a quorum has answered was *sent*
    /// (the voter's timer starts later, on receipt), never while or after this leader started a
    /// transfer in its term (the target's campaign ignores the voters' leases), and a voter that
    /// restarts honours for an election timeout the lease it may have granted before.
    public var leaseReads = false
    /// With `leaseReads`: how many ticks a leader's clock may fall behind a voter's over one
    /// election timeout. The lease is shortened by this much and by one tick of granularity.
    public var clockDriftTicksMax = 2
    /// At most this many ReadIndex requests pending on a leader.
    public var readRequestsMax = 4096
    /// The caller writes and applies in the background while the node keeps stepping
    /// (etcd-io/raft's AsyncStorageWrites); see Raft+Ready. Off (the synchronous contract:
    /// persist every Ready, then send, apply and `advance`): every message in `Ready.messages`,
    /// and committed entries handed out with the Ready that writes them. On: answers that promise
    /// durability wait in `Ready.messagesAfterPersist`, a candidate's own vote and a leader's own
    /// match count once acknowledged, and committed entries are handed out only once durable here.
    public var asyncStorageWrites = false

    public init(id: NodeID) {
        self.id = id
    }

    /// How long a lease lasts, in the leader's ticks, from the send of the heartbeat a quorum
    /// answered: the voters' election timeout less the drift and one tick of granularity (a
    /// voter's first tick may come just after its timer reset, the leader's count lags real time
    /// by up to a tick).
    public var leaseTicks: Int { electionTimeoutTicks - clockDriftTicksMax - 1 }

    /// Checks the settings; throws naming the first one that is wrong and what is accepted.
    public func validate() throws(RaftError) {
        guard id != noNode else { throw .invalidConfig("id must not be 0 (0 means no node)") }
        guard heartbeatTicks > 0 else { throw .invalidConfig("heartbeatTicks must be > 0, got \(heartbeatTicks)") }
        guard electionTimeoutTicks > heartbeatTicks else {
            throw .invalidConfig("electionTimeoutTicks (\(electionTimeoutTicks)) must be > heartbeatTicks (\(heartbeatTicks))")
        }
        guard inFlightMessagesMax > 0 else { throw .invalidConfig("inFlightMessagesMax must be > 0, got \(inFlightMessagesMax)") }
        guard entriesBytesPerMessageMax > 0 else {
            throw .invalidConfig("entriesBytesPerMessageMax must be > 0, got \(entriesBytesPerMessageMax)")
        }
        guard snapshotChunkBytes > 0, snapshotChunksInFlightMax > 0, readRequestsMax > 0 else {
            throw .invalidConfig("snapshotChunkBytes, snapshotChunksInFlightMax and readRequestsMax must be > 0")
        }
        guard !leaseReads || checkQuorum else { throw .invalidConfig("leaseReads requires checkQuorum") }
        if leaseReads {
            guard clockDriftTicksMax >= 0 else { throw .invalidConfig("clockDriftTicksMax must be ≥ 0, got \(clockDriftTicksMax)") }
            guard leaseTicks > heartbeatTicks else {
                throw .invalidConfig("clockDriftTicksMax (\(clockDriftTicksMax)) leaves a lease of electionTimeoutTicks − clockDriftTicksMax − 1 = \(leaseTicks) ticks; it must exceed heartbeatTicks (\(heartbeatTicks)) or it lapses between heartbeats")
            }
        }
        guard uncommittedBytesMax > 0, committedBytesPerReadyMax > 0 else {
            throw .invalidConfig("uncommittedBytesMax and committedBytesPerReadyMax must be > 0")
        }
    }
}

/// What the Raft core refuses, as values.
public enum RaftError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidConfig(String)
    /// The proposal was not accepted: no leader is known, or this node is not one and cannot forward.
    case proposalDropped(String)
    /// The storage could not be read in a way that leaves the node unable to go on.
    case storage(StorageError)
    /// Only the leader does this; the leader known to this node is attached (0: none known).
    case notLeader(NodeID)
    case invalidConfChange(String)
    case invalidTransfer(String)

    public var description: String {
        switch self {
        case .invalidConfig(let reason): return "invalid Raft configuration: \(reason)"
        case .proposalDropped(let reason): return "proposal dropped: \(reason)"
        case .storage(let error): return "storage: \(error)"
        case .notLeader(let leader): return leader == noNode ? "not the leader (no leader known)" : "not the leader (node \(leader) leads)"
        case .invalidConfChange(let reason): return "membership change refused: \(reason)"
        case .invalidTransfer(let reason): return "leadership transfer refused: \(reason)"
        }
    }
}
