import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import ConclaveStorage
import ConclaveWire
import Dispatch
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Conclave node as a process: the same `NodeCore` the simulator drives, on the WAL
/// (`DurableLogStorage`), the SwiftNIO peer transport and client port, and the host's monotonic
/// clock — the three seams, and nothing else of the node's logic here.
///
/// Everything runs on one event loop thread: ticks, peers' messages, clients' commands, the
/// core's outputs and the completions of its writes. The core does not drain each input
/// (`drainsEachInput` false): the inputs of one loop turn — many clients' commands, a peer's batch —
/// are handed to the WAL as one write and sent in one frame per peer by a single `flush`. The core
/// writes in the background (`NodeConfig.asyncStorageWrites`): the WAL's writer thread syncs while
/// the loop goes on stepping, sending (a leader's appends leave while its own write syncs) and
/// applying; writes that arrive during a sync share the next one (group commit). The writer's
/// completion hops back to the loop (`persisted`), which then sends the answers that waited for
/// it (append and vote answers). A reply leaves only once its entry applied on this node, which is
/// after a quorum — this node's own durable copy counted only once written — made it durable.
///
/// Stopping: `shutdown()` (SIGTERM) refuses new commands, waits up to `Settings.drainMillis` for the
/// commands in flight to be answered, hands leadership to the most caught-up follower, closes the
/// sockets and the WAL (every queued write completes) and releases the data directory's lock.
public final class NodeDaemon: ClientCommandExecutor, @unchecked Sendable {
    /// Timing and limits beyond the configuration file: the defaults suit a LAN (etcd's: 100 ms
    /// heartbeats, a 1 s election timeout); tests shorten them.
    public struct Settings: Sendable {
        public var tickMillis: UInt64 = 10
        public var heartbeatTicks = 10
        public var electionTimeoutTicks = 100
        /// A command not answered within this long is answered with an error that says its outcome
        /// is unknown (it may still apply), so no client waits forever.
        public var requestTimeoutMillis: UInt64 = 5_000
        public var snapshotEveryEntries: UInt64 = 10_000
        /// See `NodeConfig.snapshotLogRatio`: a daemon snapshots once the log since the last
        /// snapshot is 4 × its size, so a large store is not serialized every 10,000 writes.
        public var snapshotLogRatio: UInt64 = 4
        public var compactionKeepEntries: UInt64 = 1_000
        public var commandLimits = KVCommands.Limits()
        /// How long a stopping node waits for the commands in flight.
        public var drainMillis: UInt64 = 2_000
        public var wal = WALOptions()
        /// CFG.WATCH subscriptions this node serves at once.
        public var watchesMax = 10_000
        /// Skip the WAL's and snapshots' file syncs (`--unsafe-no-fsync`, as etcd's): a machine
        /// crash may lose acknowledged writes. For measuring the software without the disk.
        public var unsafeNoFsync = false

        public init() {}
    }

    public let configuration: NodeConfiguration
    public let settings: Settings
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
    let storage: DurableLogStorage
    /// The storage's file system, which ADMIN.DISK-FAULT FSYNC arms.
    let fileSystem: SyncFaultFileSystem
    let dataLock: DataDirectoryLock
    var core: NodeCore
    var transport: PeerTransport!
    var clientPort: ClientPort!
    /// Commands waiting for their entry (or ReadIndex round) to answer them.
    var waiting: [Key: Waiter] = [:]
    /// Deadlines in the order the commands came, hence in time order.
    private var deadlines: [(atNanos: UInt64, key: Key)] = []
    private var deadlinesHead = 0
    var readNumbers: UInt64 = 0
    private var flushScheduled = false
    /// Snapshots being written off the loop: stopping waits for them (their file must not be
    /// written into a closed storage, nor their answer sent to a loop that is gone).
    let snapshotJobs = DispatchGroup()
    private var writeHereScheduled = false
    private var tickTask: RepeatedTask?
    /// Ticks given since `startedNanos` (`giveMissedTicks`).
    private var ticksGiven: UInt64 = 0
    var stopping = false
    /// Stopping closed the WAL; a write refused after that is no failure.
    private var storageClosed = false
    private var observed = (role: Raft.Role.follower, leader: NodeID(0), term: Term(0))
    /// The native commands' state (NodeDaemon+Native.swift).
    let native = NativeState()
    /// The operator's faults and changes in progress (NodeDaemon+Admin.swift).
    let admin = AdminState()
    /// This process's clients: node ID in the top byte, a random incarnation, the connection.
    let clientBase: UInt64
    let startedNanos: UInt64
    private let finished: EventLoopPromise<Int32>

