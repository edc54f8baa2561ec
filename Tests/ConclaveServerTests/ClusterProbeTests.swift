import ConclaveWire
import Testing
@testable import ConclaveServer

/// `conclave status`'s reading of CLUSTER.STATUS replies, and its verdict on the cluster.
struct ClusterProbeTests {
    private func node(_ port: Int, _ fields: [String: ClusterProbe.StatusField]?) -> ClusterProbe.NodeReport {
        ClusterProbe.NodeReport(address: PeerAddress(host: "127.0.0.1", port: port), fields: fields,
                                problem: fields == nil ? "connect: refused" : nil)
    }

    @Test("a RESP2 map (a flat array) and a RESP3 map read alike; members count; anything else is not a status")
    func readsBothMapForms() {
        let flat = RESPValue.array([.bulk("node"), .integer(2), .bulk("role"), .bulk("leader"), .bulk("members"), .array([.null, .null])])
        #expect(ClusterProbe.fields(of: flat) == ["node": .integer(2), "role": .text("leader"), "members": .integer(2)])
        let map = RESPValue.map([(.bulk("node"), .integer(2)), (.bulk("role"), .simpleString("leader"))])
        #expect(ClusterProbe.fields(of: map) == ["node": .integer(2), "role": .text("leader")])
        #expect(ClusterProbe.fields(of: .array([.bulk("odd")])) == nil)
        #expect(ClusterProbe.fields(of: .error("ERR nope")) == nil)
    }

    @Test("the leader is the one named at the highest term; healthy only with a leader and every node answering")
    func verdict() {
        let old = node(1, ["term": .integer(3), "leader": .integer(1)])
        let new = node(2, ["term": .integer(4), "leader": .integer(2)])
        let deposed = node(3, ["term": .integer(3), "leader": .integer(3)])
        let summary = ClusterProbe.summary(of: [old, deposed, new])
        #expect(summary.leader == 2 && summary.term == 4, "a node still at term 3 does not name the leader")
        #expect(summary.healthy)
        #expect(!ClusterProbe.summary(of: [old, new, node(4, nil)]).healthy)
        let leaderless = ClusterProbe.summary(of: [node(1, ["term": .integer(5), "leader": .integer(0)]), old])
        #expect(leaderless.leader == 0 && leaderless.term == 5 && !leaderless.healthy)
        let unreachable = ClusterProbe.look(at: [PeerAddress(host: "127.0.0.1", port: 1)], token: nil, timeoutMillis: 200)
        #expect(unreachable.leader == 0 && unreachable.unreachable.count == 1 && !unreachable.healthy)
        #expect(unreachable.nodes[0].problem?.contains("127.0.0.1:1") == true)
    }
}
