import ConclaveWire
import Logging
import NIOCore
import NIOPosix

/// What the client port asks of the node behind it: run one command and answer it, exactly once,
/// on the port's event loop (the node's). The port itself handles the connection-level commands
/// (HELLO, PING, ECHO, QUIT, SELECT, CLIENT, AUTH); everything else comes here.
public protocol ClientCommandExecutor: AnyObject {
    func execute(_ arguments: [[UInt8]], on connection: ClientConnection, reply: @escaping (RESPValue) -> Void)
    /// The connection closed (its commands still waiting are answered to nobody).
    func connectionClosed(_ connection: ClientConnection)
}

extension ClientCommandExecutor {
    public func connectionClosed(_ connection: ClientConnection) {}
}

/// Limits of the client port, each stated and tested.
public struct ClientPortConfiguration: Sendable {
    public var listen: PeerAddress
    /// AUTH password (`requirepass`); nil: none needed (a node only listens on loopback without one).
    public var password: String?
    public var limits = RESPLimits()
    /// Commands read but not yet answered, per connection; past it the connection stops reading
    /// until answers drain (back-pressure instead of an unbounded queue).
    public var pipelineDepthMax = 1_024
    /// Reply bytes written but not yet sent, per connection; past it the client is disconnected
    /// (Redis's client-output-buffer-limit), not buffered without bound.
    public var outputBytesMax = 32 << 20
    public var connectionsMax = 10_000

    public init(listen: PeerAddress, password: String? = nil) {
        self.listen = listen
        self.password = password
    }
}

/// One client connection's state, as commands see it (CLIENT ID/SETNAME/INFO, HELLO's protocol).
public final class ClientConnection {
    public let id: UInt64
    public var name = ""
    public var version: RESPVersion = .resp2
    public var authenticated: Bool
    public let remote: String
    public internal(set) var commandsProcessed: UInt64 = 0
    /// The sequence number of this connection's last command that went to the node (the state
    /// machine's per-client numbering; each connection is one client).
    public var sequence: UInt64 = 0
    /// The session this connection acts for after SESSION.ATTACH (nil: its own client's).
    public var session: UInt64?
    /// Notices owed to a RESP2 connection (a lost lock): each is the error answer to its next
    /// command, which is not run. (A RESP3 connection gets them as pushes at once.)
    public var notices: [String] = []
    /// Sends a message out of turn (a RESP3 push, or a watch event): set by the port while the
    /// connection is open.
    public internal(set) var push: ((RESPValue) -> Void)?

    init(id: UInt64, authenticated: Bool, remote: String) {
        self.id = id
        self.authenticated = authenticated
        self.remote = remote
    }
}

/// The RESP client port (SwiftNIO): parses commands with `RESPParser` (Redis's limits), answers them
/// in order even when the node answers out of order (pipelining), applies back-pressure when a
/// client pipelines faster than the node answers, and disconnects a client whose unsent replies pass
/// `outputBytesMax`. A protocol error is answered `-ERR Protocol error: …` and the connection closed,
/// as Redis does. All state lives on `eventLoop`.
public final class ClientPort: @unchecked Sendable {
    public let configuration: ClientPortConfiguration
    public let eventLoop: EventLoop
    let logger: Logger
    let executor: ClientCommandExecutor
    private var serverChannel: Channel?
    private var nextConnectionID: UInt64 = 0
    var connections: [UInt64: Channel] = [:]
    private var clients: [UInt64: ClientConnection] = [:]
    public private(set) var statistics = Statistics()

    public struct Statistics: Equatable, Sendable {
        public var connectionsAccepted: UInt64 = 0
        public var connectionsRefused: UInt64 = 0
        public var commandsProcessed: UInt64 = 0
        public var protocolErrors: UInt64 = 0
        public var outputLimitDisconnects: UInt64 = 0
    }

    public var boundPort: Int? { serverChannel?.localAddress?.port }
    public var connectedClients: Int { connections.count }
    /// The open connections (on the event loop).
    public var connectionsNow: Dictionary<UInt64, ClientConnection>.Values { clients.values }

    public init(configuration: ClientPortConfiguration, eventLoop: EventLoop, logger: Logger, executor: ClientCommandExecutor) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.executor = executor
    }

    public func start() -> EventLoopFuture<Void> {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(accept(channel))
                }
            }
            .bind(host: configuration.listen.host, port: configuration.listen.port)
            .map { [self] channel in
                serverChannel = channel
                logger.info("client port up", metadata: ["address": "\(configuration.listen.host):\(channel.localAddress?.port ?? 0)"])
            }
    }

    private func accept(_ channel: Channel) -> ClientConnectionHandler {
        nextConnectionID += 1
        statistics.connectionsAccepted += 1
        let connection = ClientConnection(id: nextConnectionID, authenticated: configuration.password == nil,
                                          remote: channel.remoteAddress.map { "\($0)" } ?? "?")
        return ClientConnectionHandler(port: self, connection: connection)
    }

    func opened(_ connection: ClientConnection, channel: Channel) -> Bool {
        guard connections.count < configuration.connectionsMax else {
            statistics.connectionsRefused += 1
            return false
        }
        connections[connection.id] = channel
        clients[connection.id] = connection
        return true
    }

    func closed(_ connection: ClientConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        clients[connection.id] = nil
        connection.push = nil
        executor.connectionClosed(connection)
    }

    func counted(protocolError: Bool = false, outputLimit: Bool = false, command: Bool = false) {
        if protocolError { statistics.protocolErrors += 1 }
        if outputLimit { statistics.outputLimitDisconnects += 1 }
        if command { statistics.commandsProcessed += 1 }
    }

    public func stop() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { [self] in
            var closing = connections.values.map { $0.close() }
            if let serverChannel { closing.append(serverChannel.close()) }
            connections.removeAll()
            clients.removeAll()
            return EventLoopFuture.andAllComplete(closing, on: eventLoop)
        }
    }
}

