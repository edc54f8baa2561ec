import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// N Raft nodes with their KV state machines on one thread, a virtual clock and a simulated network
/// that drops, delays, duplicates, reorders, clogs and partitions; nodes can crash (losing memory,
/// keeping disk), restart, pause and run on skewed clocks. Every decision comes from one seeded
/// generator, so a run replays exactly from its seed.
///
/// The caller drives it: `nextOutput(until:)` runs events in time order until one is for the caller
/// (a reply to a client request, or a timer the caller scheduled) or the deadline passes.
public final class Simulator {
    public enum Output: Equatable, Sendable {
        /// A node answered a client request it accepted.
        case reply(node: NodeID, applied: KVStateMachine.Applied)
        /// A timer the caller scheduled with `schedule(timer:at:)` fired.
        case timer(UInt64)
        /// A node answered a coordination request (session, lock, counter, fenced write). A queued
        /// acquire is answered when it is granted.
        case coordinationReply(node: NodeID, client: UInt64, sequence: UInt64, result: CoordinationResult)
        /// A lock holder lost its hold (session expired or closed, TTL, revocation) or is asked to
        /// let go: told by the node its client last kept the session alive through, not left to
        /// find out from silence.
        case lockEvent(node: NodeID, event: LockEvent)
    }

    /// The answer to a client submitting a request to a node.
    public enum Submission: Equatable, Sendable {
        /// Proposed (or forwarded, or queued on a paused node): an answer may come, or not.
        case accepted
        /// Refused before entering any log: it certainly did not take effect.
        case refused(String)
    }

    enum Event {
        case tick(NodeID, incarnation: Int)
        case deliver(Message)
        case resume(NodeID, incarnation: Int)
        case timer(UInt64)
        case reply(NodeID, KVStateMachine.Applied)
        case coordinationReply(NodeID, UInt64, UInt64, CoordinationResult)
        case lockEvent(NodeID, LockEvent)
        /// A node's callback pool has something due (a try ends, a queued one starts), or a try's
    /// backoff ended.
        case callbackPool(NodeID, incarnation: Int)
        case callbackRetry(NodeID, incarnation: Int, task: UInt64)
    }

    public let config: SimulationConfig
    public private(set) var now: UInt64 = 0
    public internal(set) var monitor: InvariantMonitor
    public internal(set) var trace: SimulationTrace
    public internal(set) var statistics = SimulationStatistics()
    var nodes: [SimulatedNode]
    var network: SimulatedNetwork
    var queue = EventQueue<Event>()
    var random: SeededGenerator
    var nextReadContext: UInt64 = 0
    /// Every callback call a target received, oldest first (bounded by `scheduler.deliveriesKept`).
    public internal(set) var callbackDeliveries: [CallbackDelivery] = []
    public internal(set) var callbackDeliveriesTotal = 0
    /// Callback durations and failures draw from their own stream, so runs without delay tasks
    /// replay exactly as before.
    var callbackRandom: SeededGenerator
    /// Every node ever created, in ID order (nodes join with `addNode`; none is ever deleted).
    public internal(set) var nodeIDs: [NodeID]

    public init(config: SimulationConfig) throws(SimulationError) {
        try config.validate()
        self.config = config
        self.monitor = InvariantMonitor(windowEntries: config.monitorWindowEntries)
        let initial = (1...config.nodes).map { NodeID($0) }
        self.nodeIDs = initial
        self.nodes = initial.map { SimulatedNode(id: $0, voters: initial, scheduler: config.scheduler) }
        self.network = SimulatedNetwork(latencyMinNanos: config.latencyMinNanos, latencyMaxNanos: config.latencyMaxNanos)
        self.random = SeededGenerator(seed: config.seed, stream: 0)
        self.callbackRandom = SeededGenerator(seed: config.seed, stream: 0xCA11)
        self.trace = SimulationTrace(linesMax: config.traceLinesMax)
        for node in initial { start(node) }
    }


    // MARK: - Running

    /// Runs events in time order until one is for the caller, or until `deadline` (then `now` is
    /// the deadline and the result nil).
    public func nextOutput(until deadline: UInt64) -> Output? {
        while let time = queue.nextTime, time <= deadline {
            let (eventTime, event) = queue.pop()!
            now = eventTime
            if let output = handle(event) { return output }
        }
        now = max(now, deadline)
        return nil
    }

