import ConclaveCore
import ConclavePaxos

/// How the nodes and clients of a Paxos world behave, beyond `ChaosOptions`: the console's knobs.
/// The defaults are the chaos run's.
public struct PaxosWorldSettings: Equatable, Sendable {
    /// `PaxosConfig.distinguishedProposer` and `.randomizedBackoff` of every node.
    public var distinguishedProposer = true
    public var randomizedBackoff = true
    /// One-way latency of each message. A fixed latency makes two duelling proposers symmetric.
    public var latencyMillis: ClosedRange<UInt64> = 1...5
    /// A client waits this long between one answer and its next operation.
    public var thinkMillis: ClosedRange<UInt64> = 1...10
    /// Client i proposes at `proposers[i % count]` (duelling proposers); empty: at a random node,
    /// then wherever a refusal names the distinguished proposer.
    public var proposers: [NodeID] = []
    /// The newest delivered messages kept for display (0: none, as in chaos runs).
    public var recentMessagesMax = 0

    public init() {}

    public static let recentMessagesLimit = 1_000
}

/// A message as it was delivered, and when.
public struct PaxosDelivery: Equatable, Sendable {
    public var millis: UInt64
    public var message: PaxosMessage
}

/// A Multi-Paxos cluster on a virtual clock for the console: the world `conclave chaos --engine
/// paxos` runs (nodes, simulated network, KV clients, the safety oracle), with no nemesis. The
/// operator's faults take its place, time advances a millisecond at a time or one delivered message
/// at a time (step mode), and no history is kept, so memory stays flat but for the Paxos log itself
/// (no compaction: README).
public struct PaxosCluster {
    var world: PaxosChaosWorld

    public static let tickMillis: UInt64 = 10
    /// A single step looks this far ahead for a message before it gives up.
    public static let stepSearchMillisMax = 10_000

    public init(nodes: Int, seed: UInt64, clients: Int, settings: PaxosWorldSettings) throws(ChaosError) {
        guard nodes >= 3 else { throw .invalid("Paxos needs at least 3 acceptors, got \(nodes): with fewer, one failure leaves no majority") }
        guard (0...ChaosOptions.clientsRange.upperBound).contains(clients) else {
            throw .invalid("Paxos clients must be 0…\(ChaosOptions.clientsRange.upperBound), got \(clients)")
        }
        guard settings.proposers.allSatisfy({ (1...UInt64(nodes)).contains($0) }) else {
            throw .invalid("proposers \(settings.proposers) must be nodes 1…\(nodes)")
        }
        guard settings.recentMessagesMax <= PaxosWorldSettings.recentMessagesLimit else {
            throw .invalid("recentMessagesMax must be at most \(PaxosWorldSettings.recentMessagesLimit)")
        }
        var options = ChaosOptions()
        options.seed = seed
        options.nodes = nodes
        options.clients = clients
        options.nemesis = []
        options.recordHistory = false
        world = PaxosChaosWorld(options: options, settings: settings, tickMillis: Self.tickMillis, requestTimeoutMillis: 1_000)
    }

    // MARK: - Time

    public var nowMillis: UInt64 { world.nowMillis }

    /// Runs every millisecond up to `millis`.
    public mutating func advance(untilMillis millis: UInt64) {
        while world.nowMillis < millis { world.step(faultsActive: false) }
    }

    /// Runs until the next message is delivered, and stops there; nil if none comes within
    /// `stepSearchMillisMax`.
    public mutating func stepMessage() -> PaxosDelivery? {
        world.stepOneMessage(faultsActive: false, millisMax: Self.stepSearchMillisMax)
    }

    // MARK: - The operator's faults (exact, as the nemesis injects them)

