import ConclaveCore
import ConclavePaxos
import Foundation
import Testing

/// Many seeds through `PaxosSimulation`. A failure names its seed; replay one with
/// `PAXOS_SEED=<seed> swift test --filter PaxosSimulationTests`; run more seeds with
/// `PAXOS_SEED_COUNT=<n>`.
@Suite struct PaxosSimulationTests {
    static var seeds: [UInt64] {
        if let one = ProcessInfo.processInfo.environment["PAXOS_SEED"].flatMap(UInt64.init) { return [one] }
        let count = ProcessInfo.processInfo.environment["PAXOS_SEED_COUNT"].flatMap(UInt64.init) ?? 40
        return Array(1...max(1, count))
    }

    @Test("3 nodes, distinguished proposer, every fault: at most one value per slot, logs agree, progress after healing",
          arguments: seeds)
    func threeNodes(seed: UInt64) {
        var simulation = PaxosSimulation(seed: seed, nodeCount: 3)
        simulation.run(ticks: 1_500, withFaults: true)
        simulation.settle()
        expectSafe(simulation)
        #expect(simulation.chosen.count > 10, "seed \(seed): only \(simulation.chosen.count) slots chosen")
    }

    @Test("5 nodes, distinguished proposer, every fault", arguments: seeds)
    func fiveNodes(seed: UInt64) {
        var simulation = PaxosSimulation(seed: seed, nodeCount: 5)
        simulation.run(ticks: 1_500, withFaults: true)
        simulation.settle()
        expectSafe(simulation)
    }

    @Test("4 nodes without a distinguished proposer (duelling allowed, random backoff): still safe", arguments: seeds)
    func duellingProposers(seed: UInt64) {
        var simulation = PaxosSimulation(seed: seed, nodeCount: 4) { $0.distinguishedProposer = false }
        simulation.run(ticks: 1_500, withFaults: true)
        expectSafe(simulation)
    }

    func expectSafe(_ simulation: PaxosSimulation) {
        let safe = simulation.violations.isEmpty
        #expect(safe, "seed \(simulation.seed) (replay: PAXOS_SEED=\(simulation.seed)): \(simulation.violations.joined(separator: "; "))")
    }

    @Test("the same seed gives the same run")
    func deterministic() {
        var first = PaxosSimulation(seed: 42, nodeCount: 3)
        var second = PaxosSimulation(seed: 42, nodeCount: 3)
        first.run(ticks: 500, withFaults: true)
        second.run(ticks: 500, withFaults: true)
        #expect(first.chosen == second.chosen)
        #expect(first.nodes.keys.sorted().map { first.nodes[$0]!.status } == second.nodes.keys.sorted().map { second.nodes[$0]!.status })
    }
}
