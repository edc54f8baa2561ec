import ConclaveCore
import ConclaveRaft

/// Everything that shapes one node's loop besides its storage, clock and callback targets. The
/// simulator derives it from `SimulationConfig` (`nodeConfig(for:)`); a daemon from its flags.
public struct NodeConfig: Sendable {
    /// Consensus settings; `raft.applied` is set by the node from its snapshot when it starts.
    public var raft: RaftConfig
    /// The length of one tick of the node's clock: the driver calls `NodeCore.tick` this often.
    public var tickNanos: UInt64 = 10_000_000
    /// A leader proposes an `elapsed` entry (cluster time) every this many ticks' worth of time a
    /// quorum of clocks agrees on (`QuorumClock`).
    public var clockIntervalTicks: UInt64 = 10
    /// Snapshot the state machine every this many applied entries (0: never) and keep this many
    /// entries before it for followers that are a little behind.
    public var snapshotEveryEntries: UInt64 = 2_000
    public var compactionKeepEntries: UInt64 = 200
    /// And only once the entries applied since the last snapshot hold this many times its size
    /// (0: no such rule): a snapshot costs O(state), so with a large state a count alone would
    /// snapshot the whole store every few thousand small writes. With 4, snapshotting costs at most
    /// a quarter of what writing the log does (LogCabin's rule); the log a restart replays stays
    /// within 4 × the state.
    public var snapshotLogRatio: UInt64 = 0
    /// Serve gets by proposing them through the log instead of ReadIndex.
    public var readsThroughLog = false
    /// Gets waiting for their ReadIndex confirmation, at most; past this a get is refused.
    public var pendingReadsMax = 10_000
    /// A get whose confirmation has not come after this long is forgotten (its client has long
    /// given up), so the table of pending reads stays bounded.
    public var pendingReadTimeoutNanos: UInt64 = 10_000_000_000
    /// A proposal or read a client's request started and whose answer has not come after this
    /// many heartbeat intervals is sent again (a follower's forward may be lost; see `Resends`),
    /// then after twice that, and so on, at most `resendsMax` times (0: never). At most
    /// `resendsTrackedMax` requests are kept for it; past that a request is sent once.
    public var resendAfterHeartbeats = 3
    public var resendsMax = 3
    public var resendsTrackedMax = 10_000
    /// The delay-task scheduler's pool, breakers and retry interval.
    public var scheduler = SchedulerSettings()
    /// Write in the background (the storage must be `AsyncWritableLogStorage`): the node keeps
    /// stepping, sending and applying while its writes sync, and answers that promise durability
    /// leave when the write they wait for completes (`NodeCore.persisted(_:at:)`). Off: every
    /// Ready is written before anything else happens (the simulator).
    public var asyncStorageWrites = false
    /// With `asyncStorageWrites`: at most this many writes in flight; past it the node takes no
    /// new Ready until one completes (back-pressure, not a queue without bound).
    public var writesInFlightMax = 64
    /// Encode and write the node's own snapshots off its thread (the storage must be
    /// `BackgroundSnapshotStorage`): the node asks its driver to (`NodeOutput.snapshotDue`) and
    /// hears back through `NodeCore.snapshotWritten`. Off: a snapshot is one step of the node (the
    /// simulator). ADMIN.SNAPSHOT (`snapshotNow`) is always inline: it answers the index taken.
    public var snapshotsInBackground = false

    public init(raft: RaftConfig) {
        self.raft = raft
    }

    /// The node's ID.
    public var id: NodeID { raft.id }
}
