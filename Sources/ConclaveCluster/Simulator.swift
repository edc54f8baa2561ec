import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// N nodes on one thread, a virtual clock and a simulated network that drops, delays, duplicates,
/// reorders, clogs and partitions; nodes can crash (losing memory, keeping disk), restart, pause
/// and run on skewed clocks. Every decision comes from one seeded generator, so a run replays
/// exactly from its seed.
///
/// Each node is a `NodeCore` — the same loop a daemon runs — on a `MemoryStorage` disk. The
/// simulator is its world: it calls the core's inputs (ticks on the node's skewed clock, messages
/// as the network delivers them, client requests, the timers the core asked for) and performs the
/// core's outputs (messages into the network, answers to clients after a latency, observations
/// into the invariant monitor and the trace). It owns nothing of a node's consensus or state.
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
    /// Messages that reached each link's far end (delivered, or dropped there by a crash or held
    /// by a pause), by `from << 32 | to`: what the console turns into per-link rates.
    public private(set) var linkArrivals: [UInt64: Int] = [:]
    var nodes: [SimulatedNode]
    var network: SimulatedNetwork
    var queue = EventQueue<Event>()
    var random: SeededGenerator
    /// ReadIndex rounds are numbered across the cluster (`NodeCore.submit(_:readNumbers:at:)`).
    var nextReadContext: UInt64 = 0
    /// Every callback call a target received, oldest first (bounded by `scheduler.deliveriesKept`).
    public internal(set) var callbackDeliveries: [CallbackDelivery] = []
    public internal(set) var callbackDeliveriesTotal = 0
    /// The targets every node's delay-task callbacks call, with their own seeded stream.
    let callbackTargets: SimulatedCallbackTargets
    /// Every node ever created, in ID order (nodes join with `addNode`; none is ever deleted).
    public internal(set) var nodeIDs: [NodeID]

    public init(config: SimulationConfig) throws(SimulationError) {
        try config.validate()
        self.config = config
        self.monitor = InvariantMonitor(windowEntries: config.monitorWindowEntries)
        let initial = (1...config.nodes).map { NodeID($0) }
        self.nodeIDs = initial
        self.nodes = initial.map { SimulatedNode(id: $0, voters: initial) }
        self.network = SimulatedNetwork(latencyMinNanos: config.latencyMinNanos, latencyMaxNanos: config.latencyMaxNanos)
        self.random = SeededGenerator(seed: config.seed, stream: 0)
        self.callbackTargets = SimulatedCallbackTargets(settings: config.scheduler,
                                                        random: SeededGenerator(seed: config.seed, stream: 0xCA11))
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
            linkArrivals[message.from << 32 | message.to, default: 0] += 1
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

    /// How long an answer takes to reach its client.
    func replyLatency() -> UInt64 {
        let spread = config.latencyMaxNanos - config.latencyMinNanos
        return config.latencyMinNanos + (spread > 0 ? random.next() % (spread + 1) : 0)
    }

    /// A message leaves a node: the network delivers it (maybe late, twice, or never) or drops it.
    func send(_ message: Message) {
        statistics.messagesSent += 1
        guard network.canReach(from: message.from, to: message.to, at: now) else {
            statistics.messagesDropped += 1
            return
        }
        let times = network.deliveryTimes(from: message.from, to: message.to, at: now, using: &random)
        if times.isEmpty { statistics.messagesDropped += 1 }
        for time in times { queue.push(.deliver(message), at: time) }
    }
}