    struct Key: Hashable {
        var client: UInt64
        var sequence: UInt64
    }

    /// A command's answer to come: how its result becomes a reply, and where the reply goes.
    struct Waiter {
        var form: KVCommands.ReplyForm
        var answer: (RESPValue) -> Void
    }


    /// Every member's peer address this node knows: its `--peers`, and those the log recorded.
    var peerAddresses: [NodeID: PeerAddress] { transport.configuration.peers }

    // MARK: - Starting

    /// Locks and opens the data directory (bootstrapping a new one with `--peers` as the voters,
    /// recovering an existing one from its snapshot and WAL), binds the peer and client listeners
    /// and starts ticking. Each failure names its cause and carries the exit status.
    public static func start(_ configuration: NodeConfiguration, settings: Settings = Settings(), logger: Logger) throws(NodeStartError) -> NodeDaemon {
        let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        let identity = StorageIdentity(clusterID: configuration.clusterID, nodeID: configuration.id)
        let storage: DurableLogStorage
        let fileSystem = SyncFaultFileSystem(syncsFiles: !settings.unsafeNoFsync)
        if settings.unsafeNoFsync {
            logger.warning("--unsafe-no-fsync: the WAL is never synced; a machine crash may lose acknowledged writes")
        }
        do {
            storage = try DurableLogStorage.open(directory: configuration.dataDirectory, identity: identity,
                                                 membership: ConfState(voters: configuration.join ? [] : Array(configuration.peers.keys)),
                                                 fileSystem: fileSystem, options: settings.wal)
        } catch {
            lock.release()
            throw NodeStartError(storageError: error, directory: configuration.dataDirectory)
        }
        let recovery = storage.recovery
        logger.info("data directory open", metadata: [
            "dir": "\(configuration.dataDirectory)", "recovery": "\(recovery)",
        ])
        let stored = storage.initialState().1
        if configuration.join && stored.voters.isEmpty {
            logger.notice("joining: a member of no configuration until the leader adds it (ADMIN.ADD-MEMBER \(configuration.id) \(configuration.peerListen))")
        } else if Set(stored.voters) != Set(configuration.peers.keys) {
            logger.warning("the data directory's members differ from --peers; the stored membership wins",
                           metadata: ["stored": "\(stored.voters)", "peers": "\(configuration.peers.keys.sorted())"])
        }
        var raft = RaftConfig(id: configuration.id)
        raft.heartbeatTicks = settings.heartbeatTicks
        raft.electionTimeoutTicks = settings.electionTimeoutTicks
        raft.clockDriftTicksMax = max(2, settings.electionTimeoutTicks / 10)
        var nodeConfig = NodeConfig(raft: raft)
        nodeConfig.tickNanos = settings.tickMillis * 1_000_000
        nodeConfig.clockIntervalTicks = max(1, 100 / settings.tickMillis)
        nodeConfig.snapshotEveryEntries = settings.snapshotEveryEntries
        nodeConfig.snapshotLogRatio = settings.snapshotLogRatio
        nodeConfig.compactionKeepEntries = settings.compactionKeepEntries
        nodeConfig.asyncStorageWrites = true
        nodeConfig.snapshotsInBackground = true
        let seed = UInt64.random(in: 1...UInt64.max)
        var core: NodeCore
        do {
            core = try NodeCore(config: nodeConfig, storage: storage, random: SeededGenerator(seed: seed),
                                callbackTargets: HTTPCallbackTargets(node: configuration.id, endpoints: configuration.callbacks))
        } catch {
            storage.close()
            lock.release()
            throw NodeStartError(.data, "cannot start the node from \(configuration.dataDirectory): \(error)")
        }
        core.drainsEachInput = false
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let daemon = NodeDaemon(configuration: configuration, settings: settings, logger: logger, group: group,
                                storage: storage, fileSystem: fileSystem, lock: lock, core: core)
        do {
            try daemon.loop.flatSubmit { daemon.bind() }.wait()
        } catch {
            daemon.closeEverything()
            throw NodeStartError(.unavailable, "cannot listen: \(error)")
        }
        logger.notice("node started", metadata: [
            "node": "\(configuration.id)", "peer-listen": "\(configuration.peerListen)",
            "client-listen": "\(configuration.clientListen)", "cluster": "\(configuration.clusterName)",
            "term": "\(core.raft.term)", "commit": "\(core.raft.status().commit)", "seed": "\(seed)",
        ])
        return daemon
    }

