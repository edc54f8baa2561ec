import ConclaveCore
import ConclaveCoordination
import ConclaveRaft
import Testing
@testable import ConclaveCluster

/// Snapshots in the spirit of the classic lab's part D, driven through the KV store so the
/// snapshot holds real state.
@Suite struct RaftSnapshotTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// A cluster that snapshots every 50 entries, keeps 10, and sends snapshots in 128-byte chunks.
    static func cluster(nodes: Int = 3, seed: UInt64) -> TestCluster {
        TestCluster(nodes: nodes, seed: seed) { config in
            config.snapshotEveryEntries = 50
            config.compactionKeepEntries = 10
            config.snapshotChunkBytes = 128
        }
    }

    /// Writes `count` keys through the leader, waiting for each to apply on `expectedNodes`.
    static func write(_ cluster: TestCluster, _ count: Int, prefix: String, expectedNodes: Int) throws {
        for number in 0..<count {
            let request = KVRequest(client: 1_000 + UInt64(prefix.utf8.first ?? 0), sequence: UInt64(number + 1) + (prefix == "b" ? 100_000 : 0),
                                    command: .put(key: "\(prefix)\(number % 20)", value: "\(prefix)-\(number)"))
            _ = try #require(cluster.one(String(decoding: request.encoded(), as: UTF8.self), expectedNodes: expectedNodes, raw: request.encoded()))
        }
    }

    @Test("basic: logs are compacted behind snapshots and every node keeps the same state", arguments: seeds)
    func basicSnapshot(seed: UInt64) throws {
        let cluster = Self.cluster(seed: seed)
        try Self.write(cluster, 200, prefix: "a", expectedNodes: 3)
        cluster.simulator.run(for: 500 * TestCluster.millis)
        for node in cluster.simulator.nodeIDs {
            let status = try #require(cluster.simulator.status(of: node).raft)
            #expect(status.snapshotIndex >= 150, "node \(node) never compacted; \(cluster.replay)")
            #expect(cluster.simulator.stateMachine(of: node).values == cluster.simulator.stateMachine(of: 1).values)
        }
        #expect(cluster.simulator.statistics.snapshotsTaken >= 9)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("a follower that misses compacted entries is brought up to date by InstallSnapshot", arguments: seeds)
    func installToLaggingFollower(seed: UInt64) throws {
        let cluster = Self.cluster(seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        let follower = cluster.simulator.nodeIDs.first { $0 != leader }!
        cluster.inject(.crash(follower))
        try Self.write(cluster, 200, prefix: "a", expectedNodes: 2)
        cluster.inject(.restart(follower))
        try Self.write(cluster, 5, prefix: "b", expectedNodes: 3)
        #expect(cluster.simulator.statistics.snapshotsInstalled >= 1, "\(cluster.replay)")
        #expect(cluster.simulator.stateMachine(of: follower).values == cluster.simulator.stateMachine(of: leader).values)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("snapshots install under loss, duplication and jitter (chunks lost, resent, reordered)", arguments: seeds)
    func snapshotsUnreliable(seed: UInt64) throws {
        let cluster = Self.cluster(nodes: 5, seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        let lagging = cluster.simulator.nodeIDs.filter { $0 != leader }.prefix(2)
        for node in lagging { cluster.isolateMany(Array(lagging)) ; _ = node }
        try Self.write(cluster, 150, prefix: "a", expectedNodes: 3)
        cluster.inject(.drop(probability: 0.2))
        cluster.inject(.duplicate(probability: 0.1))
        cluster.inject(.delay(millis: 15))
        cluster.inject(.heal)
        cluster.simulator.run(for: 5 * TestCluster.second)
        cluster.simulator.healAll()
        try Self.write(cluster, 3, prefix: "b", expectedNodes: 5)
        for node in lagging {
            #expect(cluster.simulator.stateMachine(of: node).values == cluster.simulator.stateMachine(of: leader).values,
                    "node \(node); \(cluster.replay)")
        }
        #expect(cluster.simulator.statistics.snapshotsInstalled >= 2)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("crashes around snapshotting: every node restarts from snapshot plus log", arguments: seeds)
    func crashAroundSnapshots(seed: UInt64) throws {
        let cluster = Self.cluster(nodes: 5, seed: seed)
        var random = SeededGenerator(seed: seed, stream: 42)
        for round in 0..<8 {
            try Self.write(cluster, 30, prefix: "r\(round)", expectedNodes: 3)
            let node = cluster.simulator.nodeIDs[Int(random.next() % 5)]
            cluster.inject(.crash(node))
            cluster.simulator.run(for: (random.next() % 200) * TestCluster.millis)
            cluster.inject(.restart(node))
        }
        for node in cluster.simulator.nodeIDs { cluster.inject(.crash(node)) }
        for node in cluster.simulator.nodeIDs { cluster.inject(.restart(node)) }
        try Self.write(cluster, 3, prefix: "end", expectedNodes: 5)
        let reference = cluster.simulator.stateMachine(of: 1)
        for node in cluster.simulator.nodeIDs {
            #expect(cluster.simulator.stateMachine(of: node).values == reference.values, "node \(node); \(cluster.replay)")
        }
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("a KV snapshot round-trips and a damaged one is refused with the reason")
    func kvSnapshotRoundTrip() throws {
        var machine = KVStateMachine()
        _ = machine.apply(index: 1, data: KVRequest(client: 1, sequence: 1, command: .put(key: "a", value: "1")).encoded(), nowMillis: 0)
        _ = machine.apply(index: 2, data: KVRequest(client: 2, sequence: 1, command: .compareAndSwap(key: "a", expected: "1", value: "2")).encoded(), nowMillis: 0)
        let bytes = machine.snapshotData()
        let restored = try KVStateMachine(restoring: bytes)
        #expect(restored == machine)
        #expect(restored.snapshotData() == bytes)
        #expect(throws: KVStateMachine.SnapshotError.self) { try KVStateMachine(restoring: Array(bytes.dropLast(3))) }
        #expect(throws: KVStateMachine.SnapshotError.self) { try KVStateMachine(restoring: [9] + bytes.dropFirst()) }
    }
}

@Suite struct InvariantMonitorWindowTests {
    @Test("with a window the monitor keeps only the last entries, and still catches a divergence inside it")
    func windowBoundsMemory() {
        var monitor = InvariantMonitor(windowEntries: 10)
        for index in 1...100 as ClosedRange<LogIndex> {
            monitor.entryApplied(Entry(term: 1, index: index, data: []), by: 1, digest: index, at: 0)
        }
        #expect(monitor.highestApplied == 100)
        #expect(monitor.retainedEntries <= 20)
        monitor.entryApplied(Entry(term: 1, index: 95, data: []), by: 2, digest: 95, at: 0)
        #expect(monitor.isSafe)
        monitor.entryApplied(Entry(term: 1, index: 96, data: []), by: 2, digest: 7, at: 0)
        #expect(!monitor.isSafe, "a divergence inside the window is caught")
        monitor.entryApplied(Entry(term: 2, index: 3, data: []), by: 3, digest: 3, at: 0)
        #expect(monitor.violationCount == 1, "an index behind the window is no longer compared")
    }
}