/// One connection: bytes in, commands out to the executor, replies back in command order.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let port: ClientPort
    let connection: ClientConnection
    private var parser: RESPParser
    private var buffered = ByteBuffer()
    /// Replies by command number; flushed in order from `nextToWrite`.
    private var pending: [UInt64: RESPValue] = [:]
    private var nextNumber: UInt64 = 0
    private var nextToWrite: UInt64 = 0
    private var closeAfterFlush = false
    private var readPaused = false
    private var unsentBytes = 0
    private weak var context: ChannelHandlerContext?

    init(port: ClientPort, connection: ClientConnection) {
        self.port = port
        self.connection = connection
        self.parser = RESPParser(limits: port.configuration.limits, authenticated: connection.authenticated)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connection.push = { [weak self] value in self?.push(value) }
    }

    /// Writes `value` now, ahead of replies still owed (a RESP3 client tells pushes from replies by
    /// their type; a RESP2 watcher reads nothing else).
    func push(_ value: RESPValue) {
        guard let context, context.channel.isActive else { return }
        let bytes = RESPEncoder.encode(value, version: connection.version)
        unsentBytes += bytes.count
        guard unsentBytes <= port.configuration.outputBytesMax else {
            port.counted(outputLimit: true)
            context.close(promise: nil)
            return
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in handler.value.unsentBytes -= bytes.count }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }

    func channelActive(context: ChannelHandlerContext) {
        if !port.opened(connection, channel: context.channel) {
            let channel = context.channel
            channel.writeAndFlush(channel.allocator.buffer(bytes: RESPEncoder.encode(.error("ERR max number of clients reached"))))
                .whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        port.closed(connection)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        parseCommands(context: context)
    }

    /// Parses every whole command buffered, while the pipeline has room.
    private func parseCommands(context: ChannelHandlerContext) {
        while !closeAfterFlush, nextNumber - nextToWrite < UInt64(port.configuration.pipelineDepthMax), buffered.readableBytes > 0 {
            let parsed: (arguments: [[UInt8]], consumed: Int)?
            do {
                parsed = try buffered.withUnsafeReadableBytes { bytes throws(RESPProtocolError) in try parser.parseCommand(bytes) }
            } catch {
                port.counted(protocolError: true)
                port.logger.debug("client protocol error", metadata: ["client": "\(connection.id)", "error": "\(error)"])
                let number = take()
                closeAfterFlush = true
                answer(number, .error("ERR \(error.description)"))
                return
            }
            guard let (arguments, consumed) = parsed else { break }
            buffered.moveReaderIndex(forwardBy: consumed)
            guard !arguments.isEmpty else { continue }
            dispatch(arguments, number: take())
        }
        buffered.discardReadBytes()
        let full = nextNumber - nextToWrite >= UInt64(port.configuration.pipelineDepthMax)
        if full != readPaused {
            readPaused = full
            _ = context.channel.setOption(ChannelOptions.autoRead, value: !full)
        }
    }

    private func take() -> UInt64 {
        defer { nextNumber += 1 }
        return nextNumber
    }

    private func dispatch(_ arguments: [[UInt8]], number: UInt64) {
        connection.commandsProcessed += 1
        port.counted(command: true)
        if !connection.notices.isEmpty {
            let notice = connection.notices.removeFirst()
            answer(number, .error(notice + " (this command was not run; RESP3 clients get such notices as pushes)"))
            return
        }
        if let local = ConnectionCommands.handle(arguments, connection: connection, password: port.configuration.password) {
            if local.authenticated { parser.authenticated = true }
            if local.quit { closeAfterFlush = true }
            answer(number, local.reply)
            return
        }
        guard connection.authenticated else {
            answer(number, .error("NOAUTH Authentication required."))
            return
        }
        port.executor.execute(arguments, on: connection) { [weak self] reply in self?.answer(number, reply) }
    }

    /// Records a reply and writes every reply now in order.
    func answer(_ number: UInt64, _ reply: RESPValue) {
        guard let context else { return }
        pending[number] = reply
        var bytes: [UInt8] = []
        while let next = pending.removeValue(forKey: nextToWrite) {
            RESPEncoder.encode(next, version: connection.version, into: &bytes)
            nextToWrite += 1
        }
        guard !bytes.isEmpty else { return }
        unsentBytes += bytes.count
        if unsentBytes > port.configuration.outputBytesMax {
            port.counted(outputLimit: true)
            port.logger.warning("client output buffer over limit; disconnecting", metadata: ["client": "\(connection.id)", "bytes": "\(unsentBytes)"])
            context.close(promise: nil)
            return
        }
        let written = bytes.count
        let promise = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in handler.value.unsentBytes -= written }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
        if closeAfterFlush && nextToWrite == nextNumber {
            context.close(promise: nil)
            return
        }
        if readPaused { parseCommands(context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