    private init(configuration: NodeConfiguration, settings: Settings, logger: Logger, group: MultiThreadedEventLoopGroup,
                 storage: DurableLogStorage, fileSystem: SyncFaultFileSystem, lock: DataDirectoryLock, core: NodeCore) {
        self.configuration = configuration
        self.settings = settings
        self.logger = logger
        self.group = group
        self.loop = group.next()
        self.storage = storage
        self.fileSystem = fileSystem
        self.dataLock = lock
        self.core = core
        clientBase = UInt64(configuration.id) << 56 | UInt64.random(in: 1..<(1 << 24)) << 32
        startedNanos = NIODeadline.now().uptimeNanoseconds
        finished = loop.makePromise(of: Int32.self)
        let peers = PeerTransportConfiguration(node: configuration.id, clusterID: configuration.clusterID,
                                               token: configuration.token ?? "", listen: configuration.peerListen,
                                               peers: configuration.peers)
        transport = PeerTransport(configuration: peers, eventLoop: loop, logger: logger) { [unowned self] messages in
            let time = now()
            for message in messages {
                self.logger.trace("recv", metadata: ["kind": "\(message.kind)", "from": "\(message.from)", "round": "\(message.clockRound)", "nanos": "\(message.clockNanos)"])
                self.core.receive(message, at: time)
            }
            afterInput()
        }
        var port = ClientPortConfiguration(listen: configuration.clientListen, password: configuration.token)
        port.connectionsMax = configuration.clientsMax
        port.idleTimeoutSeconds = configuration.clientIdleTimeoutSeconds
        clientPort = ClientPort(configuration: port, eventLoop: loop, logger: logger, executor: self)
        // The WAL's writer thread reports each write; the core takes it in on its own thread.
        let loop = self.loop
        // Strong, not weak (a side table would slow every retain of the daemon); the cycle is
        // broken when the daemon closes (`closeEverything`).
        self.core.writeCompleted = { [self] completion in
            let daemon = self  // a reference the closure may mutate through (captured in init)
            loop.execute {
                daemon.core.persisted(completion, at: daemon.now())
                daemon.afterInput()
            }
        }
        // A Ready's write is synced on the event loop once its messages are out (a leader's
        // appends first, so the followers' syncs overlap ours), not handed to the writer thread:
        // a commit on a quiet node then costs no thread wake-up and no hop back.
        storage.writeQueued = { [self] in
            let daemon = self
            guard !daemon.writeHereScheduled else { return }
            daemon.writeHereScheduled = true
            loop.execute {
                daemon.writeHereScheduled = false
                daemon.transport.flushQueued()
                daemon.storage.writeQueuedHere()
            }
        }
    }

