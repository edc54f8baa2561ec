import ConclaveCore
import ConclaveWire
import Foundation
import Logging
import Testing
@testable import ConclaveServer

/// A member added at an address no node was started with: real daemons on 127.0.0.1, the new one
/// started with `--join`, the address travelling in the log. Every wait polls with a deadline.
@Suite(.serialized) struct JoinDaemonTests {
    struct Started {
        let daemon: NodeDaemon
        var port: Int { daemon.boundPorts.client ?? 0 }
    }

    static func start(_ id: Int, directory: String, peers: String, peerPort: Int, clientPort: Int, join: Bool) throws -> Started {
        var settings = NodeConfiguration.Settings()
        settings.id = "\(id)"
        settings.data = directory
        settings.peerListen = "127.0.0.1:\(peerPort)"
        settings.clientListen = "127.0.0.1:\(clientPort)"
        settings.peers = peers
        settings.token = "j0in"
        settings.join = join ? "true" : nil
        var timing = NodeDaemon.Settings()
        timing.electionTimeoutTicks = 10
        timing.heartbeatTicks = 2
        var logger = Logger(label: "test.join")
        logger.logLevel = .critical
        return Started(daemon: try NodeDaemon.start(try NodeConfiguration(validating: settings), settings: timing, logger: logger))
    }

    static func client(_ node: Started) throws -> TestSocket {
        let client = try TestSocket(port: node.port)
        client.send("AUTH j0in\r\n")
        _ = client.replies(1)
        return client
    }

    static func ask(_ client: TestSocket, _ line: String, seconds: Double = 10) -> RESPValue? {
        client.send(line + "\r\n")
        return client.replies(1, seconds: seconds).values.first
    }

    static func field(_ client: TestSocket, _ name: String) -> String? {
        guard case .bulkString(let text)? = ask(client, "INFO replication") else { return nil }
        return String(decoding: text, as: UTF8.self).split(separator: "\r\n")
            .first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
    }

    static func poll(_ seconds: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return false
    }

    static func stop(_ node: Started) {
        node.daemon.shutdown(drain: false)
        _ = node.daemon.wait()
    }

    @Test("ADMIN.ADD-MEMBER at a new address: the address is logged, the joiner catches up and votes; a restarted member learns it from its log")
    func joinAtANewAddress() throws {
        let base = NSTemporaryDirectory() + "conclave-join-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let peerPorts = [NodeDaemonTests.freePort(), NodeDaemonTests.freePort()]
        let clientPorts = [NodeDaemonTests.freePort(), NodeDaemonTests.freePort()]
        let one = "1=127.0.0.1:\(peerPorts[0])"
        var first = try Self.start(1, directory: base + "/1", peers: one, peerPort: peerPorts[0], clientPort: clientPorts[0], join: false)
        let second = try Self.start(2, directory: base + "/2", peers: one + ",2=127.0.0.1:\(peerPorts[1])", peerPort: peerPorts[1],
                                    clientPort: clientPorts[1], join: true)
        defer { Self.stop(second) }
        var leader = try Self.client(first)
        #expect(Self.poll { Self.field(leader, "leader_id") == "1" })
        #expect(Self.ask(leader, "SET before-join 1") == .simpleString("OK"))
        let joiner = try Self.client(second)
        #expect(Self.field(joiner, "voters") == "", "a joiner is a member of nothing until added")

        #expect(Self.ask(leader, "ADMIN.ADD-MEMBER 2") == .error(
            "ERR node 2 has no known peer address; give it: ADMIN.ADD-MEMBER 2 host:port (then start it with --join)"))
        #expect(Self.ask(leader, "ADMIN.ADD-MEMBER 2 127.0.0.1:\(peerPorts[0])") == .error("ERR 127.0.0.1:\(peerPorts[0]) is node 1's peer address"))
        #expect(Self.ask(leader, "ADMIN.ADD-MEMBER 2 127.0.0.1:\(peerPorts[1])", seconds: 30) == .simpleString("OK node 2 is a voter (voters 1, 2)"))
        #expect(Self.ask(leader, "CFG.GET conclave/members/2/peer-address") == .array([.integer(1), .bulk("127.0.0.1:\(peerPorts[1])")]))
        #expect(Self.ask(leader, "CFG.SET conclave/members/2/peer-address 127.0.0.1:1") == .error(
            "ERR config keys under 'conclave/members/' are the cluster's member addresses; ADMIN.ADD-MEMBER id host:port writes them"))
        #expect(Self.poll { Self.ask(joiner, "GET before-join") == .bulk("1") }, "the joiner caught up")

        // Node 1 restarts with only itself in --peers: its log tells it where node 2 is, and the
        // two voters elect a leader and commit again.
        Self.stop(first)
        first = try Self.start(1, directory: base + "/1", peers: one, peerPort: peerPorts[0], clientPort: clientPorts[0], join: false)
        defer { Self.stop(first) }
        leader = try Self.client(first)
        #expect(Self.poll(30) { ["1", "2"].contains(Self.field(leader, "leader_id") ?? "") && Self.field(joiner, "leader_id") == Self.field(leader, "leader_id") })
        #expect(Self.field(leader, "voters") == "1,2")
        #expect(Self.poll { Self.ask(leader, "SET after-restart 2") == .simpleString("OK") })
        #expect(Self.poll { Self.ask(joiner, "GET after-restart") == .bulk("2") })
    }
}
