import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// One node's loop — consensus, replicated state machine, cluster time, the delay-task scheduler
/// and the requests of the clients it serves — as one value that both the simulator and the daemon
/// drive, so that what the chaos tests prove is what the daemon runs (after FoundationDB and
/// TigerBeetle, which test their production code in simulation).
///
/// The world comes in through three seams and nothing else:
/// - storage: `WritableLogStorage`, written after each Raft `Ready` and read by Raft (memory in the
///   simulator, the WAL in the daemon); it outlives the core — a crash drops the core, a restart
///   builds a new one from the storage;
/// - time: every input carries a `NodeTime`; the core reads no clock;
/// - transport and clients: the core sends nothing; each input leaves `NodeOutput`s (messages to
///   send, already stamped, answers to clients, timers to arm, observations), which the driver
///   takes with `takeOutputs()` and performs in order.
/// Randomness is the seeded generator given at start (election timeouts); callback targets are
/// the `CallbackTargets` given at start.
///
/// Inputs: `tick(at:)` every `config.tickNanos` of the node's clock, `receive(_:at:)` for each
/// message from a peer, the client submissions (`NodeCore+Clients`), the timers the outputs
/// asked for (`callbackPoolDue(at:)`, `retryCallback(task:at:)`), and — when it writes in the
/// background (`NodeConfig.asyncStorageWrites`) — the completions of its writes
/// (`persisted(_:at:)`, NodeCore+Writes). Each one runs to completion:
/// Raft is stepped, every `Ready` is drained (persist, then stamp and hand out messages, apply,
/// serve reads, advance, snapshot when due). Once a storage error stops the node
/// (`NodeOutput.stopped`) every input is ignored.
///
/// Not thread-safe: one thread (the simulator's, or the daemon's event loop) drives it.
public struct NodeCore {
    /// A get waiting for its ReadIndex confirmation.
    struct PendingRead {
        var request: KVRequest
        /// `NodeTime.timerNanos` when it was started.
        var since: UInt64
    }

    public let config: NodeConfig
    let storage: any WritableLogStorage
    /// The same storage, when the node writes in the background (`config.asyncStorageWrites`).
    let asyncStorage: (any AsyncWritableLogStorage)?
    /// With `config.asyncStorageWrites`: called on the storage's thread as each write completes.
    /// The driver must hop to the node's thread and call `persisted(_:at:)` there (never from
    /// inside this call: the node may be in the middle of an input).
    public var writeCompleted: (@Sendable (WriteCompletion) -> Void)?
    /// Background writes not yet taken back in, oldest first (NodeCore+Writes).
    var pendingWrites: [PendingWrite] = []
    var nextWriteNumber: UInt64 = 1
    /// The hard state most recently handed to the storage (NodeCore+Writes): a Ready whose hard
    /// state differs from it only in the commit index needs no sync.
    var savedHardState: HardState
    let callbackTargets: any CallbackTargets
    public internal(set) var raft: Raft
    /// The replicated state: KV, cluster time, sessions, locks, counters, tasks, throttles.
    public internal(set) var stateMachine: CoordinationStateMachine
    /// Cluster time agreed by a quorum of clocks: the rounds this node opened as leader and the
    /// readings voters sent back, or the rounds it heard from leaders.
    var quorumClock = QuorumClock()
    /// Cluster time as this node last saw it move (for stamping throttle takes).
    public internal(set) var clusterTime: ClusterTimeEstimate
    /// The delay-task scheduler's memory on this node (timer heap, callbacks in hand).
    var scheduler: NodeScheduler
    /// Requests this node accepted from clients and answers when it applies them.
    var waiting: Set<RequestKey> = []
    /// Queued acquires this node answered with "queued" and answers again when granted.
    var waitingGrants: Set<RequestKey> = []
    /// Gets waiting for their ReadIndex confirmation, by context.
    var pendingReads: [UInt64: PendingRead] = [:]
    /// Gets confirmed at an index, waiting for the state machine to get there.
    var readsAtIndex: [(LogIndex, KVRequest)] = []
    /// Proposals and reads sent for clients, kept to send again while unanswered (NodeCore+Resend).
    var resends = Resends()
    /// Ticks taken since the node started (the clock of resends).
    var ticks: UInt64 = 0
    /// The index of the newest snapshot in storage (its own or its leader's), kept here because
    /// reading it from storage can mean reading the snapshot file back (the WAL's storage does).
    var snapshotIndex: LogIndex = 0
    /// The size of the last snapshot taken, and the entry bytes applied since (`snapshotLogRatio`).
    var lastSnapshotBytes: UInt64 = 0
    var appliedBytesSinceSnapshot: UInt64 = 0
    /// The index of the snapshot being written off the node's thread (`snapshotsInBackground`).
    var snapshotInFlight: LogIndex?
    /// Why the node stopped itself (an I/O error); nil while it runs.
    public internal(set) var stopReason: String?
    /// The time of the input being handled (the clocks as it arrived).
    var time = NodeTime(clockNanos: 0, wallMillis: 0, timerNanos: 0)
    var outputs: [NodeOutput] = []
    /// False: each input only steps Raft and leaves its `Ready` for `flush(at:)`, so that a daemon
    /// can take every input of one event-loop turn (many clients' commands, a peer's batch of
    /// messages) and persist them with one sync and send them in one batch per peer. True (the
    /// simulator): every input drains its own `Ready` before it returns.
    public var drainsEachInput = true

