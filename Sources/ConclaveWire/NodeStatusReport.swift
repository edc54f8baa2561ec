import Foundation

/// What one node says about itself on `CLUSTER.WATCH`: its Raft state, its links, the operator's
/// faults on it, and the replicated services as this node has applied them. The console's remote
/// source builds its `ClusterSnapshot` from one report per node; `redis-cli CLUSTER.WATCH` shows
/// the same JSON.
///
/// Every list is bounded (`Limits`) so that a report stays small at any cluster size: with 10,000
/// locks a report carries the `locksMax` most interesting ones (held or waited on first) and the
/// totals.
public struct NodeStatusReport: Codable, Equatable, Sendable {
    public enum Limits {
        public static let locksMax = 200
        public static let keysMax = 64
        public static let configMax = 64
        public static let configEventsMax = 32
        public static let throttlesMax = 32
        public static let heapEntriesMax = 85
        public static let breakersMax = 32
    }

    public struct Peer: Codable, Equatable, Sendable {
        public var id: UInt64
        public var address: String?
        public var connected: Bool
        /// Leader only: the follower's progress.
        public var match: UInt64?
        public var next: UInt64?
        public var inFlight: Int?
        public var recentActive: Bool?
        /// Counted on this node's transport since it started (the console turns them into rates).
        public var messagesSent: UInt64
        public var messagesReceived: UInt64
        public var faultDrops: UInt64
        /// An operator's rule cuts this link (ADMIN.PARTITION / ADMIN.DROP 100).
        public var cut: Bool

        public init(id: UInt64, address: String?, connected: Bool, messagesSent: UInt64, messagesReceived: UInt64,
                    faultDrops: UInt64, cut: Bool) {
            self.id = id
            self.address = address
            self.connected = connected
            self.messagesSent = messagesSent
            self.messagesReceived = messagesReceived
            self.faultDrops = faultDrops
            self.cut = cut
        }
    }

    public struct Faults: Codable, Equatable, Sendable {
        public var pausedForMillis: UInt64 = 0
        public var skewMillis: Int64 = 0
        public var dropPercent = 0
        public var delayMillis: UInt64 = 0
        /// Peers this node's rules cut it off from.
        public var cutFrom: [UInt64] = []
        public init() {}
    }

    public struct Lock: Codable, Equatable, Sendable {
        public struct Holder: Codable, Equatable, Sendable {
            public var session: UInt64
            public var token: UInt64
            public var holdCount: Int
            public var heldMillis: UInt64
            public var leaseLeftMillis: UInt64?
            public var leaseMillis: UInt64?
            public init(session: UInt64, token: UInt64, holdCount: Int, heldMillis: UInt64, leaseLeftMillis: UInt64?,
                        leaseMillis: UInt64?) {
                self.session = session
                self.token = token
                self.holdCount = holdCount
                self.heldMillis = heldMillis
                self.leaseLeftMillis = leaseLeftMillis
                self.leaseMillis = leaseMillis
            }
        }

        public var name: String
        public var kind: String
        public var holders: [Holder]
        public var waiters: [UInt64]
        public var lastToken: UInt64
        public var acquires: Int
        public var refusals: Int
        public var waitP50Millis: UInt64?
        public var waitP99Millis: UInt64?
        public init(name: String, kind: String, holders: [Holder], waiters: [UInt64], lastToken: UInt64, acquires: Int,
                    refusals: Int, waitP50Millis: UInt64?, waitP99Millis: UInt64?) {
            self.name = name
            self.kind = kind
            self.holders = holders
            self.waiters = waiters
            self.lastToken = lastToken
            self.acquires = acquires
            self.refusals = refusals
            self.waitP50Millis = waitP50Millis
            self.waitP99Millis = waitP99Millis
        }
    }

    public struct Tasks: Codable, Equatable, Sendable {
        public var pending = 0
        public var fired = 0
        public var late = 0
        public var reclaims = 0
        /// Per partition: owners, primary first.
        public var owners: [[UInt64]] = []
        public var latenessBuckets: [Int] = []
        public var latenessLabels: [String] = []
        public var firedByNode: [UInt64: Int] = [:]
        /// This node's wake-up heap: arity, deadlines level by level (ms), entries in all.
        public var heapArity = 4
        public var heapLevels: [[UInt64]] = []
        public var heapCount = 0
        public init() {}
    }

    public struct IDs: Codable, Equatable, Sendable {
        public var worker: UInt64?
        public var issued: UInt64 = 0
        public var lastID: UInt64?
        public var leases = 0
        public init() {}
    }