    /// Runs until `deadline`, discarding outputs (for runs with no clients).
    public func run(until deadline: UInt64) {
        while nextOutput(until: deadline) != nil {}
    }

    /// Runs for `nanos` of virtual time.
    public func run(for nanos: UInt64) { run(until: now + nanos) }

    /// Runs until `condition` holds, checking after every event, or until `timeoutNanos` pass.
    /// Returns whether the condition held.
    @discardableResult
    public func run(untilTrue condition: (Simulator) -> Bool, timeoutNanos: UInt64) -> Bool {
        let deadline = now + timeoutNanos
        while !condition(self) {
            guard let time = queue.nextTime, time <= deadline else {
                now = deadline
                return condition(self)
            }
            let (eventTime, event) = queue.pop()!
            now = eventTime
            _ = handle(event)
        }
        return true
    }

    public func schedule(timer token: UInt64, at time: UInt64) {
        queue.push(.timer(token), at: max(time, now))
    }

    private func handle(_ event: Event) -> Output? {
        switch event {
        case .tick(let node, let incarnation):
            trace.record(now, "tick \(node)", hash: node)
            tick(node, incarnation: incarnation)
        case .deliver(let message):
            trace.record(now, message)
            deliver(message)
        case .resume(let node, let incarnation):
            trace.record(now, "resume \(node)", hash: node &+ 0x100)
            resume(node, incarnation: incarnation)
        case .timer(let token):
            trace.record(now, "timer \(token)", hash: token &+ 0x200)
            return .timer(token)
        case .reply(let node, let applied):
            trace.record(now, "reply \(node) c\(applied.client)#\(applied.sequence)", hash: applied.client &* 31 &+ applied.sequence)
            return .reply(node: node, applied: applied)
        case .coordinationReply(let node, let client, let sequence, let result):
            trace.record(now, "reply \(node) c\(client)#\(sequence) \(result)", hash: client &* 37 &+ sequence)
            return .coordinationReply(node: node, client: client, sequence: sequence, result: result)
        case .lockEvent(let node, let event):
            trace.record(now, "event \(node) \(event)", hash: 0xE7 &+ node)
            return .lockEvent(node: node, event: event)
        case .callbackPool(let node, let incarnation):
            trace.record(now, "callback pool \(node)", hash: 0xCB &+ node)
            callbackPoolDue(node, incarnation: incarnation)
        case .callbackRetry(let node, let incarnation, let task):
            trace.record(now, "callback retry \(node) task \(task)", hash: 0xCC &+ task << 8 &+ node)
            callbackRetry(node, incarnation: incarnation, task: task)
        }
        return nil
    }

    // MARK: - Nodes

    func index(of node: NodeID) -> Int { Int(node) - 1 }

    func start(_ node: NodeID) {
        let position = index(of: node)
        var raftConfig = config.raftConfig(for: node)
        // Memory is gone: the state machine comes back from the snapshot, the rest from the log.
        var stateMachine = CoordinationStateMachine()
        let snapshot: Snapshot
        do {
            snapshot = try nodes[position].storage.snapshot()
        } catch {
            stop(node, reason: "cannot read its snapshot to start: \(error)")
            return
        }
        if !snapshot.isEmpty {
            stateMachine = Self.load(snapshot, node: node)
            raftConfig.applied = snapshot.index
        }
        let incarnation = nodes[position].incarnation + 1
        let nodeRandom = SeededGenerator(seed: config.seed, stream: node &* 1_000 &+ UInt64(incarnation))
        do {
            nodes[position].raft = try Raft(config: raftConfig, storage: nodes[position].storage, random: nodeRandom)
        } catch {
            preconditionFailure("simulator built an invalid Raft configuration: \(error)")
        }
        nodes[position].stateMachine = stateMachine
        nodes[position].quorumClock = QuorumClock()
        nodes[position].pendingReads.removeAll()
        nodes[position].readsAtIndex.removeAll()
        nodes[position].waitingGrants.removeAll()
        nodes[position].health = .up
        nodes[position].stopReason = nil
        nodes[position].incarnation = incarnation
        nodes[position].scheduler = NodeScheduler(node: node, settings: config.scheduler)
        resyncScheduler(at: position)
        scheduleTick(node)
    }

