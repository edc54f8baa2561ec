import ConclaveCore
import ConclaveRaft
@testable import ConclaveCluster

/// Test harness over the simulator in the style of the classic Raft lab: `one(command)` gets a
/// command committed and returns its index; helpers check leaders and terms. Every failure message
/// carries the seed and the command that replays it.
struct TestCluster {
    let simulator: Simulator
    let seed: UInt64
    static let millis: UInt64 = 1_000_000
    static let second: UInt64 = 1_000_000_000

    init(nodes: Int, seed: UInt64, preVote: Bool = true, checkQuorum: Bool = true, configure: (inout SimulationConfig) -> Void = { _ in }) {
        var config = SimulationConfig(nodes: nodes, seed: seed)
        config.recordApplied = true
        config.preVote = preVote
        config.checkQuorum = checkQuorum
        configure(&config)
        self.seed = seed
        self.simulator = try! Simulator(config: config)
    }

    var replay: String { "seed \(seed): replay with `swift test --filter ConclaveClusterTests` (seed is fixed in the test)" }

    /// Runs until exactly one live leader exists among nodes that can reach a quorum; returns it.
    func checkOneLeader(within nanos: UInt64 = 5 * second) -> NodeID? {
        let deadline = simulator.now + nanos
        while simulator.now < deadline {
            simulator.run(for: 50 * Self.millis)
            var byTerm: [Term: [NodeID]] = [:]
            for leader in simulator.leaders { byTerm[leader.term, default: []].append(leader.node) }
            if byTerm.values.contains(where: { $0.count > 1 }) { return nil }
            if let newest = byTerm.keys.max(), let node = byTerm[newest]?.first, canReachQuorum(node) {
                return node
            }
        }
        return nil
    }

    private func canReachQuorum(_ node: NodeID) -> Bool {
        let group = simulator.partitionGroups.first { $0.contains(node) } ?? []
        let live = group.filter { simulator.isUp($0) }
        return live.count >= simulator.nodeIDs.count / 2 + 1
    }

    /// Leaders currently believed by live nodes.
    var liveLeaders: [NodeID] { simulator.leaders.map(\.node) }

    /// Terms agreed on by all live nodes, or nil if they differ.
    func agreedTerm() -> Term? {
        let terms = Set(simulator.nodeIDs.filter { simulator.isUp($0) }.map { simulator.term(of: $0) })
        return terms.count == 1 ? terms.first : nil
    }

    /// Gets `command` committed on at least `expectedNodes` nodes; returns its index (nil on failure).
    /// Retries with whichever node leads, like a client would, for up to 10 virtual seconds.
    func one(_ command: String, expectedNodes: Int, retry: Bool = true, raw: [UInt8]? = nil) -> LogIndex? {
        let data = raw ?? Array(command.utf8)
        let deadline = simulator.now + 10 * Self.second
        while simulator.now < deadline {
            var proposed = false
            if let leader = simulator.leader, simulator.propose(data, at: leader) { proposed = true }
            if proposed {
                let attemptDeadline = simulator.now + 2 * Self.second
                while simulator.now < attemptDeadline {
                    simulator.run(for: 20 * Self.millis)
                    if let index = indexOf(data), appliedCount(at: index) >= expectedNodes {
                        return index
                    }
                }
                if !retry { return nil }
            } else {
                simulator.run(for: 50 * Self.millis)
            }
        }
        return nil
    }

    /// Nodes that applied `index` (directly, or inside a snapshot they installed).
    func appliedCount(at index: LogIndex) -> Int {
        simulator.nodeIDs.filter { simulator.stateMachine(of: $0).appliedIndex >= index }.count
    }

    /// The index at which any node applied `data`.
    func indexOf(_ data: [UInt8]) -> LogIndex? {
        for node in simulator.nodeIDs {
            if let entry = simulator.appliedEntries(of: node).last(where: { $0.data == data }) { return entry.index }
        }
        return nil
    }

    /// All live nodes applied the same entries up to the shortest of them.
    func logsAgree() -> Bool {
        let logs = simulator.nodeIDs.filter { simulator.isUp($0) }.map { simulator.appliedEntries(of: $0) }
        guard let shortest = logs.map(\.count).min() else { return true }
        for position in 0..<shortest {
            let first = logs[0][position]
            if logs.contains(where: { $0[position] != first }) { return false }
        }
        return true
    }

    func inject(_ fault: Fault) { try! simulator.inject(fault) }

    func isolateMany(_ group: [NodeID]) {
        inject(.partition([group, simulator.nodeIDs.filter { !group.contains($0) }]))
    }

    func isolate(_ node: NodeID) {
        inject(.partition([[node], simulator.nodeIDs.filter { $0 != node }]))
    }
}
