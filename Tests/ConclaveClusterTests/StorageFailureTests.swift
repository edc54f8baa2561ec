import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveCluster

/// A disk that fails stops its node, as a crash would, with the reason in the trace; the others
/// go on, and the node recovers from its log once restarted on a working disk.
@Suite struct StorageFailureTests {
    @Test("a node whose disk fails stops (the reason traced); the others go on; restarted on a good disk it catches up",
          arguments: [false, true])
    func failedDiskStopsTheNode(leaderDisk: Bool) throws {
        let cluster = TestCluster(nodes: 3, seed: 8) { $0.traceLinesMax = 200_000 }
        let leader = try #require(cluster.checkOneLeader())
        _ = try #require(cluster.one("before", expectedNodes: 3))
        let failed = leaderDisk ? leader : cluster.simulator.nodeIDs.first { $0 != leader }!
        let position = cluster.simulator.index(of: failed)
        cluster.simulator.nodes[position].storage.readFailure = .io("sector 7 unreadable")
        _ = try #require(cluster.one("during", expectedNodes: 2), "\(cluster.replay)")
        #expect(cluster.simulator.isCrashed(failed), "node \(failed) went on over a failed disk")
        #expect(cluster.simulator.trace.lines.contains { $0.contains("node \(failed) stopped") && $0.contains("sector 7") })
        cluster.simulator.nodes[position].storage.readFailure = nil
        cluster.inject(.restart(failed))
        _ = try #require(cluster.one("after", expectedNodes: 3), "\(cluster.replay)")
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }
}