    private func tickInterval(_ node: NodeID) -> UInt64 {
        let rate = max(1, nodes[index(of: node)].clockRatePermille)
        return config.tickNanos * 1000 / rate
    }

    private func scheduleTick(_ node: NodeID, at time: UInt64? = nil) {
        let position = index(of: node)
        nodes[position].nextTickAt = time ?? now + tickInterval(node)
        queue.push(.tick(node, incarnation: nodes[position].incarnation), at: nodes[position].nextTickAt)
    }

    private func tick(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health == .up else { return }
        // Reads whose confirmation never came (lost messages, deposed leader): the client has
        // long timed out; forget them so the table stays bounded.
        if !nodes[position].pendingReads.isEmpty {
            nodes[position].pendingReads = nodes[position].pendingReads.filter { now - $0.value.since < 10_000_000_000 }
        }
        nodes[position].raft?.tick()
        proposeElapsedIfDue(at: position)
        schedulerTick(at: position)
        drainReady(position)
        scheduleTick(node)
    }

    /// A leader proposes how much time a quorum of voters' clocks agree has passed (`QuorumClock`),
    /// in steps of about `clockIntervalTicks` ticks of true time: the only way cluster time (leases,
    /// lock TTLs, deadlines) moves. A follower's ticks count nothing.
    private func proposeElapsedIfDue(at position: Int) {
        guard let raft = nodes[position].raft, raft.role == .leader else { return }
        let intervalNanos = config.clockIntervalTicks * config.tickNanos
        let millis = nodes[position].quorumClock.agreedElapsedMillis(voters: raft.voters, me: raft.id, intervalNanos: intervalNanos)
        guard millis > 0 else { return }
        let request = CoordinationRequest(client: 0, sequence: 0, command: .elapsed(millis: millis))
        if (try? nodes[position].raft?.propose(request.encoded())) != nil {
            proposeSchedulerMembersIfChanged(at: position)
        }
    }

    /// A message as it leaves a node: stamped with the quorum clock's round and the node's clock.
    private func stampedWithClock(_ message: Message, at position: Int, asLeader: Bool) -> Message {
        var message = message
        message.clockRound = nodes[position].quorumClock.round(to: message.to, asLeader: asLeader)
        message.clockNanos = localClockNanos(position)
        return message
    }

    /// Steps a message into the node's Raft, noting its clock stamp first.
    private func stepMessage(_ message: Message, at position: Int) {
        let raft = nodes[position].raft
        nodes[position].quorumClock.received(
            round: message.clockRound, nanos: message.clockNanos, from: message.from,
            fromLeader: message.kind == .append || message.kind == .heartbeat || message.kind == .snapshot,
            leaderTerm: raft?.role == .leader ? raft?.term : nil)
        nodes[position].raft?.step(message)
    }

    private func deliver(_ message: Message) {
        let position = index(of: message.to)
        guard network.canReach(from: message.from, to: message.to, at: now) else {
            statistics.messagesDropped += 1
            return
        }
        switch nodes[position].health {
        case .crashed:
            statistics.messagesDropped += 1
        case .paused:
            enqueueBacklog(.message(message), at: position)
        case .up:
            statistics.messagesDelivered += 1
            if message.kind == .appendResponse && message.reject { statistics.appendsRejected += 1 }
            stepMessage(message, at: position)
            drainReady(position)
        }
    }

    private func enqueueBacklog(_ pending: SimulatedNode.Pending, at position: Int) {
        if nodes[position].backlog.count < config.backlogMax {
            nodes[position].backlog.append(pending)
        } else {
            statistics.messagesDropped += 1
        }
    }

