import ConclaveCore
import ConclaveRaft
import ConclaveWire
import Logging
import NIOCore
import NIOPosix

/// How a node reaches its peers.
public struct PeerTransportConfiguration: Sendable {
    public var node: NodeID
    public var clusterID: UInt64
    /// Shared by the cluster's members; a peer that presents another one is refused and logged.
    public var token: String
    public var listen: PeerAddress
    /// Every other member's peer address.
    public var peers: [NodeID: PeerAddress]
    /// Messages queued per peer while its connection is down or busy; past this they are dropped
    /// (and counted): Raft retransmits, an unbounded queue would only grow during an outage.
    public var sendQueueMessagesMax = 4_096
    /// Reconnect backoff: doubles from the minimum to the maximum, each wait jittered by ±25%.
    public var reconnectMillisMin: Int64 = 50
    public var reconnectMillisMax: Int64 = 2_000
    /// Messages held back by a delay rule (`PeerFaults`) at once, all peers together; past this
    /// they are dropped (and counted).
    public var delayedMessagesMax = 16_384

    public init(node: NodeID, clusterID: UInt64, token: String, listen: PeerAddress, peers: [NodeID: PeerAddress]) {
        self.node = node
        self.clusterID = clusterID
        self.token = token
        self.listen = listen
        self.peers = peers
    }
}

/// What the transport has done, per peer (for INFO and the console's link view).
public struct PeerLinkStatistics: Equatable, Sendable {
    public var connected = false
    public var messagesSent: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    public var messagesDropped: UInt64 = 0
    public var framesSent: UInt64 = 0
    public var reconnects: UInt64 = 0
    /// Messages an operator's fault rule dropped (either way) or delayed (outgoing).
    public var faultDrops: UInt64 = 0
    public var faultDelays: UInt64 = 0
}

/// Raft messages between node processes over TCP (SwiftNIO), one connection per direction as etcd's
/// rafthttp streams: each node dials every peer to send, and accepts peers' connections to receive.
///
/// A connection opens with `hello` frames carrying node ID and the cluster token; a peer of another
/// cluster, with a wrong token, or not a member is refused, told why, and logged. Messages queued for
/// a peer within one event-loop turn go out in one frame (batching per flush); each peer's queue is
/// bounded; a lost connection is redialled with jittered exponential backoff.
///
/// Threading: every piece of mutable state is touched only on `eventLoop`, the node's loop (the
/// core runs there too), so there are no locks. `send` and `deliver` run on it.
public final class PeerTransport: @unchecked Sendable {
    /// Its peers grow as members are added at new addresses (`setPeer`).
    public private(set) var configuration: PeerTransportConfiguration
    public let eventLoop: EventLoop
    let logger: Logger
    /// Called on `eventLoop` with each batch of messages from an authenticated peer.
    let deliver: ([Message]) -> Void
    private var outbound: [NodeID: OutboundPeer] = [:]
    private var serverChannel: Channel?
    private var inboundChannels: [ObjectIdentifier: Channel] = [:]
    private var stopping = false
    public private(set) var statistics: [NodeID: PeerLinkStatistics] = [:]
    /// The operator's fault rules (ADMIN.*), applied to every message either way.
    public var faults = PeerFaults()
    private var delayedMessages = 0

    /// The port actually bound (useful with port 0 in tests).
    public var boundPort: Int? { serverChannel?.localAddress?.port }