    /// Starts a node from whatever `storage` holds: the state machine from its snapshot, Raft
    /// from its hard state and log (committed entries are applied again as Raft hands them out).
    /// `clusterTime` is what an earlier life of the node knew of cluster time, if the driver kept
    /// it (the simulator does; a new process starts without).
    public init(config: NodeConfig, storage: any WritableLogStorage, random: SeededGenerator,
                callbackTargets: any CallbackTargets, clusterTime: ClusterTimeEstimate = ClusterTimeEstimate()) throws(NodeCoreError) {
        var raftConfig = config.raft
        raftConfig.asyncStorageWrites = config.asyncStorageWrites
        asyncStorage = config.asyncStorageWrites ? storage as? any AsyncWritableLogStorage : nil
        if config.asyncStorageWrites && asyncStorage == nil {
            throw .invalidConfiguration("asyncStorageWrites needs a storage that writes in the background (AsyncWritableLogStorage)")
        }
        guard config.writesInFlightMax > 0 else { throw .invalidConfiguration("writesInFlightMax must be > 0, got \(config.writesInFlightMax)") }
        let snapshot: Snapshot
        do {
            snapshot = try storage.snapshot()
        } catch {
            throw .storage("cannot read its snapshot to start: \(error)")
        }
        var stateMachine = CoordinationStateMachine()
        if !snapshot.isEmpty {
            stateMachine = try Self.load(snapshot)
            raftConfig.applied = snapshot.index
        }
        do {
            raft = try Raft(config: raftConfig, storage: storage, random: random)
        } catch {
            throw .invalidConfiguration(error.description)
        }
        self.config = config
        self.storage = storage
        savedHardState = storage.initialState().0
        self.callbackTargets = callbackTargets
        self.stateMachine = stateMachine
        self.snapshotIndex = snapshot.index
        self.clusterTime = clusterTime
        scheduler = NodeScheduler(node: config.id, settings: config.scheduler)
        resyncScheduler()
    }

    public var id: NodeID { config.id }

    /// False once the node stopped itself; it then ignores every input.
    public var isRunning: Bool { stopReason == nil }

    /// What the inputs so far asked of the world, oldest first; the core forgets them.
    public mutating func takeOutputs() -> [NodeOutput] {
        defer { outputs.removeAll(keepingCapacity: true) }
        return outputs
    }

    // MARK: - Inputs

    /// One tick of the node's clock: Raft's timers, cluster time (as leader), the scheduler's due
    /// claims and reports; reads whose confirmation never came are forgotten.
    public mutating func tick(at time: NodeTime) {
        guard begin(at: time) else { return }
        if !pendingReads.isEmpty {
            pendingReads = pendingReads.filter { time.timerNanos - $0.value.since < config.pendingReadTimeoutNanos }
        }
        raft.tick()
        ticks += 1
        resendDue()
        proposeElapsedIfDue()
        schedulerTick()
        inputHandled()
    }

    /// A process that stalled (paused, descheduled) wakes with its timers overdue: Raft gets the
    /// `ticks` it missed before anything else, so a leader's lease cannot outlive the time that
    /// passed nor a voter's promise end early. Cluster time and the scheduler are not ticked.
    public mutating func catchUp(ticks: Int, at time: NodeTime) {
        guard begin(at: time) else { return }
        for _ in 0..<max(0, ticks) { raft.tick() }
        inputHandled()
    }

    /// A message from a peer: its clock stamp is noted, Raft steps it.
    public mutating func receive(_ message: Message, at time: NodeTime) {
        guard begin(at: time) else { return }
        noteClockStamp(of: message)
        raft.step(message)
        inputHandled()
    }

    /// Drains what the inputs since the last drain left (persist, send, apply); the driver of a
    /// core that does not drain each input (`drainsEachInput` false) calls it once per batch.
    public mutating func flush(at time: NodeTime) {
        guard begin(at: time) else { return }
        drainReady()
    }

    /// The end of an input: drains its `Ready` now, or leaves it for `flush(at:)`.
    mutating func inputHandled() {
        if drainsEachInput { drainReady() }
    }

    /// Notes the time of an input; false when the node has stopped.
    mutating func begin(at time: NodeTime) -> Bool {
        guard isRunning else { return false }
        self.time = time
        return true
    }

    /// Stops the node: an I/O error is never guessed around. The driver drops it and restarts it
    /// from its storage.
    mutating func stop(reason: String) {
        guard isRunning else { return }
        stopReason = reason
        outputs.append(.stopped(reason: reason))
    }
}