    /// Persist, send, apply, advance — the Ready contract, in that order, until nothing is left.
    func drainReady(_ position: Int) {
        while nodes[position].raft?.hasReady == true {
            let ready = nodes[position].raft!.ready()
            let node = nodes[position].id
            if let failure = ready.storageFailure {
                stop(node, reason: "storage: \(failure)")
                return
            }
            if let snapshot = ready.snapshot { install(snapshot, at: position) }
            if let first = ready.entries.first {
                let previousTerm = try? nodes[position].storage.term(at: first.index - 1)
                nodes[position].storage.append(ready.entries)
                monitor.entriesPersisted(ready.entries, previousTerm: previousTerm, by: node, at: now)
            }
            if let hardState = ready.hardState { nodes[position].storage.setHardState(hardState) }
            if let soft = ready.softState { softStateChanged(soft, at: position) }
            let raft = nodes[position].raft!
            let leading = raft.role == .leader
            if leading && ready.messages.contains(where: { $0.kind == .heartbeat }) {
                nodes[position].quorumClock.openRound(term: raft.term, localNanos: localClockNanos(position))
            }
            for message in ready.messages { send(stampedWithClock(message, at: position, asLeader: leading)) }
            for entry in ready.committedEntries { apply(entry, at: position, node: node) }
            for readState in ready.readStates { readConfirmed(readState, at: position) }
            nodes[position].raft!.advance(ready)
            serveReads(at: position)
            takeSnapshotIfDue(at: position)
        }
    }

    /// A follower received a snapshot: it replaces the log on disk and the state machine.
    private func install(_ snapshot: Snapshot, at position: Int) {
        nodes[position].storage.applySnapshot(snapshot)
        nodes[position].stateMachine = Self.load(snapshot, node: nodes[position].id)
        nodes[position].appliedEntries.removeAll()
        resyncScheduler(at: position)
        statistics.snapshotsInstalled += 1
        monitor.snapshotInstalled(index: snapshot.index, digest: nodes[position].stateMachine.combinedDigest,
                                  by: nodes[position].id, at: now)
    }

    /// Snapshots are the simulator's own bytes: one that does not load is a bug, not an input.
    static func load(_ snapshot: Snapshot, node: NodeID) -> CoordinationStateMachine {
        do {
            return try CoordinationStateMachine(restoring: snapshot.data)
        } catch {
            preconditionFailure("node \(node): snapshot at \(snapshot.index) does not load: \(error)")
        }
    }

    /// Every `snapshotEveryEntries` applied entries, snapshot the state machine and compact the
    /// log, keeping `compactionKeepEntries` entries for followers that are only a little behind.
    private func takeSnapshotIfDue(at position: Int) {
        guard config.snapshotEveryEntries > 0, let raft = nodes[position].raft else { return }
        let storage = nodes[position].storage
        let applied = nodes[position].stateMachine.appliedIndex
        do throws(StorageError) {
            guard applied >= (try storage.snapshot().index) + config.snapshotEveryEntries else { return }
            let membership = raft.confState
            try storage.createSnapshot(index: applied, voters: membership.voters, learners: membership.learners,
                                       data: nodes[position].stateMachine.snapshotData())
            if applied > config.compactionKeepEntries {
                try storage.compact(through: applied - config.compactionKeepEntries)
            }
            statistics.snapshotsTaken += 1
        } catch .io(let reason) {
            stop(nodes[position].id, reason: "storage: snapshot at \(applied): \(reason)")
        } catch {
            preconditionFailure("node \(nodes[position].id): snapshot at \(applied) failed: \(error)")
        }
    }

    private func softStateChanged(_ soft: SoftState, at position: Int) {
        nodes[position].quorumClock.resetLeadership()
        guard soft.role == .leader, let raft = nodes[position].raft else { return }
        statistics.leaderChanges += 1
        trace.record(now, "leader \(raft.id) term \(raft.term)", hash: raft.id &+ raft.term << 8)
        monitor.leaderElected(raft.id, term: raft.term, log: raft, at: now)
    }

