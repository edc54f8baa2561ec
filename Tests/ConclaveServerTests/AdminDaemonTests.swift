import ConclaveCore
import ConclaveRaft
import ConclaveWire
import Foundation
import Testing
@testable import ConclaveServer

/// ADMIN.* on real sockets: the transport applying a partition and a delay between two nodes, and
/// a one-node daemon answering (or refusing) the commands. Every wait polls with a deadline.
@Suite(.serialized) struct AdminDaemonTests {
    @Test("a partitioned link delivers nothing either way; a delayed one delivers later; heal restores it")
    func transportRules() throws {
        typealias Peers = PeerTransportTests
        let ports = try Peers.freePorts(2)
        let nodes = try (1...2).map { try Peers.start(NodeID($0), ports: ports) }
        defer { Peers.stop(nodes) }
        #expect(Peers.poll { (try? Peers.node1Connected(nodes[0], to: 2)) == true })
        #expect(Peers.poll { (try? Peers.node1Connected(nodes[1], to: 1)) == true })
        try nodes[0].transport.eventLoop.submit { nodes[0].transport.faults.partition([2]) }.wait()
        try Peers.send([Message(kind: .heartbeat, from: 1, to: 2, term: 1)], from: nodes[0])
        try Peers.send([Message(kind: .heartbeat, from: 2, to: 1, term: 1)], from: nodes[1])
        try Peers.send([Message(kind: .heartbeat, from: 2, to: 1, term: 2)], from: nodes[1])
        // Node 1 counts each drop (one outgoing, two incoming) as it makes it: once all three
        // are counted, nothing can arrive any more.
        #expect(Peers.poll { (try? nodes[0].transport.eventLoop.submit { nodes[0].transport.statistics[2]!.faultDrops }.wait()) == 3 })
        #expect(nodes[1].inbox.all.isEmpty)
        #expect(nodes[0].inbox.all.isEmpty)

        try nodes[0].transport.eventLoop.submit {
            nodes[0].transport.faults.heal([2])
            nodes[0].transport.faults.delay(millis: 300, [2])
        }.wait()
        let sent = Date()
        try Peers.send([Message(kind: .heartbeat, from: 1, to: 2, term: 3)], from: nodes[0])
        #expect(Peers.poll { nodes[1].inbox.all.count == 1 })
        #expect(Date().timeIntervalSince(sent) >= 0.3)
        try Peers.send([Message(kind: .heartbeat, from: 2, to: 1, term: 4)], from: nodes[1])
        #expect(Peers.poll { nodes[0].inbox.all.map(\.term) == [4] }, "delay is egress only: node 1 receives at once")
    }

    private func ask(_ client: TestSocket, _ line: String) -> RESPValue? {
        client.send(line + "\r\n")
        return client.replies(1).values.first
    }

    @Test("without a cluster token every ADMIN command is refused and says how to get one")
    func noToken() throws {
        let node = try NodeDaemonTests.start()
        defer { NodeDaemonTests.stop(node) }
        let client = try TestSocket(port: node.port)
        #expect(ask(client, "ADMIN.FAULTS") == .error("ERR ADMIN commands need the cluster token: start the node with --token-file"))
    }

    @Test("with a token: NOAUTH before AUTH; after it SKEW shows in INFO, SNAPSHOT answers its index, PAUSE holds commands")
    func withToken() throws {
        let node = try NodeDaemonTests.start(token: "adm1n")
        defer { NodeDaemonTests.stop(node) }
        let client = try TestSocket(port: node.port)
        #expect(ask(client, "ADMIN.FAULTS") == .error("NOAUTH Authentication required."))
        #expect(ask(client, "AUTH adm1n") == .simpleString("OK"))
        #expect(ask(client, "ADMIN.FAULTS") == .array([]))
        #expect(ask(client, "ADMIN.PARTITION 2") == .error("ERR node 2 is not a peer of node 1 (its peers: none)"))
        #expect(ask(client, "ADMIN.PARTITION 1") == .error("ERR node 1 is this node; name its peers: none"))
        #expect(ask(client, "ADMIN.SKEW -5000") == .simpleString("OK node 1's wall clock skew is now -5000 ms (was 0 ms)"))
        guard case .bulkString(let info) = ask(client, "INFO server") else { Issue.record("INFO"); return }
        #expect(String(decoding: info, as: UTF8.self).contains("clock_skew_ms:-5000"))
        #expect(ask(client, "ADMIN.FAULTS") == .array([.bulk("skew -5000 ms")]))

        #expect(ask(client, "SET k v") == .simpleString("OK"))
        guard case .integer(let index) = ask(client, "ADMIN.SNAPSHOT") else { Issue.record("SNAPSHOT"); return }
        #expect(index > 0)
        guard case .bulkString(let persistence) = ask(client, "INFO persistence") else { Issue.record("INFO"); return }
        #expect(String(decoding: persistence, as: UTF8.self).contains("snapshot_index:\(index)"))
        #expect(ask(client, "ADMIN.TRANSFER-LEADER 2") == .error("ERR node 1: leadership transfer refused: node 2 is not a member"))

        #expect(ask(client, "ADMIN.PAUSE 5") == .simpleString(
            "OK node 1 paused for 5 s: no ticks, no peer messages, client commands held until it resumes"))
        client.send("GET k\r\n")
        #expect(client.replies(1, seconds: 0.3).values.isEmpty, "a paused node holds the command")
        let admin = try TestSocket(port: node.port)
        #expect(ask(admin, "AUTH adm1n") == .simpleString("OK"))
        guard case .error(let refusal) = ask(admin, "ADMIN.SNAPSHOT") else { Issue.record("SNAPSHOT while paused"); return }
        #expect(refusal.hasPrefix("ERR node 1 is paused for "))
        guard case .simpleString(let resumed) = ask(admin, "ADMIN.PAUSE 0") else { Issue.record("PAUSE 0"); return }
        #expect(resumed.hasPrefix("OK node 1 resumed after ") && resumed.hasSuffix("1 held commands run now"))
        #expect(client.replies(1).values == [.bulk("v")])
    }
}
