import ConclaveCore

/// One Paxos node — proposer, acceptor and learner — as a deterministic state machine.
///
/// Single-decree Paxos is the slot-1 case of the log; Multi-Paxos runs it for every slot with a
/// distinguished proposer that, once its phase 1 covered all slots from its first unchosen one,
/// sends only phase 2 for new slots while no higher ballot is seen (Paxos Made Simple, §3).
///
/// The node never performs I/O. Its inputs are `tick()`, `step(_:)` and `propose(_:)`; its effects
/// queue up and `ready()` hands them out once. The caller persists `PaxosReady.promised` and
/// `.accepted` *before* sending `.messages` (a promise or an acceptance is a promise only if it
/// survives a crash), then applies `.chosen`. Messages to itself are delivered inside the node.
/// After a crash, a node starts again from the `AcceptorState` it persisted; its learner catches
/// up from the others. Randomness (timeouts, backoff) comes from an injected seeded generator.
public struct Paxos {
    public enum Phase: String, Sendable { case follower, preparing, leading }

    public let id: NodeID
    /// Fixed but for the proposer policy (`setProposerPolicy`).
    public private(set) var config: PaxosConfig
    public internal(set) var acceptor: AcceptorState
    /// Chosen values by slot (a learner's log; it may have gaps above `chosenThrough`).
    public internal(set) var chosen: [Slot: PaxosValue] = [:]
    /// Every slot up to this one is chosen and known here.
    public internal(set) var chosenThrough: Slot = 0
    /// The highest slot known chosen here (above `chosenThrough` while there are gaps).
    public internal(set) var highestChosenSlot: Slot = 0
    public internal(set) var phase: Phase = .follower
    /// The ballot this node last prepared (or zero): its ballot while preparing or leading.
    public internal(set) var ballot: Ballot = .zero
    /// The distinguished proposer this node believes in, or `noNode`.
    public internal(set) var leader: NodeID = noNode
    /// How often this node's ballot was preempted by a higher one.
    public internal(set) var preemptions = 0

    /// The highest ballot seen in any message: a new ballot goes above it.
    var highestSeen: Ballot = .zero
    /// While preparing: the promises received, by acceptor, and the first slot prepared.
    var promises: [NodeID: [AcceptedEntry]] = [:]
    var prepareFromSlot: Slot = 1
    /// While leading: slots sent in phase 2 and not yet chosen, with the acceptors that accepted.
    var inFlight: [Slot: InFlightSlot] = [:]
    var nextSlot: Slot = 1
    /// Values waiting for a slot, oldest first.
    var queued: [PaxosValue] = []
    var chosenCommandIDs: Set<UInt64> = []
    var handedOutThrough: Slot = 0
    var leaderElapsed = 0
    var randomizedLeaderTimeout = 0
    var heartbeatElapsed = 0
    /// Ticks left before a preempted proposer prepares again (without a distinguished proposer).
    var backoffRemaining = 0
    var random: SeededGenerator
    var outbox: [PaxosMessage] = []
    var localInbox: [PaxosMessage] = []
    var promisedChanged = false
    var acceptedToPersist: [AcceptedEntry] = []
    var abandoned: [PaxosValue] = []

    struct InFlightSlot {
        var value: PaxosValue
        var acceptedBy: Set<NodeID> = []
    }

    /// A node starting from what its acceptor persisted (empty for a new node) and whatever
    /// chosen values its caller kept (none: the learner catches up from the others).
    public init(config: PaxosConfig, acceptor: AcceptorState = AcceptorState(), chosen: [ChosenEntry] = [],
                random: SeededGenerator) throws(PaxosError) {
        try config.validate()
        self.id = config.id
        self.config = config
        self.acceptor = acceptor
        self.random = random
        // Every ballot this node used, it promised to itself first (persisted): the next goes above.
        self.highestSeen = acceptor.promised
        for entry in chosen { learn(entry.slot, entry.value) }
        handedOutThrough = chosenThrough
        resetLeaderTimeout()
    }

    /// Others, in ID order: the order messages go out in (deterministic).
    var peers: [NodeID] { config.acceptors.filter { $0 != id } }

    public var status: PaxosStatus {
        PaxosStatus(id: id, phase: phase, ballot: ballot, leader: leader, promised: acceptor.promised,
                    chosenThrough: chosenThrough, valuesWaiting: queued.count + inFlight.count, preemptions: preemptions)
    }

    // MARK: - Inputs