    public init(configuration: PeerTransportConfiguration, eventLoop: EventLoop, logger: Logger,
                deliver: @escaping ([Message]) -> Void) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.deliver = deliver
        for peer in configuration.peers.keys where peer != configuration.node {
            outbound[peer] = OutboundPeer()
            statistics[peer] = PeerLinkStatistics()
        }
    }

    /// Binds the peer listener. Fails (with the OS's reason, e.g. the port is in use) if it cannot.
    public func start() -> EventLoopFuture<Void> {
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(clusterID: configuration.clusterID)),
                        PeerInboundHandler(transport: self),
                    ])
                }
            }
        return bootstrap.bind(host: configuration.listen.host, port: configuration.listen.port).map { [self] channel in
            serverChannel = channel
            logger.info("peer listener up", metadata: ["address": "\(configuration.listen.host):\(channel.localAddress?.port ?? 0)"])
            for peer in outbound.keys.sorted() { dial(peer) }
        }
    }

    /// Learns (or changes) a member's peer address — a member added at a new address, as the log
    /// recorded it. A new peer is dialled at once and admitted when it dials us; a moved one is
    /// redialled at its new address.
    public func setPeer(_ peer: NodeID, _ address: PeerAddress) {
        eventLoop.preconditionInEventLoop()
        guard peer != configuration.node, configuration.peers[peer] != address else { return }
        let moved = configuration.peers[peer] != nil
        configuration.peers[peer] = address
        logger.notice(moved ? "peer moved" : "peer added", metadata: ["peer": "\(peer)", "address": "\(address)"])
        if outbound[peer] == nil {
            outbound[peer] = OutboundPeer()
            statistics[peer] = PeerLinkStatistics()
        }
        if let channel = outbound[peer]?.channel {
            channel.close(promise: nil)  // outboundClosed redials, now at the new address
        } else if serverChannel != nil {
            dial(peer)
        }
    }

    /// Queues messages for their peers; everything queued in this loop turn leaves in one frame per
    /// peer. Messages to unknown nodes are dropped. The fault rules (`faults`) drop or delay
    /// some first.
    public func send(_ messages: [Message]) {
        eventLoop.preconditionInEventLoop()
        for message in messages where outbound[message.to] != nil {
            switch faults.decide(.outgoing, peer: message.to) {
            case .deliver:
                enqueue(message)
            case .drop:
                statistics[message.to, default: PeerLinkStatistics()].faultDrops += 1
            case .delay(let millis):
                guard delayedMessages < configuration.delayedMessagesMax else {
                    statistics[message.to, default: PeerLinkStatistics()].faultDrops += 1
                    continue
                }
                delayedMessages += 1
                statistics[message.to, default: PeerLinkStatistics()].faultDelays += 1
                eventLoop.scheduleTask(in: .milliseconds(Int64(millis))) { [self] in
                    delayedMessages -= 1
                    if !stopping { enqueue(message) }
                }
            }
        }
    }

    private func enqueue(_ message: Message) {
        guard var peer = outbound[message.to] else { return }
        if peer.queue.count >= configuration.sendQueueMessagesMax {
            statistics[message.to, default: PeerLinkStatistics()].messagesDropped += 1
            return
        }
        peer.queue.append(message)
        let scheduleFlush = !peer.flushScheduled && peer.channel != nil
        if scheduleFlush { peer.flushScheduled = true }
        outbound[message.to] = peer
        if scheduleFlush {
            let target = message.to
            eventLoop.execute { [self] in flush(target) }
        }
    }

    /// Writes every peer's queued messages now rather than at the flush already scheduled (which
    /// then finds nothing): the daemon does this before it blocks in a WAL sync.
    public func flushQueued() {
        eventLoop.preconditionInEventLoop()
        for (peer, state) in outbound where state.flushScheduled { flush(peer) }
    }

    private func flush(_ peer: NodeID) {
        guard var state = outbound[peer] else { return }
        state.flushScheduled = false
        guard let channel = state.channel, !state.queue.isEmpty else {
            outbound[peer] = state
            return
        }
        let batch = state.queue
        state.queue.removeAll(keepingCapacity: true)
        outbound[peer] = state
        let bytes = PeerFrame.messages(batch).encoded(clusterID: configuration.clusterID)
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        statistics[peer, default: PeerLinkStatistics()].messagesSent += UInt64(batch.count)
        statistics[peer, default: PeerLinkStatistics()].framesSent += 1
    }

    private func dial(_ peer: NodeID) {
        guard !stopping, let address = configuration.peers[peer], var state = outbound[peer], !state.connecting, state.channel == nil else { return }
        state.connecting = true
        outbound[peer] = state
        let hello = PeerFrame.hello(node: configuration.node, token: configuration.token).encoded(clusterID: configuration.clusterID)
        ClientBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(1_000))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(clusterID: configuration.clusterID)),
                        PeerOutboundHandler(transport: self, peer: peer),
                    ])
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                outbound[peer]?.connecting = false
                switch result {
                case .success(let channel):
                    if stopping {
                        channel.close(promise: nil)
                        return
                    }
                    channel.writeAndFlush(channel.allocator.buffer(bytes: hello), promise: nil)
                    outbound[peer]?.channel = channel
                    outbound[peer]?.backoffMillis = 0
                    statistics[peer, default: PeerLinkStatistics()].connected = true
                    logger.info("peer up", metadata: ["peer": "\(peer)", "address": "\(address)"])
                    flush(peer)
                case .failure(let error):
                    if outbound[peer]?.backoffMillis == 0 {
                        logger.warning("peer unreachable, retrying", metadata: ["peer": "\(peer)", "address": "\(address)", "error": "\(error)"])
                    }
                    scheduleRedial(peer)
                }
            }
    }

    /// An outbound connection closed (peer died, refused us, network): redial after a backoff.
    func outboundClosed(_ peer: NodeID, reason: String?) {
        guard outbound[peer]?.channel != nil else { return }
        outbound[peer]?.channel = nil
        statistics[peer, default: PeerLinkStatistics()].connected = false
        if let reason { logger.error("peer refused us", metadata: ["peer": "\(peer)", "reason": "\(reason)"]) }
        logger.info("peer down", metadata: ["peer": "\(peer)"])
        scheduleRedial(peer)
    }

    private func scheduleRedial(_ peer: NodeID) {
        guard !stopping, var state = outbound[peer] else { return }
        let base = state.backoffMillis == 0 ? configuration.reconnectMillisMin : min(configuration.reconnectMillisMax, state.backoffMillis * 2)
        state.backoffMillis = base
        outbound[peer] = state
        statistics[peer, default: PeerLinkStatistics()].reconnects += 1
        let jittered = base * 3 / 4 + Int64.random(in: 0...max(1, base / 2))
        eventLoop.scheduleTask(in: .milliseconds(jittered)) { [self] in dial(peer) }
    }

    /// An inbound connection's hello: accepted when the token matches and the node is a member.
    /// Returns the refusal reason, if refused.
    func admit(hello node: NodeID, token: String, channel: Channel) -> String? {
        if token != configuration.token {
            logger.error("refused a peer with a wrong cluster token", metadata: ["claimed node": "\(node)", "remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            return "wrong cluster token"
        }
        guard node != configuration.node, configuration.peers[node] != nil else {
            logger.error("refused a peer that is not a member", metadata: ["claimed node": "\(node)"])
            return "node \(node) is not a member of this cluster"
        }
        inboundChannels[ObjectIdentifier(channel)] = channel
        return nil
    }

    func inboundClosed(_ channel: Channel) { inboundChannels[ObjectIdentifier(channel)] = nil }

    /// Messages from an admitted peer: only those addressed to us and sent by it pass, then
    /// those the fault rules let through.
    func received(_ messages: [Message], from node: NodeID) {
        var mine = messages.filter { $0.to == configuration.node && $0.from == node }
        statistics[node, default: PeerLinkStatistics()].messagesReceived += UInt64(mine.count)
        let before = mine.count
        mine.removeAll { _ in faults.decide(.incoming, peer: node) == .drop }
        statistics[node, default: PeerLinkStatistics()].faultDrops += UInt64(before - mine.count)
        if !mine.isEmpty { deliver(mine) }
    }

    /// Closes the listener and every connection; no redials after this.
    public func stop() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { [self] in
            stopping = true
            var closing: [EventLoopFuture<Void>] = []
            if let serverChannel { closing.append(serverChannel.close()) }
            for peer in outbound.keys.sorted() {
                if let channel = outbound[peer]?.channel { closing.append(channel.close()) }
                outbound[peer]?.channel = nil
            }
            for channel in inboundChannels.values { closing.append(channel.close()) }
            inboundChannels.removeAll()
            return EventLoopFuture.andAllComplete(closing, on: eventLoop)
        }
    }
}