    /// Binds the peer listener, then the client port; a failure names the listener and address.
    private func bind() -> EventLoopFuture<Void> {
        let peerAddress = configuration.peerListen
        let clientAddress = configuration.clientListen
        return transport.start()
            .flatMapErrorThrowing { throw ListenError(description: "peer listener \(peerAddress): \($0)") }
            .flatMap { [self] in
                clientPort.start().flatMapErrorThrowing { throw ListenError(description: "client port \(clientAddress): \($0)") }
            }
            .map { [self] in
                syncMemberAddresses()  // those a restored snapshot recorded
                let interval = TimeAmount.nanoseconds(Int64(settings.tickMillis * 1_000_000))
                tickTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [unowned self] _ in tick() }
            }
    }

    /// Runs until the node stops; returns the process's exit status.
    public func wait() -> Int32 {
        let code = (try? finished.futureResult.wait()) ?? NodeExit.software.rawValue
        try? group.syncShutdownGracefully()
        return code
    }

    /// The ports actually bound (useful with port 0).
    public var boundPorts: (peer: Int?, client: Int?) {
        (try? loop.submit { [self] in (transport.boundPort, clientPort.boundPort) }.wait()) ?? (nil, nil)
    }

    // MARK: - Inputs

    /// The monotonic clock, and the wall clock with the operator's skew (`wallMillis()`).
    func now() -> NodeTime {
        NodeTime(monotonicNanos: NIODeadline.now().uptimeNanoseconds, wallMillis: wallMillis())
    }

    private func tick() {
        guard adminAllowsTick() else { return }
        let time = now()
        giveMissedTicks(at: time)
        ticksGiven += 1
        core.tick(at: time)
        expireWaiting()
        expireNative(nowNanos: time.timerNanos)
        tickIDService()
        pushStatusReports(nowNanos: time.timerNanos)
        afterInput()
    }

    /// Ticks follow the monotonic clock, not the timer's firings: a process stopped for a while
    /// (SIGSTOP, a VM or GC stall, ADMIN.PAUSE) or a timer running late gives Raft every tick that
    /// fell due meanwhile before anything else, so a leader's lease never outlives the time that
    /// really passed (a stale lease read after a stop) and elections keep their timing.
    func giveMissedTicks(at time: NodeTime) {
        let due = (time.timerNanos - min(time.timerNanos, startedNanos)) / (settings.tickMillis * 1_000_000)
        guard due > ticksGiven + 1 else { return }
        let missed = due - ticksGiven - 1
        ticksGiven += missed
        core.catchUp(ticks: Int(min(missed, Self.catchUpTicksMax)), at: time)
    }

    /// More ticks than any timeout counts: a stop of hours catches up in one bounded loop.
    static let catchUpTicksMax: UInt64 = 100_000

    /// After every input: perform what it asked now (replies, timers), and drain its Ready once
    /// per loop turn.
    func afterInput() {
        perform(core.takeOutputs())
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute { [self] in
            flushScheduled = false
            core.flush(at: now())
            perform(core.takeOutputs())
        }
    }

    public func execute(_ arguments: [[UInt8]], on connection: ClientConnection, reply: @escaping (RESPValue) -> Void) {
        let name = CommandName.uppercased(arguments[0])
        if AdminCommands.handles(name) { return executeAdmin(name, arguments, on: connection, reply: reply) }
        if holdWhilePaused({ [unowned self] in execute(arguments, on: connection, reply: reply) }, reply: reply) { return }
        if NativeCommands.handles(name) {
            // In the connection's order, as a write; an acquire that may wait runs alone, so what
            // the connection sent after it waits for its answer.
            return inOrder(name.hasSuffix(".ACQUIRE") ? .alone : .write, on: connection, reply: reply) { [unowned self] answer in
                executeNative(name, Array(arguments.dropFirst()), on: connection, reply: answer)
            }
        }
        switch KVCommands.parse(arguments, name: name, limits: settings.commandLimits) {
        case .failure(let error):
            reply(error.reply)
        case .success(.info(let sections)):
            // After the connection's writes before it, as a read: its keyspace counts them.
            inOrder(.read, on: connection, reply: reply) { [unowned self] answer in
                let text = info(sections: sections)
                answer(connection.version == .resp3 ? .verbatim(format: "txt", text: text) : .bulk(text))
            }
        case .success(.configGet(let patterns)):
            reply(configGet(patterns))
        case .success(.kv(let command, let form)):
            inOrder(command.isRead ? .read : .write, on: connection, reply: reply) { [unowned self] answer in
                submit(command, form: form, on: connection, answer: answer)
            }
        case .success(.evalSHA(let sha, let keys, let arguments)):
            // The log carries the body, resolved from this node's replicated cache once the
            // connection's earlier writes (a SCRIPT LOAD) have applied.
            inOrder(.write, on: connection, reply: reply) { [unowned self] answer in
                guard let script = core.stateMachine.kv.scripts.script(sha: sha) else { return answer(KVCommands.noScript.reply) }
                submit(.eval(ScriptCall(body: script.body, keys: keys, arguments: arguments)), form: .plain, on: connection,
                       answer: answer)
            }
        }
    }

    public func connectionClosed(_ connection: ClientConnection) {
        nativeConnectionClosed(connection)
    }

    /// Runs `body` when the connection's order lets a command of `kind` start (see
    /// `CommandOrder`); its answer lets the next ones start.
    func inOrder(_ kind: CommandOrder.Kind, on connection: ClientConnection, reply: @escaping (RESPValue) -> Void,
                 _ body: @escaping (@escaping (RESPValue) -> Void) -> Void) {
        let answer: (RESPValue) -> Void = { value in
            reply(value)
            for start in connection.order.finished() { start() }
        }
        let start = { body(answer) }
        if connection.order.admit(kind, start: start) { start() }
    }

    /// Proposes a command (or starts its ReadIndex round) and keeps its answer until it applies.
    private func submit(_ command: KVCommand, form: KVCommands.ReplyForm, on connection: ClientConnection,
                        answer: @escaping (RESPValue) -> Void) {
        guard !stopping else { return answer(.error("ERR node \(configuration.id) is shutting down; use another node")) }
        connection.sequence += 1
        let key = Key(client: clientID(of: connection), sequence: connection.sequence)
        let request = KVRequest(client: key.client, sequence: key.sequence, command: command)
        let time = now()
        if let refusal = core.submit(request, readNumbers: &readNumbers, at: time) {
            return answer(.error(Self.refusalReply(refusal, leader: core.raft.leader)))
        }
        waiting[key] = Waiter(form: form, answer: answer)
        deadlines.append((time.timerNanos + settings.requestTimeoutMillis * 1_000_000, key))
        afterInput()
    }

    /// Raft's refusals in the words a Redis client knows: no leader is a retryable cluster state.
    static func refusalReply(_ refusal: String, leader: NodeID) -> String {
        leader == 0 ? "CLUSTERDOWN no leader elected yet (\(refusal)); retry shortly" : "ERR \(refusal)"
    }

    private func expireWaiting() {
        let nowNanos = NIODeadline.now().uptimeNanoseconds
        while deadlinesHead < deadlines.count, deadlines[deadlinesHead].atNanos <= nowNanos {
            let key = deadlines[deadlinesHead].key
            deadlinesHead += 1
            waiting.removeValue(forKey: key)?.answer(.error(
                "TIMEOUT not answered within \(settings.requestTimeoutMillis) ms; the command may still take effect"))
        }
        if deadlinesHead > 1_024 && deadlinesHead * 2 > deadlines.count {
            deadlines.removeFirst(deadlinesHead)
            deadlinesHead = 0
        }
    }

    // MARK: - Outputs

    private func perform(_ outputs: [NodeOutput]) {
        guard !outputs.isEmpty else { return }
        var messages: [Message] = []
        var appliedSome = false
        for output in outputs {
            switch output {
            case .send(let message):
                logger.trace("send", metadata: ["kind": "\(message.kind)", "to": "\(message.to)", "round": "\(message.clockRound)", "nanos": "\(message.clockNanos)"])
                messages.append(message)
            case .reply(let applied):
                guard let waiter = waiting.removeValue(forKey: Key(client: applied.client, sequence: applied.sequence)) else { continue }
                waiter.answer(KVCommands.reply(to: applied.result, form: waiter.form))
            case .coordinationReply(let client, let sequence, let result):
                answerNative(client: client, sequence: sequence, result: result)
            case .lockEvent(let session, let event):
                deliverLockEvent(session: session, event: event)
            case .applied:
                appliedSome = true
            case .persisted:
                break
            case .callback(let request):
                call(request)
            case .snapshotDue(let job):
                writeSnapshot(job)
            case .callbackDelivered(let delivery):
                logger.info("callback delivered", metadata: ["delivery": "\(delivery)"])
            case .callbackPoolDue(let atNanos):
                at(atNanos) { $0.callbackPoolDue(at: $1) }
            case .callbackRetryDue(let task, let atNanos):
                at(atNanos) { $0.retryCallback(task: task, at: $1) }
            case .stopped(let reason) where storageClosed:
                // Work the loop still held when stopping closed the WAL: nothing is lost or answered.
                logger.debug("a write after the WAL closed", metadata: ["reason": "\(reason)"])
            case .stopped(let reason):
                logger.critical("node stopped itself", metadata: ["reason": "\(reason)"])
                shutdown(exitCode: NodeExit.io.rawValue, drain: false)
            case .becameLeader(let term):
                logger.notice("became leader", metadata: ["term": "\(term)"])
            case .snapshotInstalled(let index, _):
                logger.notice("installed the leader's snapshot", metadata: ["index": "\(index)"])
            case .snapshotTaken(let index):
                logger.info("snapshot taken", metadata: ["index": "\(index)"])
            }
        }
        if !messages.isEmpty { transport.send(messages) }
        if appliedSome {
            deliverWatches()
            syncMemberAddresses()
        }
        noteRole()
    }

    /// A due snapshot of the node's own state: encoded, written and synced on a background queue
    /// (O(state): a large store no longer stalls the event loop), then made current on the loop.
    private func writeSnapshot(_ job: SnapshotJob) {
        let storage = self.storage
        let logger = self.logger
        snapshotJobs.enter()
        DispatchQueue.global(qos: .utility).async { [self] in
            let started = DispatchTime.now().uptimeNanoseconds
            let data = job.encode()
            var failure: String?
            do {
                try storage.writeSnapshotFile(job, data: data)
            } catch {
                failure = "\(error)"
            }
            let millis = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
            logger.info("snapshot written off the loop", metadata: ["index": "\(job.index)", "bytes": "\(data.count)", "ms": "\(millis)"])
            let outcome = failure, bytes = data.count
            // Queued before the job counts as done, so a stopping node (which waits for the
            // jobs on its loop) has this on its loop before it closes; it is dropped there if so.
            loop.execute { [self] in
                guard !stopping else { return }
                core.snapshotWritten(job, bytes: bytes, failure: outcome, at: now())
                afterInput()
            }
            snapshotJobs.leave()
        }
    }

    /// A callback try: an HTTP POST to the target's endpoint; its answer goes back to the core.
    private func call(_ request: CallbackRequest) {
        guard let endpoint = configuration.callbacks[request.target] else {
            return at(0) { $0.callbackAnswered(tag: request.tag, failure: "no endpoint for '\(request.target)'", at: $1) }
        }
        HTTPCallbackClient.post(request, to: endpoint, on: loop) { [self] failure in
            if let failure {
                logger.info("callback failed", metadata: ["task": "\(request.task)", "attempt": "\(request.attempt)", "why": "\(failure)"])
            }
            at(0) { $0.callbackAnswered(tag: request.tag, failure: failure, at: $1) }
        }
    }

    private func at(_ nanos: UInt64, _ input: @escaping @Sendable (inout NodeCore, NodeTime) -> Void) {
        let deadline = NIODeadline.uptimeNanoseconds(nanos)
        loop.scheduleTask(deadline: deadline) { [self] in
            input(&core, now())
            afterInput()
        }
    }

    /// One log line per change of role, leader or term.
    private func noteRole() {
        let raft = core.raft
        let current = (role: raft.role, leader: raft.leader, term: raft.term)
        guard current != observed else { return }
        if current.leader != observed.leader {
            if current.leader == 0 {
                logger.warning("no leader", metadata: ["term": "\(current.term)", "role": "\(current.role)"])
            } else {
                logger.notice("leader changed", metadata: ["leader": "\(current.leader)", "term": "\(current.term)"])
            }
        } else if current.role != observed.role {
            logger.info("role changed", metadata: ["role": "\(current.role)", "term": "\(current.term)"])
        }
        observed = current
    }

    // MARK: - Stopping

    /// Stops the node: refuses new commands, waits for the ones in flight (up to `drainMillis`),
    /// steps down as leader, then closes everything. Safe from any thread, more than once.
    public func shutdown(exitCode: Int32 = 0, drain: Bool = true) {
        loop.execute { [self] in
            guard !stopping else { return }
            stopping = true
            logger.notice("stopping", metadata: ["drain": "\(drain)", "waiting": "\(waiting.count)"])
            guard drain else { return finish(exitCode) }
            handOffLeadership()
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.drainMillis))
            waitForDrain(until: deadline) { [self] in finish(exitCode) }
        }
    }

    private func waitForDrain(until deadline: NIODeadline, then done: @escaping @Sendable () -> Void) {
        if waiting.isEmpty || NIODeadline.now() >= deadline { return done() }
        loop.scheduleTask(in: .milliseconds(5)) { [self] in waitForDrain(until: deadline, then: done) }
    }

    /// A leader that stops hands over to its most caught-up follower, so the cluster does not wait
    /// out an election timeout (etcd does the same).
    private func handOffLeadership() {
        let status = core.raft.status()
        guard status.role == .leader,
              let target = status.followers.filter({ !$0.isLearner && $0.recentActive }).max(by: { $0.match < $1.match })
        else { return }
        do {
            try core.transferLeadership(to: target.node, at: now())
            afterInput()
            logger.notice("handing leadership over", metadata: ["to": "\(target.node)"])
        } catch {
            logger.info("no leadership hand-over", metadata: ["reason": "\(error)"])
        }
    }

    private func finish(_ exitCode: Int32) {
        tickTask?.cancel()
        // A snapshot still being written off the loop finishes first (its answer is dropped).
        if snapshotJobs.wait(timeout: .now() + 30) == .timedOut {
            logger.warning("a snapshot was still being written after 30 s; stopping without it")
        }
        // Its own code, like TIMEOUT: not a refusal — what was proposed may still commit elsewhere.
        let stoppedReply = RESPValue.error("STOPPED node \(configuration.id) stopped before answering; the command may still take effect")
        for waiter in waiting.values { waiter.answer(stoppedReply) }
        waiting.removeAll()
        for waiting in native.waiting.values { waiting.reply(stoppedReply) }
        native.waiting.removeAll()
        let closing = [clientPort.stop(), transport.stop()]
        EventLoopFuture.andAllComplete(closing, on: loop).whenComplete { [self] _ in
            storageClosed = true
            storage.close()
            dataLock.release()
            logger.notice("stopped", metadata: ["exit": "\(exitCode)"])
            finished.succeed(exitCode)
        }
    }

    private func closeEverything() {
        try? loop.submit { [self] in tickTask?.cancel() }.wait()
        _ = try? clientPort.stop().wait()
        _ = try? transport.stop().wait()
        storage.close()
        dataLock.release()
        try? group.syncShutdownGracefully()
        core.writeCompleted = nil
        storage.writeQueued = nil
    }
}

