import ConclaveCluster
import ConclaveCore
import ConclavePaxos

/// A Multi-Paxos cluster with KV clients on virtual time: the console's Paxos engine. It drives
/// `PaxosCluster` (the chaos run's world: the same nodes, network and safety oracle), carries out
/// the operator's faults on it, steps one delivered message at a time, and reads it into a
/// `ClusterSnapshot` whose `paxos` part the Paxos view draws.
///
/// Deterministic: the same seed and calls give the same snapshots. Raft-only controls are
/// refused with the reason (`ClusterControl.unavailability(on:)`).
public final class EmbeddedPaxos: EmbeddedEngine, ControlPerforming {
    var cluster: PaxosCluster
    var time = VirtualTime()
    var observed = ClusterObservations()
    let seed: UInt64
    public private(set) var lastStep: String?
    var lastLeader: NodeID = noNode
    var rateMark = (millis: UInt64(0), chosen: 0, delivered: 0)
    var chosenPerSecond = 0.0
    var messagesPerSecond = 0.0

    /// Clients proposing at once: few enough that each slot can be read as it goes by.
    public static let clientsDefault = 3
    /// Observations (rates, leader changes) run at least this often.
    static let sliceMillis: UInt64 = 100

    public init(seed: UInt64, nodes: Int = 5, clients: Int = clientsDefault, settings: PaxosWorldSettings? = nil) throws(ControlError) {
        var chosen = settings ?? Self.settings(nodes: nodes)
        chosen.recentMessagesMax = PaxosSnapshot.messagesMax * 8
        do { cluster = try PaxosCluster(nodes: nodes, seed: seed, clients: clients, settings: chosen) } catch {
            throw ControlError(error.description)
        }
        self.seed = seed
        let policy = chosen.distinguishedProposer ? "a distinguished proposer" : "duelling proposers"
        record(.info, "embedded Multi-Paxos cluster of \(nodes) nodes (\(policy)), \(clients) KV clients, seed \(seed)")
    }

    /// The console's world: slow clients (each slot can be read as it goes by), each starting at
    /// its own node (so that without a distinguished proposer they duel), and a fixed 2 ms latency
    /// (a duel without backoff stays symmetric: the livelock does not end by luck).
    public static func settings(nodes: Int) -> PaxosWorldSettings {
        var settings = PaxosWorldSettings()
        settings.thinkMillis = 150...450
        settings.latencyMillis = 2...2
        settings.proposers = (1...UInt64(max(1, nodes))).map { $0 }
        return settings
    }

    public var nowNanos: UInt64 { cluster.nowMillis * 1_000_000 }
    public var isPaused: Bool { time.isPaused }
    public var speed: Double { time.speed }

    public func advance(until deadline: UInt64) {
        guard !isPaused else { return }
        let target = deadline / 1_000_000
        while cluster.nowMillis < target {
            cluster.advance(untilMillis: min(target, cluster.nowMillis + Self.sliceMillis))
            observe()
        }
    }

    @discardableResult
    public func step() -> String {
        guard let delivery = cluster.stepMessage() else { return "nothing scheduled" }
        let shown = "\(delivery.message)"
        lastStep = shown
        record(.step, "step: " + shown)
        observe()
        return shown
    }

    func record(_ kind: ClusterEvent.Kind, _ text: String) {
        observed.record(kind, text, atNanos: nowNanos)
    }

    /// Leader changes (with a distinguished proposer; duelling proposers lead for a batch each),
    /// and once a second the rates.
    func observe() {
        let leader = currentLeader
        if cluster.settings.distinguishedProposer, let leader, leader != lastLeader {
            record(.election, "node \(leader) leads in ballot \(cluster.node(leader)!.ballot) (phase 1 done)")
        }
        lastLeader = leader ?? noNode
        let elapsed = cluster.nowMillis - rateMark.millis
        guard elapsed >= 1_000 else { return }
        chosenPerSecond = Double(cluster.chosenCount - rateMark.chosen) * 1_000 / Double(elapsed)
        messagesPerSecond = Double(cluster.messagesDelivered - rateMark.delivered) * 1_000 / Double(elapsed)
        rateMark = (cluster.nowMillis, cluster.chosenCount, cluster.messagesDelivered)
    }