    /// Advances logical time by one tick: heartbeats and retransmissions for a proposer, the
    /// leader timeout for a follower, the backoff for a preempted proposer.
    public mutating func tick() {
        switch phase {
        case .leading, .preparing:
            heartbeatElapsed += 1
            if heartbeatElapsed >= config.heartbeatTicks {
                heartbeatElapsed = 0
                phase == .leading ? sendHeartbeatsAndRetransmit() : retransmitPrepare()
            }
        case .follower:
            if backoffRemaining > 0 {
                backoffRemaining -= 1
                if backoffRemaining == 0 && !queued.isEmpty { prepare() }
            } else if config.distinguishedProposer {
                leaderElapsed += 1
                if leaderElapsed >= randomizedLeaderTimeout { prepare() }
            }
        }
        deliverLocal()
    }

    /// Handles a message from a peer. Messages not addressed to this node are ignored.
    public mutating func step(_ message: PaxosMessage) {
        guard message.to == id else { return }
        receive(message)
        deliverLocal()
    }

    /// Asks for `value` to be chosen in some slot. With a distinguished proposer known elsewhere,
    /// refused with `.notLeader` (propose there); with none known, this node prepares.
    public mutating func propose(_ value: PaxosValue) throws(PaxosError) {
        if config.distinguishedProposer && phase == .follower && leader != noNode && leader != id {
            throw .notLeader(leader)
        }
        guard queued.count + inFlight.count < config.pendingValuesMax else { throw .overloaded(queued.count + inFlight.count) }
        queued.append(value)
        switch phase {
        case .leading: assignQueuedValues()
        case .preparing: break
        case .follower: if backoffRemaining == 0 { prepare() }
        }
        deliverLocal()
    }

    /// Switches a running node between a distinguished proposer and duelling ones, and the
    /// randomized backoff on or off (the console's duelling-proposers demo turns them on mid-run).
    /// Safety never depends on either, only liveness: what is promised and accepted stays. A node
    /// waiting out a backoff that is switched off prepares at its next tick.
    public mutating func setProposerPolicy(distinguishedProposer: Bool, randomizedBackoff: Bool) {
        config.distinguishedProposer = distinguishedProposer
        config.randomizedBackoff = randomizedBackoff
        if !randomizedBackoff && backoffRemaining > 1 { backoffRemaining = 1 }
        resetLeaderTimeout()
    }

    /// Hands out what to persist, send and apply since the last call.
    public mutating func ready() -> PaxosReady {
        var newlyChosen: [ChosenEntry] = []
        while handedOutThrough < chosenThrough {
            handedOutThrough += 1
            newlyChosen.append(ChosenEntry(slot: handedOutThrough, value: chosen[handedOutThrough]!))
        }
        let ready = PaxosReady(promised: promisedChanged ? acceptor.promised : nil, accepted: acceptedToPersist,
                               messages: outbox, chosen: newlyChosen, abandoned: abandoned)
        promisedChanged = false
        acceptedToPersist.removeAll(keepingCapacity: true)
        outbox.removeAll(keepingCapacity: true)
        abandoned.removeAll()
        return ready
    }

    // MARK: - Plumbing

    mutating func send(_ kind: PaxosMessage.Kind, to target: NodeID) {
        let message = PaxosMessage(from: id, to: target, kind: kind)
        if target == id { localInbox.append(message) } else { outbox.append(message) }
    }

    /// Messages to every acceptor, this node first (delivered locally) and then in ID order.
    mutating func broadcast(_ kind: PaxosMessage.Kind) {
        send(kind, to: id)
        for peer in peers { send(kind, to: peer) }
    }

    /// Messages a node sends itself are handled at once, in order, before the input returns.
    mutating func deliverLocal() {
        while !localInbox.isEmpty {
            receive(localInbox.removeFirst())
        }
    }

    mutating func resetLeaderTimeout() {
        leaderElapsed = 0
        randomizedLeaderTimeout = config.leaderTimeoutTicks + Int.random(in: 0..<config.leaderTimeoutTicks, using: &random)
    }

    mutating func receive(_ message: PaxosMessage) {
        switch message.kind {
        case .prepare(let ballot, let fromSlot): receivePrepare(from: message.from, ballot: ballot, fromSlot: fromSlot)
        case .accept(let ballot, let slot, let value): receiveAccept(from: message.from, ballot: ballot, slot: slot, value: value)
        case .promise(let ballot, _, let accepted): receivePromise(from: message.from, ballot: ballot, accepted: accepted)
        case .accepted(let ballot, let slot): receiveAccepted(from: message.from, ballot: ballot, slot: slot)
        case .nack(let ballot, let promised): receiveNack(ballot: ballot, promised: promised)
        case .heartbeat(let ballot, let chosenThrough): receiveHeartbeat(from: message.from, ballot: ballot, chosenThrough: chosenThrough)
        case .chosen(let entry): receiveChosen(entry, from: message.from)
        case .catchUp(let fromSlot): receiveCatchUp(from: message.from, fromSlot: fromSlot)
        case .catchUpReply(let entries): for entry in entries { learn(entry.slot, entry.value) }
        }
    }
}
