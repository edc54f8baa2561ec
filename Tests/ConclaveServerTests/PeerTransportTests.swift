import ConclaveCore
import ConclaveRaft
@testable import ConclaveServer
import ConclaveWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

/// Real sockets on 127.0.0.1: two or three transports exchange Raft messages. Every wait polls with
/// a deadline; every transport and event loop a test starts, it stops.
@Suite(.serialized) struct PeerTransportTests {
    /// Collects what a transport delivers, read from any thread.
    final class Inbox: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [Message] = []
        func add(_ batch: [Message]) { lock.withLock { messages += batch } }
        var all: [Message] { lock.withLock { messages } }
    }

    struct Node {
        let transport: PeerTransport
        let inbox: Inbox
        let group: MultiThreadedEventLoopGroup
    }

    /// Picks free ports by binding to port 0 and closing; a transport then binds them.
    static func freePorts(_ count: Int) throws -> [Int] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        var channels: [Channel] = []
        for _ in 0..<count { channels.append(try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()) }
        let ports = channels.compactMap { $0.localAddress?.port }
        for channel in channels { try channel.close().wait() }
        return ports
    }

    static func start(_ id: NodeID, ports: [Int], token: String = "t", clusterID: UInt64 = 9) throws -> Node {
        var peers: [NodeID: PeerAddress] = [:]
        for (index, port) in ports.enumerated() { peers[NodeID(index + 1)] = PeerAddress(host: "127.0.0.1", port: port) }
        let configuration = PeerTransportConfiguration(node: id, clusterID: clusterID, token: token,
                                                       listen: peers[id]!, peers: peers)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let inbox = Inbox()
        var logger = Logger(label: "test.node\(id)")
        logger.logLevel = .critical
        let transport = PeerTransport(configuration: configuration, eventLoop: group.next(), logger: logger) { inbox.add($0) }
        try transport.start().wait()
        return Node(transport: transport, inbox: inbox, group: group)
    }

    static func stop(_ nodes: [Node]) {
        for node in nodes {
            try? node.transport.stop().wait()
            try? node.group.syncShutdownGracefully()
        }
    }

    static func poll(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    static func send(_ messages: [Message], from node: Node) throws {
        try node.transport.eventLoop.submit { node.transport.send(messages) }.wait()
    }

    @Test("three nodes exchange messages in order, batched per flush")
    func exchange() throws {
        let ports = try Self.freePorts(3)
        let nodes = try (1...3).map { try Self.start(NodeID($0), ports: ports) }
        defer { Self.stop(nodes) }
        let batch = (1...100).map { Message(kind: .append, from: 1, to: 2, term: 1, index: UInt64($0)) }
        #expect(Self.poll { (try? Self.node1Connected(nodes[0], to: 2)) == true })
        try Self.send(batch + [Message(kind: .heartbeat, from: 1, to: 3, term: 1)], from: nodes[0])
        #expect(Self.poll { nodes[1].inbox.all.count == 100 && nodes[2].inbox.all.count == 1 })
        #expect(nodes[1].inbox.all.map(\.index) == (1...100).map(UInt64.init))
        let frames = try nodes[0].transport.eventLoop.submit { nodes[0].transport.statistics[2]!.framesSent }.wait()
        #expect(frames == 1)
    }

    static func node1Connected(_ node: Node, to peer: NodeID) throws -> Bool {
        try node.transport.eventLoop.submit { node.transport.statistics[peer]?.connected == true }.wait()
    }

    @Test("a peer with the wrong token is refused and delivers nothing; a peer of another cluster too")
    func refusals() throws {
        let ports = try Self.freePorts(3)
        let good = try Self.start(1, ports: ports)
        let badToken = try Self.start(2, ports: ports, token: "wrong")
        let otherCluster = try Self.start(3, ports: ports, clusterID: 10)
        defer { Self.stop([good, badToken, otherCluster]) }
        for _ in 0..<20 {
            try Self.send([Message(kind: .heartbeat, from: 2, to: 1, term: 1)], from: badToken)
            try Self.send([Message(kind: .heartbeat, from: 3, to: 1, term: 1)], from: otherCluster)
            usleep(20_000)
        }
        #expect(good.inbox.all.isEmpty)
    }

    @Test("a peer that goes away is redialled; messages flow again when it is back")
    func reconnect() throws {
        let ports = try Self.freePorts(2)
        let first = try Self.start(1, ports: ports)
        var second = try Self.start(2, ports: ports)
        defer { Self.stop([first, second]) }
        #expect(Self.poll { (try? Self.node1Connected(first, to: 2)) == true })
        Self.stop([second])
        #expect(Self.poll { (try? Self.node1Connected(first, to: 2)) == false })
        second = try Self.start(2, ports: ports)
        #expect(Self.poll {
            try? Self.send([Message(kind: .heartbeat, from: 1, to: 2, term: 1)], from: first)
            return !second.inbox.all.isEmpty
        })
    }

    @Test("the send queue per peer is bounded: past it messages are dropped and counted")
    func boundedQueue() throws {
        let ports = try Self.freePorts(2)
        let lonely = try Self.start(1, ports: ports)  // node 2 never starts
        defer { Self.stop([lonely]) }
        let many = (0..<5_000).map { Message(kind: .heartbeat, from: 1, to: 2, term: 1, index: UInt64($0)) }
        try Self.send(many, from: lonely)
        let dropped = try lonely.transport.eventLoop.submit { lonely.transport.statistics[2]!.messagesDropped }.wait()
        #expect(dropped == UInt64(5_000 - lonely.transport.configuration.sendQueueMessagesMax))
    }

    @Test("addresses parse or say what is wrong")
    func addresses() throws {
        #expect(try PeerAddress(parsing: "127.0.0.1:7101") == PeerAddress(host: "127.0.0.1", port: 7101))
        #expect(throws: ServerInputError.self) { try PeerAddress(parsing: "7101") }
        #expect(throws: ServerInputError.self) { try PeerAddress(parsing: "localhost:99999") }
    }
}