/// One peer's sending side.
struct OutboundPeer {
    var channel: Channel?
    var connecting = false
    var queue: [Message] = []
    var flushScheduled = false
    var backoffMillis: Int64 = 0
}

/// Frames from bytes: waits for a whole frame (its length is read first), then decodes and
/// validates it; a malformed or foreign frame closes the connection.
struct PeerFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = PeerFrame
    let clusterID: UInt64

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= PeerFrame.frameBytesMax else {
            throw PeerCodecError.malformed("frame length \(length) over \(PeerFrame.frameBytesMax)")
        }
        guard buffer.readableBytes >= 4 + Int(length), let bytes = buffer.readBytes(length: 4 + Int(length)) else { return .needMoreData }
        guard let (frame, _) = try PeerFrame.decode(bytes, clusterID: clusterID) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

/// The accepting side of a peer connection: hello first, then message batches.
final class PeerInboundHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    let transport: PeerTransport
    var peer: NodeID?

    init(transport: PeerTransport) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch (peer, frame) {
        case (nil, .hello(let node, let token)):
            if let refusal = transport.admit(hello: node, token: token, channel: context.channel) {
                let bytes = PeerFrame.refused(reason: refusal).encoded(clusterID: transport.configuration.clusterID)
                let channel = context.channel
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            peer = node
        case (let node?, .messages(let messages)):
            transport.received(messages, from: node)
        default:
            transport.logger.warning("peer spoke out of turn; closing", metadata: ["frame": "\(String(describing: frame).prefix(80))"])
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport.inboundClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        transport.logger.warning("peer connection error; closing", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

/// The dialling side: it only listens for a refusal (then the connection closes and is redialled).
final class PeerOutboundHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    let transport: PeerTransport
    let peer: NodeID
    var refusal: String?

    init(transport: PeerTransport, peer: NodeID) {
        self.transport = transport
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .refused(let reason) = unwrapInboundIn(data) {
            refusal = reason
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport.outboundClosed(peer, reason: refusal)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
