import ConclaveCore
@testable import ConclavePaxos

/// A seeded, deterministic network for the Paxos core with the nemesis' faults: drop, duplicate,
/// delay (and so reorder), partition, pause and crash-restart from the persisted acceptor state.
///
/// One seed decides everything. After every input it checks safety against an oracle that looks
/// at what the acceptors persisted: a value is chosen in a slot the moment a majority has
/// persisted it in one ballot, and a slot may never be chosen with two values; every value a
/// learner learns must be the one chosen. `settle()` then heals every fault and checks liveness:
/// a new value is chosen and every learner's log is complete and identical.
struct PaxosSimulation {
    struct Faults {
        var dropProbability = 0.05
        var duplicateProbability = 0.05
        var delayTicksMax: UInt64 = 4
        /// Per tick: a new partition, a heal, a crash, a restart, a pause, an unpause.
        var partitionProbability = 0.01
        var healProbability = 0.02
        var crashProbability = 0.005
        var restartProbability = 0.05
        var pauseProbability = 0.005
        var unpauseProbability = 0.05
        var proposeProbability = 0.3
    }


    let seed: UInt64
    let ids: [NodeID]
    let configs: [NodeID: PaxosConfig]
    var faults: Faults
    var random: SeededGenerator
    var nodes: [NodeID: Paxos] = [:]
    var disks: [NodeID: AcceptorState] = [:]
    var paused: Set<NodeID> = []
    var groupOf: [NodeID: Int] = [:]
    /// Messages in flight by the tick they arrive at, in the order they were sent.
    var network: [UInt64: [PaxosMessage]] = [:]
    var networkCount = 0
    var now: UInt64 = 0
    var restarts: UInt64 = 0
    var nextCommand: UInt64 = 1
    /// The oracle: what a majority of acceptors persisted in one ballot, per slot.
    var chosen: [Slot: PaxosValue] = [:]
    /// What broke, first few only: one broken rule repeats on every step after.
    var violations: [String] = []
    let violationsMax = 10
    /// At most this many messages in flight; more are dropped (a full socket buffer).
    let networkMessagesMax = 20_000

    init(seed: UInt64, nodeCount: Int, faults: Faults = Faults(), configure: (inout PaxosConfig) -> Void = { _ in }) {
        self.seed = seed
        self.faults = faults
        self.random = SeededGenerator(seed: seed, stream: 0)
        ids = (1...nodeCount).map { NodeID($0) }
        var configs: [NodeID: PaxosConfig] = [:]
        for id in ids {
            var config = PaxosConfig(id: id, acceptors: ids)
            configure(&config)
            configs[id] = config
        }
        self.configs = configs
        for id in ids { start(id) }
    }

    var quorum: Int { ids.count / 2 + 1 }

    mutating func start(_ id: NodeID) {
        restarts += 1
        let acceptor = disks[id] ?? AcceptorState()
        nodes[id] = try! Paxos(config: configs[id]!, acceptor: acceptor, random: SeededGenerator(seed: seed, stream: id &+ restarts << 8))
        disks[id] = acceptor
    }

    // MARK: - Running

    mutating func run(ticks: Int, withFaults: Bool) {
        for _ in 0..<ticks {
            now += 1
            if withFaults { injectFaults() }
            if random.chance(faults.proposeProbability) { proposeSomewhere() }
            for id in ids where nodes[id] != nil && !paused.contains(id) {
                nodes[id]!.tick()
                processReady(id)
            }
            deliverDue()
        }
    }

    /// Heals everything, runs until quiet, proposes one last value and checks it is chosen and
    /// every log complete and identical.
    mutating func settle() {
        groupOf = [:]
        paused = []
        for id in ids where nodes[id] == nil { start(id) }
        faults.dropProbability = 0
        faults.duplicateProbability = 0
        faults.proposeProbability = 0
        run(ticks: 200, withFaults: false)
        let last = nextCommand
        nextCommand += 1
        var proposed = false
        for _ in 0..<50 where !proposed {
            if let leader = ids.first(where: { nodes[$0]!.phase == .leading }) {
                proposed = (try? nodes[leader]!.propose(.command(id: last, data: []))) != nil
                processReady(leader)
            }
            run(ticks: 5, withFaults: false)
        }
        run(ticks: 100, withFaults: false)
        if !proposed { violate("liveness: no leader took the last value after healing") }
        let logs = ids.map { nodes[$0]!.chosen }
        if !(nodes[ids[0]]!.chosen.values.contains(.command(id: last, data: []))) {
            violate("liveness: the last value was not chosen after healing")
        }
        for (index, id) in ids.enumerated() {
            if logs[index] != logs[0] { violate("node \(id)'s log differs from node \(ids[0])'s") }
            if nodes[id]!.chosenThrough != Slot(logs[0].count) { violate("node \(id)'s log has gaps") }
        }
    }

