/// An existing engine the console is attached to (`--etcd`, `--redis`): what its endpoints say,
/// as the engine views draw it. Values only, with display strings made by the builder, so a frame
/// is reproducible from a snapshot alone. Bounded like the rest of the snapshot.
public struct ForeignEngineSnapshot: Equatable, Sendable {
    /// One endpoint: an etcd member or a Redis instance, in the order the operator listed them.
    public struct Endpoint: Equatable, Sendable {
        public var url: String
        /// Heard from in the last poll; false with `problem` saying what failed.
        public var answers: Bool
        public var problem: String?
        /// etcd: the member ID (hex, as etcdctl shows it) and name; Redis: empty.
        public var member = ""
        public var name = ""
        /// etcd: leader or follower; Redis: master or slave (INFO replication's words).
        public var role = ""
        public var isLeader = false
        public var raftTerm: UInt64 = 0
        public var raftIndex: UInt64 = 0
        public var raftAppliedIndex: UInt64 = 0
        /// etcd: database size on disk and in use; Redis: used memory.
        public var dataBytes: UInt64 = 0
        public var dataInUseBytes: UInt64 = 0
        public var version = ""
        /// etcd: errors the member reports; Redis: "connected_slaves 2", "master 10.0.0.1:6379 link up".
        public var notes: [String] = []
        /// Redis: keys in db0.
        public var keys: Int?
        public var silentMillis: UInt64 = 0

        public init(url: String, answers: Bool) {
            self.url = url
            self.answers = answers
        }
    }

    /// An etcd lease: TTL left counting down between polls, and the keys it keeps alive.
    public struct Lease: Equatable, Sendable {
        /// Hex, as etcdctl shows it.
        public var id: String
        public var ttlLeftMillis: UInt64
        public var grantedSeconds: UInt64
        public var keys: [String]
        public init(id: String, ttlLeftMillis: UInt64, grantedSeconds: UInt64, keys: [String]) {
            self.id = id
            self.ttlLeftMillis = ttlLeftMillis
            self.grantedSeconds = grantedSeconds
            self.keys = keys
        }
    }

    public enum Kind: String, Sendable { case etcd, redis }

    public var kind: Kind
    public var endpoints: [Endpoint] = []
    /// etcd: the member every answering member names as leader (hex), if they agree.
    public var leader: String?
    public var alarms: [String] = []
    public var leases: [Lease] = []
    /// Leases the engine has beyond those shown (`leasesMax`).
    public var leasesNotShown = 0
    /// What the Locks view lists: "etcd mutex keys (NAME/<lease hex>) under 'locks/'".
    public var lockScope = ""
    /// Why the lock list may be incomplete or empty (an endpoint failed, a limit was hit).
    public var lockProblem: String?
    /// etcd: the prefix watched into the event log and the KV view; nil on Redis.
    public var watchPrefix: String?
    public var watchProblem: String?

    public static let leasesMax = 64
    public static let locksMax = 256

    public init(kind: Kind) { self.kind = kind }

    /// Endpoints answering, out of all: "3/3 members answer".
    public var answering: Int { endpoints.filter(\.answers).count }

    /// The title bar's health: every endpoint answers and (etcd) they agree on a leader, no alarm.
    public var health: (text: String, isAlert: Bool) {
        let noun = kind == .etcd ? "members" : "instances"
        let answered = "\(answering)/\(endpoints.count) \(noun) answer"
        if kind == .etcd && answering > 0 && leader == nil { return ("no agreed leader · \(answered)", true) }
        if !alarms.isEmpty { return ("alarm \(alarms.joined(separator: ",")) · \(answered)", true) }
        return (answering == endpoints.count ? "healthy · \(answered)" : answered, answering < endpoints.count)
    }
}