struct ListenError: Error, CustomStringConvertible {
    var description: String
}

/// Exit statuses of `conclave node` (sysexits.h where one fits).
public enum NodeExit: Int32, Sendable {
    case ok = 0
    /// Flags or the configuration file are wrong (as every `conclave` command's usage errors).
    case usage = 2
    /// The data directory belongs to another cluster or node, or its WAL or snapshot is damaged.
    case data = 65
    /// A listener cannot bind (the port is in use, the address is not local).
    case unavailable = 69
    case software = 70
    /// Another process holds the data directory.
    case lockHeld = 73
    /// A disk error (including a failed fsync, which is never retried).
    case io = 74
}

/// Why a node could not start: the message for the operator and the exit status.
public struct NodeStartError: Error, CustomStringConvertible, Sendable {
    public var exit: NodeExit
    public var description: String

    init(_ exit: NodeExit, _ description: String) {
        self.exit = exit
        self.description = description
    }

    init(storageError error: DurableStorageError, directory: String) {
        switch error {
        case .corrupt, .inconsistent, .wrongIdentity, .recordTooLarge, .snapshotMismatch:
            self.init(.data, "cannot recover \(directory): \(error)")
        case .io, .noSpace, .syncFailed, .stopped, .closed:
            self.init(.io, "cannot open \(directory): \(error)")
        }
    }
}

