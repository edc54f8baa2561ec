import ConclaveCoordination

/// Everything the console shows, as one value: views are functions of it, so a frame is reproducible
/// from a snapshot alone and no view knows whether the cluster is embedded or remote.
///
/// Every collection in it is bounded (see the `…Max` limits) so a long run keeps memory flat.
public struct ClusterSnapshot: Equatable, Sendable {
    public var mode = "embedded"
    public var engine = ConsensusEngine.raft
    /// The Paxos cluster (engines paxos and both).
    public var paxos: PaxosSnapshot?
    /// An existing engine (`--etcd`, `--redis`): its members or instances, leases and watch.
    public var foreign: ForeignEngineSnapshot?
    /// Remote: what the console is connected to ("3 nodes at 127.0.0.1:6381…").
    public var source = ""
    public var seed: UInt64 = 0
    public var nowNanos: UInt64 = 0
    public var speed = 1.0
    public var isPaused = false
    public var readOnly = false
    public var nodes: [NodeSnapshot] = []
    /// `links[i][j]`: from `nodes[i]` to `nodes[j]`.
    public var links: [[LinkSnapshot]] = []
    public var network = NetworkFaults()
    public var leaderTimeline: [LeaderSpan] = []
    public var messagesPerSecond = 0.0
    public var locks: [LockSnapshot] = []
    public var sessions = 0
    public var kv: [KeyValue] = []
    public var config: [ConfigEntry] = []
    public var configEvents: [ConfigEvent] = []
    public var ids = IDsSnapshot()
    public var limiters: [LimiterSnapshot] = []
    public var breakers: [BreakerSnapshot] = []
    public var balancers: [BalancerSnapshot] = []
    public var scheduler = SchedulerSnapshot()
    public var workload = WorkloadKnobs()
    /// Per second, over the last second: fair (queued) and spinning (try-lock) clients' attempts and grants.
    public var contention = ContentionStats()
    public var events: [ClusterEvent] = []
    /// Set after a single step: the event that was just processed ("→ 1→3 append term 4 index 17").
    public var lastStep: String?

    public static let eventsMax = 500
    public static let timelineMax = 64

    public init() {}

    /// The leader with the highest term among live nodes.
    public var leader: NodeSnapshot? {
        nodes.filter { $0.role == .leader && $0.health == .up }.max { $0.term < $1.term }
    }

    public var term: UInt64 { nodes.map(\.term).max() ?? 0 }

    /// Healthy, or the worst of what is wrong.
    public var health: Health {
        let down = nodes.filter { $0.health != .up }.count
        if leader == nil { return .noLeader }
        if !network.groups.isEmpty && network.groups.count > 1 { return .partitioned }
        if down > 0 { return .nodesDown(down) }
        return .healthy
    }

    /// The cluster's health as the title bar shows it, worst first.
    public enum Health: Equatable, Sendable, CustomStringConvertible {
        case noLeader
        case partitioned
        /// Nodes crashed, paused or unreachable; at least one.
        case nodesDown(Int)
        case healthy

        public var description: String {
            switch self {
            case .noLeader: return "no leader"
            case .partitioned: return "partitioned"
            case .nodesDown(let count): return "\(count) node\(count == 1 ? "" : "s") down"
            case .healthy: return "healthy"
            }
        }
    }
}

public struct NodeSnapshot: Equatable, Sendable {
    public enum Role: String, Sendable { case leader, follower, candidate, preCandidate = "pre-candidate", learner, none = "-" }
    /// `unreachable`: a remote node the console has not heard from lately (`silentMillis`).
    public enum Health: String, Sendable { case up, crashed, paused, unreachable }

    public var id: UInt64
    public var role: Role
    public var health: Health
    public var term: UInt64 = 0
    public var vote: UInt64 = 0
    public var commit: UInt64 = 0
    public var applied: UInt64 = 0
    public var lastIndex: UInt64 = 0
    public var snapshotIndex: UInt64 = 0
    public var isVoter = true
    public var partitionGroup = 0
    public var clockOffsetMillis: Int64 = 0
    public var clockRatePermille: UInt64 = 1000
    public var electionElapsedTicks = 0
    public var electionTimeoutTicks = 1
    public var pausedForMillis: UInt64 = 0
    /// Remote: how long since the node's last status report.
    public var silentMillis: UInt64 = 0
    /// A real node's WAL syncs: p99 duration (µs) so far, and whether it syncs at all; nil where
    /// there is no disk to time (the embedded cluster's simulated one) or the node did not say.
    public var fsyncP99Micros: UInt64?
    public var fsyncOff = false

    public init(id: UInt64, role: Role, health: Health) {
        self.id = id
        self.role = role
        self.health = health
    }
}

public struct LinkSnapshot: Equatable, Sendable {
    /// Messages can pass (no partition, no clog, both ends up).
    public var isOpen: Bool
    /// Appends the leader has in flight on this link (leader rows only).
    public var inFlight: Int
    /// Messages delivered from source to target per second, over the last second.
    public var messagesPerSecond: Double
    /// Leader rows only: the follower's replication progress (highest index known to match, next
    /// index to send).
    public var match: UInt64?
    public var next: UInt64?