    // MARK: - Faults and clients

    mutating func injectFaults() {
        if random.chance(faults.partitionProbability) {
            for id in ids { groupOf[id] = Int.random(in: 0..<2, using: &random) }
        }
        if random.chance(faults.healProbability) { groupOf = [:] }
        if random.chance(faults.crashProbability), let id = ids.randomElement(using: &random), nodes[id] != nil {
            nodes[id] = nil
        }
        for id in ids where nodes[id] == nil && random.chance(faults.restartProbability) { start(id) }
        if random.chance(faults.pauseProbability), let id = ids.randomElement(using: &random) { paused.insert(id) }
        for id in paused.sorted() where random.chance(faults.unpauseProbability) { paused.remove(id) }
    }

    /// A client proposes a new command at a random live node; a refusal naming a leader is
    /// retried there once.
    mutating func proposeSomewhere() {
        guard let id = ids.randomElement(using: &random), nodes[id] != nil, !paused.contains(id) else { return }
        let value = PaxosValue.command(id: nextCommand, data: [])
        nextCommand += 1
        do {
            try nodes[id]!.propose(value)
            processReady(id)
        } catch .notLeader(let leader) {
            if nodes[leader] != nil, !paused.contains(leader), (try? nodes[leader]!.propose(value)) != nil { processReady(leader) }
        } catch {}
    }

    mutating func violate(_ what: String) {
        if violations.count < violationsMax { violations.append(what) }
    }

    // MARK: - Network

    func canReach(_ source: NodeID, _ target: NodeID) -> Bool {
        groupOf[source] == groupOf[target]
    }

    mutating func processReady(_ id: NodeID) {
        let ready = nodes[id]!.ready()
        disks[id]!.record(promised: ready.promised, accepted: ready.accepted)
        for entry in ready.accepted { observeAccepted(entry) }
        for entry in ready.chosen where chosen[entry.slot] != entry.value {
            violate("t\(now): node \(id) learned \(entry.value) in slot \(entry.slot), chosen: \(chosen[entry.slot].map(String.init(describing:)) ?? "nothing")")
        }
        for message in ready.messages { send(message) }
    }

    mutating func send(_ message: PaxosMessage) {
        guard networkCount < networkMessagesMax, !random.chance(faults.dropProbability) else { return }
        let copies = random.chance(faults.duplicateProbability) ? 2 : 1
        for _ in 0..<copies {
            let delay = UInt64.random(in: 1...max(1, faults.delayTicksMax), using: &random)
            network[now + delay, default: []].append(message)
            networkCount += 1
        }
    }

    /// Delivers this tick's messages in the order they were sent (a random delay reorders them
    /// across ticks); one for a paused node waits a tick.
    mutating func deliverDue() {
        guard let due = network.removeValue(forKey: now) else { return }
        networkCount -= due.count
        for message in due {
            let target = message.to
            guard nodes[target] != nil, canReach(message.from, target) else { continue }
            if paused.contains(target) {
                network[now + 1, default: []].append(message)
                networkCount += 1
                continue
            }
            nodes[target]!.step(message)
            processReady(target)
        }
    }

    /// The oracle: if a majority of acceptors now hold `entry`'s ballot in its slot, its value is
    /// chosen there; a different value chosen before is a safety violation.
    mutating func observeAccepted(_ entry: AcceptedEntry) {
        let holders = ids.filter { disks[$0]?.accepted[entry.slot]?.ballot == entry.ballot }.count
        guard holders >= quorum else { return }
        if let earlier = chosen[entry.slot], earlier != entry.value {
            violate("t\(now): slot \(entry.slot) chosen twice: \(earlier) then \(entry.value) in ballot \(entry.ballot)")
        }
        if chosen[entry.slot] == nil { chosen[entry.slot] = entry.value }
    }
}
