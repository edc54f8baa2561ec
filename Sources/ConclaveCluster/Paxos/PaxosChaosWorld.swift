import ConclaveCore
import ConclavePaxos

/// The state of one `PaxosChaosRunner` run: nodes, network, nemesis, clients, history, checks.
struct PaxosChaosWorld {
    struct Node {
        var paxos: Paxos
        var store = PaxosKVStore()
        /// Commands proposed here, by command ID, and the client waiting for each.
        var waiting: [UInt64: Int] = [:]
    }

    struct PendingOperation {
        var command: PaxosKVCommand
        var commandID: UInt64
        var callNanos: UInt64
        var deadlineMillis: UInt64
    }

    struct Client {
        var number: Int
        var leaderGuess: NodeID
        var pending: PendingOperation?
        var nextActionMillis: UInt64 = 1
        var sequence = 0
        var lastSeen: [String: String] = [:]
    }

    let options: ChaosOptions
    var settings: PaxosWorldSettings
    let tickMillis: UInt64
    let requestTimeoutMillis: UInt64
    let ids: [NodeID]
    var random: SeededGenerator
    var nowMillis: UInt64 = 0
    var nodes: [NodeID: Node] = [:]
    var disks: [NodeID: AcceptorState] = [:]
    var restarts: UInt64 = 0
    var crashedUntil: [NodeID: UInt64] = [:]
    var pausedUntil: [NodeID: UInt64] = [:]
    var network = SimulatedNetwork(latencyMinNanos: 1_000_000, latencyMaxNanos: 5_000_000)
    /// Messages in flight by the millisecond they arrive, in send order; at most `inFlightMax`.
    var inFlight: [UInt64: [PaxosMessage]] = [:]
    var inFlightCount = 0
    let inFlightMax = 200_000
    var clients: [Client] = []
    var clientsActive = true
    var nextClientNumber = 0
    var nextCommandID: UInt64 = 0
    var keyGeneration = 0
    var operationsOnGeneration = 0
    var history: [HistoryOperation] = []
    var violations: [String] = []
    let violationsMax = 20
    /// What a majority of acceptors persisted in one ballot, per slot (the oracle), and what
    /// learners applied per slot.
    var chosenBySlot: [Slot: PaxosValue] = [:]
    var appliedBySlot: [Slot: PaxosValue] = [:]
    var nextFaultMillis: UInt64 = 1_000
    var healMillis: UInt64?
    var faultCounts: [String: Int] = [:]
    var leaderChanges = 0
    var lastLeader: NodeID = noNode
    var events = 0
    var replicasAgree = false
    /// Every delivered message and fault, hashed; the first `traceLinesMax` as text (`--trace`).
    var trace: SimulationTrace
    /// The newest delivered messages, oldest first, at most `settings.recentMessagesMax`.
    var recentMessages: [PaxosDelivery] = []
    /// Messages delivered, and values newly chosen (the oracle's count), since the start.
    var delivered = 0
    var chosenCount = 0
    var lastChosenMillis: UInt64 = 0
    /// Inside a millisecond: its faults, restarts and ticks ran, its clients have not acted yet
    /// (a single-message step may stop there).
    var isInsideMillisecond = false

    init(options: ChaosOptions, settings: PaxosWorldSettings = PaxosWorldSettings(), tickMillis: UInt64, requestTimeoutMillis: UInt64) {
        self.options = options
        self.settings = settings
        self.tickMillis = tickMillis
        self.requestTimeoutMillis = requestTimeoutMillis
        ids = (1...options.nodes).map { NodeID($0) }
        random = SeededGenerator(seed: options.seed, stream: 0x9A_0505)
        trace = SimulationTrace(linesMax: options.traceLinesMax)
        network = SimulatedNetwork(latencyMinNanos: settings.latencyMillis.lowerBound * 1_000_000,
                                   latencyMaxNanos: settings.latencyMillis.upperBound * 1_000_000)
        for id in ids { start(id) }
        for _ in 0..<options.clients { newClient() }
    }

    var nowNanos: UInt64 { nowMillis * 1_000_000 }

    func isUp(_ id: NodeID) -> Bool { nodes[id] != nil && pausedUntil[id] == nil }

    mutating func start(_ id: NodeID) {
        restarts += 1
        if disks[id] != nil { trace.record(nowNanos, "restart node \(id) from its acceptor state", hash: id) }
        var config = PaxosConfig(id: id, acceptors: ids)
        config.leaderTimeoutTicks = 15
        config.distinguishedProposer = settings.distinguishedProposer
        config.randomizedBackoff = settings.randomizedBackoff
        let acceptor = disks[id] ?? AcceptorState()
        disks[id] = acceptor
        let paxos = try! Paxos(config: config, acceptor: acceptor, random: SeededGenerator(seed: options.seed, stream: id &+ restarts << 16))
        nodes[id] = Node(paxos: paxos)
    }

    mutating func newClient() {
        // Pinned clients (duelling proposers) each start at their own proposer.
        clients.append(Client(number: nextClientNumber, leaderGuess: pinnedProposer(of: clients.count) ?? ids.randomElement(using: &random)!))
        nextClientNumber += 1
    }

    // MARK: - The step

    /// One millisecond of virtual time: faults, restarts and ticks, every message due, the clients.
    mutating func step(faultsActive: Bool) {
        if !isInsideMillisecond { beginMillisecond(faultsActive: faultsActive) }
        while deliverNextDue() != nil {}
        endMillisecond()
    }

