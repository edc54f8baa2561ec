import ConclaveCore
import ConclaveRaft

/// Everything that shapes a simulated run besides the workload. A run is a pure function of this
/// (seed included) and the workload: the same values give the same trace, byte for byte.
public struct SimulationConfig: Sendable {
    /// The node counts a simulation accepts.
    public static let nodesRange = 1...31

    public var nodes = 5
    public var seed: UInt64 = 1
    /// Virtual nanoseconds per Raft tick on a node whose clock runs at true speed.
    public var tickNanos: UInt64 = 10_000_000
    public var electionTimeoutTicks = 10
    public var heartbeatTicks = 1
    public var preVote = true
    public var checkQuorum = true
    /// One-way latency between nodes, uniformly distributed.
    public var latencyMinNanos: UInt64 = 500_000
    public var latencyMaxNanos: UInt64 = 3_000_000
    /// Keep every applied entry per node (for tests that compare logs); off for long runs.
    public var recordApplied = false
    /// Keep the first this many trace lines as text (the trace hash covers every event regardless).
    public var traceLinesMax = 0
    /// Messages and requests a paused node may queue; past this they are lost like dropped packets.
    public var backlogMax = 10_000
    /// Take a snapshot every this many applied entries (0: never) and keep this many entries
    /// before it for followers that are a little behind.
    public var snapshotEveryEntries: UInt64 = 2_000
    public var compactionKeepEntries: UInt64 = 200
    public var snapshotChunkBytes = 64 << 10
    /// A leader proposes an `elapsed` entry (cluster time) every this many of its ticks.
    public var clockIntervalTicks: UInt64 = 10
    /// Serve gets by proposing them through the log (the slow way, kept for comparison) instead
    /// of ReadIndex.
    public var readsThroughLog = false
    /// ReadIndex on the leader without a heartbeat round (the lease; see `RaftConfig.leaseReads`).
    public var leaseReads = false
    /// The clock drift lease reads allow for (`RaftConfig.clockDriftTicksMax`).
    public var clockDriftTicksMax = RaftConfig(id: 1).clockDriftTicksMax
    /// Indexes the invariant monitor checks behind the newest (nil: the whole run). Open-ended runs
    /// (the console) set it so memory stays flat.
    public var monitorWindowEntries: Int?
    /// The delay-task scheduler on each node, and the callback targets it calls.
    public var scheduler = SchedulerSettings()

    public init(nodes: Int = 5, seed: UInt64 = 1) {
        self.nodes = nodes
        self.seed = seed
    }

    public func validate() throws(SimulationError) {
        guard Self.nodesRange.contains(nodes) else {
            throw .invalid("nodes must be in \(Self.nodesRange.lowerBound)…\(Self.nodesRange.upperBound), got \(nodes)")
        }
        guard tickNanos > 0 else { throw .invalid("tickNanos must be > 0") }
        guard latencyMinNanos <= latencyMaxNanos else {
            throw .invalid("latencyMinNanos (\(latencyMinNanos)) must not exceed latencyMaxNanos (\(latencyMaxNanos))")
        }
        guard backlogMax > 0 else { throw .invalid("backlogMax must be > 0") }
        do {
            try raftConfig(for: 1).validate()
        } catch {
            throw .invalid(error.description)
        }
        try scheduler.validate()
    }

    /// The Raft settings of `node` (its applied index is set by whoever starts it).
    func raftConfig(for node: NodeID) -> RaftConfig {
        var raft = RaftConfig(id: node)
        raft.electionTimeoutTicks = electionTimeoutTicks
        raft.heartbeatTicks = heartbeatTicks
        raft.preVote = preVote
        raft.checkQuorum = checkQuorum
        raft.leaseReads = leaseReads
        raft.clockDriftTicksMax = clockDriftTicksMax
        raft.snapshotChunkBytes = snapshotChunkBytes
        return raft
    }

    /// The settings of `node`'s core.
    func nodeConfig(for node: NodeID) -> NodeConfig {
        var nodeConfig = NodeConfig(raft: raftConfig(for: node))
        nodeConfig.tickNanos = tickNanos
        nodeConfig.clockIntervalTicks = clockIntervalTicks
        nodeConfig.snapshotEveryEntries = snapshotEveryEntries
        nodeConfig.compactionKeepEntries = compactionKeepEntries
        nodeConfig.readsThroughLog = readsThroughLog
        nodeConfig.pendingReadsMax = backlogMax
        nodeConfig.scheduler = scheduler
        return nodeConfig
    }
}

public enum SimulationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case unknownNode(NodeID)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        case .unknownNode(let node): return "no node \(node) in this cluster"
        }
    }
}
