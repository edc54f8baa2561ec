import ConclaveCore
import ConclaveCoordination
import Testing
@testable import ConclaveCluster

/// The Redis commands on the simulated cluster: EXISTS served through ReadIndex, TTLs on cluster time.
@Suite struct KVRedisClusterTests {
    static func ask(_ cluster: TestCluster, _ client: UInt64, _ sequence: UInt64, _ command: KVCommand, at node: NodeID) -> KVResult? {
        RaftOperationsTests.ask(cluster, KVRequest(client: client, sequence: sequence, command: command), at: node)
    }

    @Test("EXISTS is served through ReadIndex on every node, and a key with a TTL expires on every node", arguments: [1, 2] as [UInt64])
    func existsAndExpiry(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        let set = KVCommand.set(key: "k", value: "v", condition: .ifAbsent, ttlMillis: 2_000)
        #expect(Self.ask(cluster, 1, 1, set, at: leader) == .written(revision: 1), "\(cluster.replay)")
        #expect(Self.ask(cluster, 1, 2, .increment(key: "n", by: 41), at: leader) == .integer(41))
        let lastIndex = cluster.simulator.raft(of: leader)!.lastIndex
        for (sequence, node) in cluster.simulator.nodeIDs.enumerated() {
            let answer = Self.ask(cluster, 2, UInt64(sequence + 1), .exists(["k", "n", "k", "missing"]), at: node)
            #expect(answer == .count(3), "node \(node); \(cluster.replay)")
        }
        #expect(cluster.simulator.raft(of: leader)!.lastIndex <= lastIndex + 1, "reads appended to the log (a clock entry may)")
        cluster.simulator.run(for: 3 * TestCluster.second)
        for node in cluster.simulator.nodeIDs {
            let machine = cluster.simulator.coordination(of: node)
            #expect(machine.nowMillis >= 2_000, "cluster time did not move; \(cluster.replay)")
            #expect(machine.kv.values == ["n": "41"], "node \(node) kept the expired key; \(cluster.replay)")
        }
        #expect(Self.ask(cluster, 2, 10, .exists(["k"]), at: leader) == .count(0))
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }
}
