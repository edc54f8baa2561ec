import ConclaveCoordination
import ConclaveCore
import Testing
@testable import ConclaveCluster

@Suite struct ConfigClientTests {
    @Test("while the cluster is unreachable the client serves the last known value, marked stale")
    func staleWhileUnreachable() throws {
        let cluster = TestCluster(nodes: 3, seed: 14)
        _ = try #require(cluster.checkOneLeader())
        #expect(FencingTests.ask(cluster, 5, 1, .configSet(key: "feature/x", value: "on")) == .configRevision(1))
        var client = ConfigClient(client: 77)
        let firstRead = client.get("feature/x", on: cluster.simulator)
        let fresh = try #require(firstRead)
        #expect(fresh.value == "on" && fresh.revision == 1 && !fresh.stale && fresh.ageNanos == 0)
        for node in cluster.simulator.nodeIDs { cluster.inject(.crash(node)) }
        cluster.simulator.run(for: TestCluster.second)
        let secondRead = client.get("feature/x", on: cluster.simulator)
        let stale = try #require(secondRead)
        #expect(stale.value == "on" && stale.revision == 1 && stale.stale && stale.ageNanos > 0)
        let neverRead = client.get("never/read", on: cluster.simulator)
        #expect(neverRead == nil)
        for node in cluster.simulator.nodeIDs { cluster.inject(.restart(node)) }
        _ = try #require(cluster.checkOneLeader())
        let afterRestart = client.get("feature/x", on: cluster.simulator)
        #expect(afterRestart?.stale == false)
    }
}