    private func apply(_ entry: Entry, at position: Int, node: NodeID) {
        guard entry.kind == .normal else {
            nodes[position].stateMachine.skip(index: entry.index)
            monitor.entryApplied(entry, by: node, digest: nodes[position].stateMachine.combinedDigest, at: now)
            if config.recordApplied { nodes[position].appliedEntries.append(entry) }
            if let membership = MembershipEntry(decoding: entry.data) {
                trace.record(now, "node \(node) applied \(membership.change)", hash: entry.index)
            }
            return
        }
        let (kvApplied, coordinationApplied) = nodes[position].stateMachine.apply(index: entry.index, data: entry.data)
        noteClusterTime(at: position)
        monitor.entryApplied(entry, by: node, digest: nodes[position].stateMachine.combinedDigest, at: now)
        if config.recordApplied { nodes[position].appliedEntries.append(entry) }
        if let applied = kvApplied, nodes[position].waiting.remove(RequestKey(client: applied.client, sequence: applied.sequence)) != nil {
            queue.push(.reply(node, applied), at: now + replyLatency())
        }
        guard let applied = coordinationApplied else { return }
        schedulerApplied(applied, at: position)
        let key = RequestKey(client: applied.client, sequence: applied.sequence)
        if nodes[position].waiting.remove(key) != nil {
            queue.push(.coordinationReply(node, applied.client, applied.sequence, applied.result), at: now + replyLatency())
            if case .acquire(.queued) = applied.result { nodes[position].waitingGrants.insert(key) }
        }
        // A queued acquire is answered again, from the node that took it, when it is granted or
        // its wait ends.
        for event in applied.events {
            let request: RequestID
            let answer: CoordinationResult
            switch event {
            case .granted(_, _, let waiter, let token):
                (request, answer) = (waiter, .acquire(.granted(token: token, holdCount: 1)))
            case .waitEnded(let lock, _, let waiter, let reason):
                (request, answer) = (waiter, .refused(.invalidRequest("wait for '\(lock)' ended: \(reason.rawValue)")))
            case .lost(_, let session, _, _), .revokeRequested(_, let session, _):
                if nodes[position].sessionsHere.contains(session) {
                    queue.push(.lockEvent(node, event), at: now + replyLatency())
                }
                continue
            }
            guard nodes[position].waitingGrants.remove(RequestKey(client: request.client, sequence: request.sequence)) != nil else { continue }
            queue.push(.coordinationReply(node, request.client, request.sequence, answer), at: now + replyLatency())
        }
    }

    private func replyLatency() -> UInt64 {
        let spread = config.latencyMaxNanos - config.latencyMinNanos
        return config.latencyMinNanos + (spread > 0 ? random.next() % (spread + 1) : 0)
    }

    private func send(_ message: Message) {
        statistics.messagesSent += 1
        guard network.canReach(from: message.from, to: message.to, at: now) else {
            statistics.messagesDropped += 1
            return
        }
        let times = network.deliveryTimes(from: message.from, to: message.to, at: now, using: &random)
        if times.isEmpty { statistics.messagesDropped += 1 }
        for time in times { queue.push(.deliver(message), at: time) }
    }

    private func resume(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health == .paused,
              nodes[position].pausedUntil <= now else { return }
        nodes[position].health = .up
        let nextTick = catchUpTicks(at: position)
        let backlog = nodes[position].backlog
        nodes[position].backlog.removeAll()
        for pending in backlog {
            switch pending {
            case .message(let message):
                stepMessage(message, at: position)
            case .submit(let request):
                startRequest(request, at: position)
            case .submitCoordination(let request):
                _ = try? nodes[position].raft?.propose(request.encoded())
            }
            drainReady(position)
        }
        scheduleTick(node, at: nextTick)
    }

    /// A process that wakes from a pause sees its timers overdue before it reads what queued up:
    /// Raft gets the ticks it missed first, exactly as many as fell due, so a leader's lease
    /// cannot outlive the time that passed (too few ticks) nor a voter's promise end early (too
    /// many). At most two election timeouts' worth are replayed — enough to end any lease and run
    /// a CheckQuorum round. Cluster-time and scheduler ticks are not replayed. Returns when the
    /// next tick is due.
    private func catchUpTicks(at position: Int) -> UInt64 {
        let interval = tickInterval(nodes[position].id)
        var due = nodes[position].nextTickAt
        var replayed = 0
        while due <= now && replayed < 2 * config.electionTimeoutTicks {
            nodes[position].raft?.tick()
            due += interval
            replayed += 1
        }
        drainReady(position)
        return due > now ? due : now + interval
    }

    // MARK: - Clients

    /// A client sends `request` to `node`. The node answers (an `Output.reply`) once it applies the
    /// request, if it ever does; the client decides how long to wait.
    public func submit(_ request: KVRequest, to node: NodeID) -> Submission {
        accept(RequestKey(client: request.client, sequence: request.sequence), at: node, queued: .submit(request)) { position in
            startRequest(request, at: position)
        }
    }