    public init(isOpen: Bool, inFlight: Int, messagesPerSecond: Double = 0, match: UInt64? = nil, next: UInt64? = nil) {
        self.isOpen = isOpen
        self.inFlight = inFlight
        self.messagesPerSecond = messagesPerSecond
        self.match = match
        self.next = next
    }
}

public struct NetworkFaults: Equatable, Sendable {
    public var dropPercent = 0
    public var duplicatePercent = 0
    public var delayMillis: UInt64 = 0
    /// The partition groups, empty when whole.
    public var groups: [[UInt64]] = []
    public init() {}

    public var isWhole: Bool { dropPercent == 0 && duplicatePercent == 0 && delayMillis == 0 && groups.isEmpty }

    /// "drop 5% · groups 1,2 | 3,4,5", or "network whole".
    public var summary: String {
        var faults: [String] = []
        if dropPercent > 0 { faults.append("drop \(dropPercent)%") }
        if duplicatePercent > 0 { faults.append("dup \(duplicatePercent)%") }
        if delayMillis > 0 { faults.append("delay ≤\(delayMillis)ms") }
        if !groups.isEmpty { faults.append("groups " + groups.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | ")) }
        return faults.isEmpty ? "network whole" : faults.joined(separator: " · ")
    }
}

public struct LeaderSpan: Equatable, Sendable {
    public var startNanos: UInt64
    public var leader: UInt64?
    public var term: UInt64
    public init(startNanos: UInt64, leader: UInt64?, term: UInt64) {
        self.startNanos = startNanos
        self.leader = leader
        self.term = term
    }
}

public struct LockSnapshot: Equatable, Sendable {
    public struct Holder: Equatable, Sendable {
        public var session: UInt64
        public var token: UInt64
        public var holdCount: Int
        public var heldMillis: UInt64
        /// Lease (session or hold TTL) left and its full length, for the bar.
        public var leaseLeftMillis: UInt64?
        public var leaseMillis: UInt64?
        /// On an existing engine, who holds it as the engine names it (etcd: the lease in hex;
        /// Redis: the owner token), shown instead of a session number.
        public var owner: String?

        public init(session: UInt64, token: UInt64, holdCount: Int, heldMillis: UInt64, leaseLeftMillis: UInt64?, leaseMillis: UInt64?) {
            self.session = session
            self.token = token
            self.holdCount = holdCount
            self.heldMillis = heldMillis
            self.leaseLeftMillis = leaseLeftMillis
            self.leaseMillis = leaseMillis
        }
    }

    public var name: String
    /// Nil for a lock that is free now (the table forgets a free lock's kind).
    public var kind: LockKind?
    public var holders: [Holder] = []
    public var waiters: [UInt64] = []
    public var lastToken: UInt64 = 0
    public var acquires = 0
    public var refusals = 0
    public var waitP50Millis: UInt64?
    public var waitP99Millis: UInt64?
    public var acquiresPerSecond = 0.0
    public var refusalsPerSecond = 0.0
    /// Recent holders, oldest first: (session, token).
    public var holderTimeline: [UInt64] = []
    /// On an existing engine, the waiters as the engine names them, first in line first (etcd:
    /// lease and create revision; Redis: the tokens queued in `name:waiters`).
    public var waiterOwners: [String] = []
    /// Redlock: on how many instances the name is held and whether the owners agree.
    public var placement: String?

    public init(name: String, kind: LockKind?) {
        self.name = name
        self.kind = kind
    }
}

public struct KeyValue: Equatable, Sendable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct ConfigEntry: Equatable, Sendable {
    public var key: String
    public var revision: UInt64
    public var value: String?
    public var versions: Int
}

public struct ConfigEvent: Equatable, Sendable {
    public var revision: UInt64
    public var key: String
    public var value: String?
}

/// One line of the event log.
public struct ClusterEvent: Equatable, Sendable {
    public enum Kind: String, Sendable { case fault, election, lock, control, info, step }
    public var nanos: UInt64
    public var kind: Kind
    public var text: String
    /// Increasing per source: what tells the console's log an event it has not seen yet.
    public var sequence: UInt64
    public init(nanos: UInt64, kind: Kind, text: String, sequence: UInt64 = 0) {
        self.nanos = nanos
        self.kind = kind
        self.text = text
        self.sequence = sequence
    }
}

/// Lock attempts and grants per second, fair clients against spinning ones: the livelock made visible.
public struct ContentionStats: Equatable, Sendable {
    public var fairAttempts = 0.0
    public var fairGrants = 0.0
    public var spinAttempts = 0.0
    public var spinGrants = 0.0
    public init() {}
}

/// The workload's knobs, as the palette sets them.
public struct WorkloadKnobs: Equatable, Sendable {
    public static let clientsRange = 0...32
    public static let rateRange = 0...200
    public static let locksRange = 1...64
    public var clients = 6
    /// Operations per client per second.
    public var rate = 10
    /// Percent of acquires aimed at the first (hot) lock.
    public var contentionPercent = 30
    public var spinPercent = 0
    public var locks = 4
    public init() {}
}