    public mutating func crash(_ node: NodeID) { world.crash(node, forMillis: nil) }
    public mutating func restart(_ node: NodeID) { world.restart(node) }
    public mutating func pause(_ node: NodeID, millis: UInt64) { world.pause(node, forMillis: millis) }
    public mutating func partition(_ groups: [[NodeID]]) { world.partition(groups, forMillis: nil) }
    public mutating func drop(percent: Int) { world.setDrop(Double(percent) / 100, forMillis: nil) }
    public mutating func duplicate(percent: Int) { world.setDuplicate(Double(percent) / 100, forMillis: nil) }
    public mutating func delay(millisMax: UInt64) { world.setDelay(millisMax, forMillis: nil) }

    public mutating func heal() {
        world.healNetwork()
        world.trace.record(world.nowNanos, "heal network", hash: 0)
    }

    /// Network whole, pauses over, crashed nodes restarted from their acceptor state.
    public mutating func healEverything() { world.healEverything() }

    /// See `Paxos.setProposerPolicy`; nodes restarted later start with it too.
    public mutating func setProposerPolicy(distinguishedProposer: Bool, randomizedBackoff: Bool) {
        world.settings.distinguishedProposer = distinguishedProposer
        world.settings.randomizedBackoff = randomizedBackoff
        for id in world.ids where world.nodes[id] != nil {
            world.nodes[id]!.paxos.setProposerPolicy(distinguishedProposer: distinguishedProposer, randomizedBackoff: randomizedBackoff)
            world.processReady(id)
        }
    }

    // MARK: - What the console reads

    public var settings: PaxosWorldSettings { world.settings }
    public var nodeIDs: [NodeID] { world.ids }
    /// The node's state machine; nil while it is crashed.
    public func node(_ id: NodeID) -> Paxos? { world.nodes[id]?.paxos }
    /// What the node's acceptor persisted: kept across a crash.
    public func acceptorState(of id: NodeID) -> AcceptorState { world.disks[id] ?? AcceptorState() }
    public func isCrashed(_ id: NodeID) -> Bool { world.nodes[id] == nil }
    public func pausedForMillis(_ id: NodeID) -> UInt64? { world.pausedUntil[id].map { $0 > world.nowMillis ? $0 - world.nowMillis : 0 } }
    /// The partition groups, empty when the network is whole.
    public var partitionGroups: [[NodeID]] { world.network.isPartitioned ? world.network.partitionGroups(of: world.ids) : [] }
    public var dropPercent: Int { Int((world.network.dropProbability * 100).rounded()) }
    public var duplicatePercent: Int { Int((world.network.duplicateProbability * 100).rounded()) }
    public var delayMillisMax: UInt64 { world.network.extraDelayMaxNanos / 1_000_000 }
    /// The value chosen in `slot` (a majority of acceptors persisted it in one ballot), if any.
    public func chosenValue(at slot: Slot) -> PaxosValue? { world.chosenBySlot[slot] }
    /// Values chosen since the start, and when the last one was.
    public var chosenCount: Int { world.chosenCount }
    public var lastChosenMillis: UInt64 { world.lastChosenMillis }
    public var messagesDelivered: Int { world.delivered }
    public var recentMessages: [PaxosDelivery] { world.recentMessages }
    /// Safety violations seen (at most 20): a slot chosen twice, a learner applying another value.
    public var violations: [String] { world.violations }
    /// Values the clients wait on, over all proposers.
    public var valuesWaiting: Int { world.ids.compactMap { world.nodes[$0]?.paxos.status.valuesWaiting }.reduce(0, +) }

    /// A value as the console shows it: the KV command it carries (`#17 put k0-1=c2-3`), or `noop`.
    public static func describe(_ value: PaxosValue) -> String {
        guard case .command(let id, let data) = value else { return "noop" }
        guard let command = PaxosKVCommand(bytes: data) else { return "#\(id) \(data.count) bytes" }
        switch command.kind {
        case .put: return "#\(id) put \(command.key)=\(command.value ?? "")"
        case .get: return "#\(id) get \(command.key)"
        case .cas: return "#\(id) cas \(command.key) \(command.expected ?? "∅")→\(command.value ?? "")"
        }
    }
}