    public struct Throttle: Codable, Equatable, Sendable {
        public var key: String
        public var allowed: Int
        public var refused: Int
        public init(key: String, allowed: Int, refused: Int) {
            self.key = key
            self.allowed = allowed
            self.refused = refused
        }
    }

    public struct Breaker: Codable, Equatable, Sendable {
        public var name: String
        public var state: String
        public var failureRatePercent: Double?
        public var thresholdPercent: Double
        public var calls: Int
        public var notPermitted: UInt64
        public init(name: String, state: String, failureRatePercent: Double?, thresholdPercent: Double, calls: Int,
                    notPermitted: UInt64) {
            self.name = name
            self.state = state
            self.failureRatePercent = failureRatePercent
            self.thresholdPercent = thresholdPercent
            self.calls = calls
            self.notPermitted = notPermitted
        }
    }

    /// The node's WAL disk: its syncs since start and how long they took (log buckets, the upper
    /// bound of each quantile's bucket), and whether it syncs at all (`--unsafe-no-fsync`).
    public struct Disk: Codable, Equatable, Sendable {
        public var syncs: UInt64
        public var fsyncP50Micros: UInt64
        public var fsyncP99Micros: UInt64
        public var synced: Bool
        public init(syncs: UInt64, fsyncP50Micros: UInt64, fsyncP99Micros: UInt64, synced: Bool) {
            self.syncs = syncs
            self.fsyncP50Micros = fsyncP50Micros
            self.fsyncP99Micros = fsyncP99Micros
            self.synced = synced
        }
    }

    public struct ConfigEntry: Codable, Equatable, Sendable {
        public var key: String
        public var revision: UInt64
        public var value: String?
        public var versions: Int
        public init(key: String, revision: UInt64, value: String?, versions: Int) {
            self.key = key
            self.revision = revision
            self.value = value
            self.versions = versions
        }
    }

    public var node: UInt64
    public var cluster: String
    /// leader, follower, candidate, preCandidate.
    public var role: String
    public var leader: UInt64
    public var term: UInt64
    public var vote: UInt64
    public var commit: UInt64
    public var applied: UInt64
    public var lastIndex: UInt64
    public var snapshotIndex: UInt64
    public var voters: [UInt64]
    public var learners: [UInt64]
    public var electionElapsedTicks: Int
    public var electionTimeoutTicks: Int
    /// The node's monotonic clock and its (skewed) wall clock when it wrote the report.
    public var uptimeMillis: UInt64
    public var wallMillis: UInt64
    public var clusterTimeMillis: UInt64
    /// The node's process ID (a console on the same machine kills a node with it).
    public var pid: Int32 = 0
    public var peers: [Peer] = []
    public var faults = Faults()
    public var sessions = 0
    public var locksTotal = 0
    public var locksHeld = 0
    public var lockWaiters = 0
    public var locks: [Lock] = []
    public var keysTotal = 0
    public var keys: [String: String] = [:]
    public var configRevision: UInt64 = 0
    public var config: [ConfigEntry] = []
    public var configEvents: [ConfigEntry] = []
    public var tasks = Tasks()
    public var ids = IDs()
    public var throttlesTotal = 0
    public var throttles: [Throttle] = []
    public var breakers: [Breaker] = []
    /// Nil from a node that does not say (a report written before it was added).
    public var disk: Disk?

    public init(node: UInt64, cluster: String, role: String, leader: UInt64, term: UInt64, vote: UInt64, commit: UInt64,
                applied: UInt64, lastIndex: UInt64, snapshotIndex: UInt64, voters: [UInt64], learners: [UInt64],
                electionElapsedTicks: Int, electionTimeoutTicks: Int, uptimeMillis: UInt64, wallMillis: UInt64,
                clusterTimeMillis: UInt64) {
        self.node = node
        self.cluster = cluster
        self.role = role
        self.leader = leader
        self.term = term
        self.vote = vote
        self.commit = commit
        self.applied = applied
        self.lastIndex = lastIndex
        self.snapshotIndex = snapshotIndex
        self.voters = voters
        self.learners = learners
        self.electionElapsedTicks = electionElapsedTicks
        self.electionTimeoutTicks = electionTimeoutTicks
        self.uptimeMillis = uptimeMillis
        self.wallMillis = wallMillis
        self.clusterTimeMillis = clusterTimeMillis
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Decodes a report, naming what was wrong.
    public init(decoding bytes: [UInt8]) throws(ServerInputError) {
        do {
            self = try JSONDecoder().decode(NodeStatusReport.self, from: Data(bytes))
        } catch {
            throw ServerInputError("not a node status report: \(error)")
        }
    }
}
