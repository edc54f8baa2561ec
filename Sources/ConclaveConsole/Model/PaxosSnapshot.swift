/// The consensus engine a console runs on. Raft is the whole cluster (locks, scheduler, services);
/// Paxos is Multi-Paxos under KV clients, for teaching; `both` runs the two side by side under the
/// same operator faults.
public enum ConsensusEngine: String, CaseIterable, Equatable, Sendable {
    case raft, paxos, both
    /// An existing engine the console attaches to (`--etcd`, `--redis`), never embedded.
    case etcd, redis

    public static let accepted = "raft, paxos, both (Raft and Paxos side by side under the same faults)"

    /// The engines `--engine` can embed (etcd and Redis are attached to, not simulated).
    public static func embedded(_ name: String) -> ConsensusEngine? {
        ConsensusEngine(rawValue: name.lowercased()).flatMap { $0.isForeign ? nil : $0 }
    }

    /// An existing engine rather than Conclave's own cluster.
    public var isForeign: Bool { self == .etcd || self == .redis }

    /// Whether the engine has a Raft cluster behind views 2–8.
    public var hasRaft: Bool { self != .paxos && !isForeign }
}

/// A Multi-Paxos cluster as the Paxos view draws it: a value, with display strings already made,
/// so a frame is reproducible from a snapshot alone.
public struct PaxosSnapshot: Equatable, Sendable {
    public var quorum = 0
    /// "5 acceptors, quorum 3: tolerates 2 failed acceptors".
    public var faultTolerance = ""
    public var distinguishedProposer = true
    public var randomizedBackoff = true
    public var nodes: [PaxosNodeSnapshot] = []
    /// The newest slots any acceptor accepted something in, oldest first, at most `slotsMax`.
    public var slots: [PaxosSlotSnapshot] = []
    /// The newest delivered messages but heartbeats (the last one delivered is always there),
    /// oldest first, at most `messagesMax`.
    public var messages: [PaxosMessageLine] = []
    public var chosenCount = 0
    public var chosenPerSecond = 0.0
    public var valuesWaiting = 0
    /// How long since a value was last chosen, while values wait (the livelock made visible).
    public var waitingForMillis: UInt64?
    public var messagesPerSecond = 0.0
    public var violations: [String] = []

    public static let slotsMax = 32
    public static let messagesMax = 32

    public init() {}

    /// The node leading in the highest ballot, if any.
    public var leader: PaxosNodeSnapshot? {
        nodes.filter { $0.phase == "leading" && $0.health == .up }.max { ($0.ballotRound, $0.id) < ($1.ballotRound, $1.id) }
    }

    public var highestBallot: String { nodes.max { ($0.ballotRound, $0.id) < ($1.ballotRound, $1.id) }?.ballot ?? "-" }

    /// The title bar's word on the cluster, worst first: a safety violation, a livelock, no leader.
    public func health(partitioned: Bool) -> (text: String, isAlert: Bool) {
        if !violations.isEmpty { return ("SAFETY VIOLATED", true) }
        if let waiting = waitingForMillis, waiting >= 1_000 {
            return ("nothing chosen for \(ConsoleRenderer.time(waiting * 1_000_000))", true)
        }
        if distinguishedProposer && leader == nil { return ("no leader", true) }
        if partitioned { return ("partitioned", true) }
        let down = nodes.filter { $0.health != .up }.count
        if down > 0 { return ("\(down) node\(down == 1 ? "" : "s") down", true) }
        return ("healthy", false)
    }
}

public struct PaxosNodeSnapshot: Equatable, Sendable {
    public var id: UInt64
    public var health: NodeSnapshot.Health
    /// follower, preparing or leading ("-" while crashed).
    public var phase: String
    /// The ballot it last prepared ("3.1"), "-" if none; its round orders ballots.
    public var ballot: String
    public var ballotRound: UInt64
    public var leader: UInt64
    /// The acceptor's promised ballot (one for every slot: Multi-Paxos prepares them all at once).
    public var promised: String
    public var chosenThrough: UInt64
    public var valuesWaiting: Int
    public var preemptions: Int
    public var partitionGroup: Int
    public var pausedForMillis: UInt64

    public init(id: UInt64, health: NodeSnapshot.Health, phase: String, ballot: String, ballotRound: UInt64, leader: UInt64,
                promised: String, chosenThrough: UInt64, valuesWaiting: Int, preemptions: Int, partitionGroup: Int = 0,
                pausedForMillis: UInt64 = 0) {
        self.id = id
        self.health = health
        self.phase = phase
        self.ballot = ballot
        self.ballotRound = ballotRound
        self.leader = leader
        self.promised = promised
        self.chosenThrough = chosenThrough
        self.valuesWaiting = valuesWaiting
        self.preemptions = preemptions
        self.partitionGroup = partitionGroup
        self.pausedForMillis = pausedForMillis
    }
}

/// One slot: what each acceptor accepted there (in node order; nil: nothing) and what was chosen.
public struct PaxosSlotSnapshot: Equatable, Sendable {
    public struct Accepted: Equatable, Sendable {
        public var ballot: String
        /// "#17" or "noop".
        public var valueID: String
        /// Accepted in the ballot that chose the slot's value.
        public var isChosen: Bool
        public init(ballot: String, valueID: String, isChosen: Bool) {
            self.ballot = ballot
            self.valueID = valueID
            self.isChosen = isChosen
        }
    }

    public var slot: UInt64
    public var accepted: [Accepted?]
    /// "#17 put k0-1=c2-3", nil while not chosen.
    public var chosen: String?

    public init(slot: UInt64, accepted: [Accepted?], chosen: String?) {
        self.slot = slot
        self.accepted = accepted
        self.chosen = chosen
    }
}

/// A delivered message: "1→3 accept b3.1 slot 41 …" and its kind (prepare, promise, accept, …).
public struct PaxosMessageLine: Equatable, Sendable {
    public var nanos: UInt64
    public var kind: String
    public var text: String
    public init(nanos: UInt64, kind: String, text: String) {
        self.nanos = nanos
        self.kind = kind
        self.text = text
    }
}