    /// Runs until one message is delivered and stops right after it (the console's step mode):
    /// a sequence of these runs exactly what `step` would. Nil when nothing is delivered within
    /// `millisMax` milliseconds.
    mutating func stepOneMessage(faultsActive: Bool, millisMax: Int) -> PaxosDelivery? {
        for _ in 0..<millisMax {
            if !isInsideMillisecond { beginMillisecond(faultsActive: faultsActive) }
            if let delivery = deliverNextDue() { return delivery }
            endMillisecond()
        }
        return nil
    }

    mutating func beginMillisecond(faultsActive: Bool) {
        nowMillis += 1
        isInsideMillisecond = true
        if faultsActive { nemesis() }
        for (id, until) in crashedUntil.sorted(by: { $0.key < $1.key }) where until <= nowMillis {
            crashedUntil[id] = nil
            start(id)
        }
        for (id, until) in pausedUntil.sorted(by: { $0.key < $1.key }) where until <= nowMillis { pausedUntil[id] = nil }
        if nowMillis % tickMillis == 0 {
            for id in ids where isUp(id) {
                nodes[id]!.paxos.tick()
                processReady(id)
            }
            noteLeader()
        }
    }

    mutating func endMillisecond() {
        isInsideMillisecond = false
        if clientsActive {
            for index in clients.indices { actForClient(index) }
        }
    }

    /// Delivers the first message due now that can arrive, in send order; those that cannot
    /// (crashed target, cut link) are lost on the way, those to a paused node wait a millisecond.
    mutating func deliverNextDue() -> PaxosDelivery? {
        while var due = inFlight.removeValue(forKey: nowMillis), !due.isEmpty {
            let message = due.removeFirst()
            inFlightCount -= 1
            if !due.isEmpty { inFlight[nowMillis] = due }
            guard nodes[message.to] != nil, network.canReach(from: message.from, to: message.to, at: nowNanos) else { continue }
            if pausedUntil[message.to] != nil {
                enqueue(message, atMillis: nowMillis + 1)
                continue
            }
            events += 1
            delivered += 1
            trace.record(nowNanos, "\(message)", hash: StableHash.key(message.description))
            nodes[message.to]!.paxos.step(message)
            processReady(message.to)
            let delivery = PaxosDelivery(millis: nowMillis, message: message)
            if settings.recentMessagesMax > 0 {
                recentMessages.append(delivery)
                if recentMessages.count > settings.recentMessagesMax { recentMessages.removeFirst() }
            }
            return delivery
        }
        return nil
    }

    mutating func enqueue(_ message: PaxosMessage, atMillis time: UInt64) {
        guard inFlightCount < inFlightMax else { return }
        inFlight[time, default: []].append(message)
        inFlightCount += 1
    }

    /// Persist, check, send, apply: the Ready contract, with the safety checks on the way.
    mutating func processReady(_ id: NodeID) {
        let ready = nodes[id]!.paxos.ready()
        disks[id]!.record(promised: ready.promised, accepted: ready.accepted)
        for entry in ready.accepted { observeAccepted(entry) }
        for message in ready.messages {
            for time in network.deliveryTimes(from: message.from, to: message.to, at: nowNanos, using: &random) {
                enqueue(message, atMillis: max(nowMillis + 1, (time + 999_999) / 1_000_000))
            }
        }
        for entry in ready.chosen { apply(entry, at: id) }
        for value in ready.abandoned {
            if let commandID = value.commandID, let client = nodes[id]!.waiting.removeValue(forKey: commandID) {
                finishUnknown(client, commandID: commandID)
            }
        }
    }

    mutating func apply(_ entry: ChosenEntry, at id: NodeID) {
        if let chosen = chosenBySlot[entry.slot], chosen != entry.value {
            violate("node \(id) applied \(entry.value) in slot \(entry.slot), where \(chosen) was chosen")
        } else if chosenBySlot[entry.slot] == nil {
            violate("node \(id) applied \(entry.value) in slot \(entry.slot), where no majority accepted anything")
        }
        if let earlier = appliedBySlot[entry.slot], earlier != entry.value {
            violate("slot \(entry.slot): node \(id) applied \(entry.value), another node \(earlier)")
        }
        appliedBySlot[entry.slot] = entry.value
        guard let (commandID, answer) = nodes[id]!.store.apply(entry.value),
              let client = nodes[id]!.waiting.removeValue(forKey: commandID) else { return }
        finishAnswered(client, commandID: commandID, answer: answer)
    }

    /// The oracle: a majority of acceptors holding one ballot's value in a slot chose it.
    mutating func observeAccepted(_ entry: AcceptedEntry) {
        let holders = ids.filter { disks[$0]?.accepted[entry.slot]?.ballot == entry.ballot }.count
        guard holders >= ids.count / 2 + 1 else { return }
        if let earlier = chosenBySlot[entry.slot], earlier != entry.value {
            violate("slot \(entry.slot) chosen twice: \(earlier), then \(entry.value) in ballot \(entry.ballot)")
        }
        if chosenBySlot[entry.slot] == nil {
            chosenBySlot[entry.slot] = entry.value
            chosenCount += 1
            lastChosenMillis = nowMillis
        }
    }

    mutating func violate(_ text: String) {
        if violations.count < violationsMax { violations.append("t=\(nowMillis)ms: \(text)") }
    }

    mutating func noteLeader() {
        let leading = ids.filter { nodes[$0]?.paxos.phase == .leading }
        guard let leader = leading.max(by: { nodes[$0]!.paxos.ballot < nodes[$1]!.paxos.ballot }), leader != lastLeader else { return }
        if lastLeader != noNode { leaderChanges += 1 }
        lastLeader = leader
    }
}