    public func snapshot() -> ClusterSnapshot {
        PaxosSnapshotBuilder(cluster: cluster).snapshot(seed: seed, time: time, lastStep: lastStep, events: observed.events,
                                                        rates: (chosenPerSecond, messagesPerSecond))
    }

    /// See `EmbeddedEngine.apply`.
    @discardableResult
    public func apply(_ control: ClusterControl) -> Result<String, ControlError> { performLogged(control) }

    func perform(_ control: ClusterControl) throws(ControlError) -> String {
        if let reason = control.unavailability(on: .paxos) { throw ControlError(reason) }
        switch control {
        case .time(.step):
            time.isPaused = true
            return step()
        case .time(let change):
            return try time.perform(change)
        case .paxos(let knob, let on):
            var distinguished = cluster.settings.distinguishedProposer
            var backoff = cluster.settings.randomizedBackoff
            if knob == .leader { distinguished = on } else { backoff = on }
            cluster.setProposerPolicy(distinguishedProposer: distinguished, randomizedBackoff: backoff)
            return "proposers: " + (distinguished ? "a distinguished proposer" : "duelling (no distinguished proposer)")
                + ", randomized backoff \(backoff ? "on" : "off")"
        default:
            return try performFault(control)
        }
    }

    private func performFault(_ control: ClusterControl) throws(ControlError) -> String {
        switch control {
        case .kill(let reference):
            let node = try resolve(reference)
            guard !cluster.isCrashed(node) else { throw ControlError("node \(node) is already down") }
            cluster.crash(node)
            return "killed node \(node) (its acceptor state is kept)"
        case .restart(let reference):
            let node = try resolve(reference)
            guard cluster.isCrashed(node) else { throw ControlError("node \(node) is not down") }
            cluster.restart(node)
            return "restarted node \(node) from its acceptor state"
        case .restartAll:
            cluster.healEverything()
            return "healed everything: network whole, every node up"
        case .partition(let groups):
            let resolved = try NodeGroups.resolve(groups, resolve)
            cluster.partition(resolved)
            return "partitioned " + NodeGroups.text(resolved)
        case .heal:
            cluster.heal()
            return "healed the network"
        case .isolate(let reference):
            let node = try resolve(reference)
            cluster.partition([[node]])
            return "isolated node \(node)"
        case .drop(let percent):
            cluster.drop(percent: percent)
            return "dropping \(percent)% of messages"
        case .delay(let millis):
            cluster.delay(millisMax: millis)
            return "delaying messages by up to \(millis) ms"
        case .duplicate(let percent):
            cluster.duplicate(percent: percent)
            return "duplicating \(percent)% of messages"
        case .pause(let reference, let millis):
            let node = try resolve(reference)
            guard !cluster.isCrashed(node) else { throw ControlError("node \(node) is down") }
            cluster.pause(node, millis: millis)
            return "paused node \(node) for \(millis) ms"
        default:
            throw ControlError("\(control) is not available on Paxos")
        }
    }

    /// The leader is the node leading in the highest ballot.
    func resolve(_ reference: NodeRef) throws(ControlError) -> NodeID {
        switch reference {
        case .leader:
            guard let leader = currentLeader else { throw ControlError("no node leads now (none has completed phase 1)") }
            return leader
        case .id(let id):
            guard cluster.nodeIDs.contains(id) else {
                throw ControlError("no node \(id); nodes are \(cluster.nodeIDs.map(String.init).joined(separator: ", "))")
            }
            return id
        }
    }

    /// The node leading in the highest ballot, if any.
    var currentLeader: NodeID? {
        cluster.nodeIDs.filter { cluster.node($0)?.phase == .leading }.max { cluster.node($0)!.ballot < cluster.node($1)!.ballot }
    }
}