    /// A client sends a coordination request (session, lock, counter, fenced write) to `node`;
    /// answered like `submit`. A queued acquire is answered when granted.
    public func submit(_ request: CoordinationRequest, to node: NodeID) -> Submission {
        var request = request
        if nodeIDs.contains(node), case .task(.schedule(let spec)) = request.command {
            switch resolveFirstFiring(of: spec, at: index(of: node)) {
            case .success(let resolved): request.command = .task(.schedule(resolved))
            case .failure(let refusal): return .refused(refusal.reason)
            }
        }
        request = stampedForThrottle(request, at: node)
        switch request.command {
        case .openSession, .keepAlive:
            for position in nodes.indices { nodes[position].sessionsHere.remove(request.client) }
            if nodeIDs.contains(node) { nodes[index(of: node)].sessionsHere.insert(request.client) }
        default:
            break
        }
        return accept(RequestKey(client: request.client, sequence: request.sequence), at: node, queued: .submitCoordination(request)) { position in
            do throws(RaftError) {
                try nodes[position].raft?.propose(request.encoded())
                return nil
            } catch {
                return error.description
            }
        }
    }

    /// What every request meets at a node: refused if the node is down; queued if it is paused;
    /// otherwise started by `start`, which returns why it was refused, if it was.
    private func accept(_ key: RequestKey, at node: NodeID, queued: SimulatedNode.Pending,
                        start: (Int) -> String?) -> Submission {
        guard nodeIDs.contains(node) else { return .refused("no node \(node)") }
        let position = index(of: node)
        switch nodes[position].health {
        case .crashed:
            return .refused("node \(node) is down")
        case .paused:
            guard nodes[position].backlog.count < config.backlogMax else { return .refused("node \(node) is overloaded") }
            nodes[position].waiting.insert(key)
            nodes[position].backlog.append(queued)
            return .accepted
        case .up:
            nodes[position].waiting.insert(key)
            if let reason = start(position) {
                nodes[position].waiting.remove(key)
                return .refused(reason)
            }
            drainReady(position)
            return .accepted
        }
    }

    /// Starts a request on the node: a get through ReadIndex (unless `readsThroughLog`),
    /// anything else as a proposal. Returns why not, if refused.
    @discardableResult
    private func startRequest(_ request: KVRequest, at position: Int) -> String? {
        do {
            if case .get = request.command, !config.readsThroughLog {
                guard nodes[position].pendingReads.count < config.backlogMax else { return "too many reads pending" }
                nextReadContext += 1
                nodes[position].pendingReads[nextReadContext] = PendingRead(request: request, since: now)
                try nodes[position].raft?.readIndex(context: nextReadContext)
            } else {
                try nodes[position].raft?.propose(request.encoded())
            }
            return nil
        } catch {
            nodes[position].pendingReads[nextReadContext] = nil
            return error.description
        }
    }

    /// The leader confirmed a read's index: it is served once this node has applied that far.
    private func readConfirmed(_ readState: ReadState, at position: Int) {
        guard let pending = nodes[position].pendingReads.removeValue(forKey: readState.context) else { return }
        nodes[position].readsAtIndex.append((readState.index, pending.request))
    }

    private func serveReads(at position: Int) {
        guard !nodes[position].readsAtIndex.isEmpty else { return }
        let applied = nodes[position].stateMachine.appliedIndex
        var waiting: [(LogIndex, KVRequest)] = []
        for (index, request) in nodes[position].readsAtIndex {
            guard index <= applied, case .get(let key) = request.command else {
                waiting.append((index, request))
                continue
            }
            let answer = KVStateMachine.Applied(client: request.client, sequence: request.sequence,
                                                result: .value(nodes[position].stateMachine.kv.read(key)))
            if nodes[position].waiting.remove(RequestKey(client: request.client, sequence: request.sequence)) != nil {
                queue.push(.reply(nodes[position].id, answer), at: now + replyLatency())
            }
        }
        nodes[position].readsAtIndex = waiting
    }

    /// Proposes raw data on a node (tests of the consensus layer). False if the node refused.
    @discardableResult
    public func propose(_ data: [UInt8], at node: NodeID) -> Bool {
        let position = index(of: node)
        guard nodes[position].health == .up, nodes[position].raft != nil else { return false }
        do {
            try nodes[position].raft!.propose(data)
        } catch {
            return false
        }
        drainReady(position)
        return true
    }
}
