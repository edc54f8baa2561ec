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
    /// Connections at once (Redis's `maxclients`); one more is told so and closed.
    public var connectionsMax = 10_000
    /// A connection that sends nothing and waits for no answer this long is closed (Redis's
    /// `timeout`); 0: never (Redis's default).
    public var idleTimeoutSeconds: UInt64 = 0

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
    /// The order its commands take effect in (the node's executor keeps it).
    var order = CommandOrder()

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
    var connections: [UInt64: ClientConnectionHandler] = [:]
    private var idleCheck: RepeatedTask?
    public private(set) var statistics = Statistics()

    public struct Statistics: Equatable, Sendable {
        public var connectionsAccepted: UInt64 = 0
        public var connectionsRefused: UInt64 = 0
        public var commandsProcessed: UInt64 = 0
        public var protocolErrors: UInt64 = 0
        public var outputLimitDisconnects: UInt64 = 0
        public var idleDisconnects: UInt64 = 0
    }

    public var boundPort: Int? { serverChannel?.localAddress?.port }
    public var connectedClients: Int { connections.count }
    /// The open connections (on the event loop).
    public var connectionsNow: [ClientConnection] { connections.values.map(\.connection) }

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
                if configuration.idleTimeoutSeconds > 0 {
                    let every = TimeAmount.milliseconds(Int64(min(1_000, configuration.idleTimeoutSeconds * 250)))
                    idleCheck = eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in self?.closeIdle() }
                }
            }
    }

    /// Closes the connections idle past `idleTimeoutSeconds`, without a reply (as Redis: a reply
    /// nobody asked for would be read as the answer to the client's next command).
    private func closeIdle() {
        let limitNanos = configuration.idleTimeoutSeconds * 1_000_000_000
        let nowNanos = NIODeadline.now().uptimeNanoseconds
        for handler in connections.values where handler.idleSince(nowNanos: nowNanos) >= limitNanos {
            statistics.idleDisconnects += 1
            logger.info("client idle past the idle timeout; closing", metadata: [
                "client": "\(handler.connection.id)", "idle-timeout-seconds": "\(configuration.idleTimeoutSeconds)",
            ])
            handler.close()
        }
    }

    private func accept(_ channel: Channel) -> ClientConnectionHandler {
        nextConnectionID += 1
        statistics.connectionsAccepted += 1
        let connection = ClientConnection(id: nextConnectionID, authenticated: configuration.password == nil,
                                          remote: channel.remoteAddress.map { "\($0)" } ?? "?")
        return ClientConnectionHandler(port: self, connection: connection)
    }

    func opened(_ handler: ClientConnectionHandler) -> Bool {
        guard connections.count < configuration.connectionsMax else {
            statistics.connectionsRefused += 1
            logger.warning("client refused: max clients reached", metadata: ["maxclients": "\(configuration.connectionsMax)"])
            return false
        }
        connections[handler.connection.id] = handler
        return true
    }

    func closed(_ connection: ClientConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
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
            idleCheck?.cancel()
            var closing = connections.values.compactMap { $0.close() }
            if let serverChannel { closing.append(serverChannel.close()) }
            connections.removeAll()
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
    /// Encoded replies by command number, flushed in order from `nextToWrite`, and their bytes.
    private var pending: [UInt64: [UInt8]] = [:]
    private var pendingBytes = 0
    /// Cut off for its output: answers still to come are dropped.
    private var disconnected = false
    private var nextNumber: UInt64 = 0
    private var nextToWrite: UInt64 = 0
    private var closeAfterFlush = false
    private var flushScheduled = false
    private var readPaused = false
    private var unsentBytes = 0
    private var lastReadNanos = NIODeadline.now().uptimeNanoseconds
    /// Held strongly (a weak reference would give the context a side table and slow every retain
    /// of it on the hot path); dropped in `handlerRemoved`, which breaks the cycle.
    private var context: ChannelHandlerContext?

    init(port: ClientPort, connection: ClientConnection) {
        self.port = port
        self.connection = connection
        self.parser = RESPParser(limits: port.configuration.limits, authenticated: connection.authenticated)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connection.push = { [self] value in push(value) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        connection.push = nil
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
        if !port.opened(self) {
            let refusal = RESPValue.error("ERR max number of clients reached (maxclients \(port.configuration.connectionsMax))")
            closeAfterFlush = true
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: RESPEncoder.encode(refusal))), promise: nil)
            closeAfterReplies(context)
            return
        }
        context.fireChannelActive()
    }

    /// Nanoseconds since the client last sent anything, or 0 while a command of its awaits its answer.
    func idleSince(nowNanos: UInt64) -> UInt64 {
        guard nextToWrite == nextNumber else { return 0 }
        return nowNanos &- lastReadNanos
    }

    /// Closes the connection; nil if it is already gone.
    @discardableResult
    func close() -> EventLoopFuture<Void>? { context?.close() }

    func channelInactive(context: ChannelHandlerContext) {
        port.closed(connection)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closeAfterFlush else { return }  // refused, quitting or after a protocol error: nothing more is read
        lastReadNanos = NIODeadline.now().uptimeNanoseconds
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
        // A reply takes the protocol in effect when its command came (a HELLO later changes
        // only the replies to the commands after it).
        let version = connection.version
        // Held strongly until answered (each waiter ends by its deadline): a weak capture would
        // put a side table on the handler and slow every retain of it.
        port.executor.execute(arguments, on: connection) { [self] reply in answer(number, reply, version: version) }
    }

    /// Records a reply (encoded at once, so its bytes count against `outputBytesMax` while it
    /// waits for earlier ones) and writes every reply now in order.
    func answer(_ number: UInt64, _ reply: RESPValue, version: RESPVersion? = nil) {
        guard let context, !disconnected else { return }
        let encoded = RESPEncoder.encode(reply, version: version ?? connection.version)
        pending[number] = encoded
        pendingBytes += encoded.count
        guard pendingBytes + unsentBytes <= port.configuration.outputBytesMax else {
            port.counted(outputLimit: true)
            port.logger.warning("client output over its limit; disconnecting", metadata: [
                "client": "\(connection.id)", "bytes": "\(pendingBytes + unsentBytes)",
                "output-bytes-max": "\(port.configuration.outputBytesMax)",
            ])
            pending.removeAll()
            pendingBytes = 0
            disconnected = true
            context.close(promise: nil)
            return
        }
        var bytes: [UInt8] = []
        while let next = pending.removeValue(forKey: nextToWrite) {
            bytes += next
            nextToWrite += 1
        }
        guard !bytes.isEmpty else { return }
        pendingBytes -= bytes.count
        unsentBytes += bytes.count
        let written = bytes.count
        let promise = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in handler.value.unsentBytes -= written }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
        if closeAfterFlush && nextToWrite == nextNumber {
            context.flush()
            closeAfterReplies(context)
            return
        }
        flushOncePerTurn(context)
        if readPaused { parseCommands(context: context) }
    }

    /// One flush (one `write` system call) for all the replies this connection got in one turn
    /// of the event loop — a batch of applied entries answers many pipelined commands at once —
    /// instead of one per reply.
    private func flushOncePerTurn(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            handler.value.flushScheduled = false
            handler.value.context?.flush()
        }
    }

    /// Closes once the replies written so far have left: the output first, so the client reads
    /// them all (closing with its unread bytes in the socket would send a reset, which can discard
    /// the last reply — the error saying why), then the whole connection when the client closes,
    /// or after `lingerMillis`. What the client still sends meanwhile is read and dropped.
    private func closeAfterReplies(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        if readPaused {
            readPaused = false
            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
        }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(Self.lingerMillis)) { channel.close(promise: nil) }
    }

    static let lingerMillis: Int64 = 500

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
