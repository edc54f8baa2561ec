import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// One node of the simulated cluster: consensus + state machine + storage, and its fault state.
///
/// `storage` is the node's disk and survives a crash; `raft` and `stateMachine` are its memory and
/// do not. A restart rebuilds both from storage (replaying the committed log).
struct SimulatedNode {
    enum Health: String, Sendable { case up, crashed, paused }

    /// Work that reached a paused node, done in order when it resumes.
    enum Pending {
        case message(Message)
        case submit(KVRequest)
        case submitCoordination(CoordinationRequest)
    }

    let id: NodeID
    let storage: MemoryStorage
    var raft: Raft?
    var stateMachine = CoordinationStateMachine()
    /// Cluster time agreed by a quorum of clocks: the rounds this node opened as leader and the
    /// readings voters sent back, or the rounds it heard from leaders (memory: lost in a crash).
    var quorumClock = QuorumClock()
    var health: Health = .up
    /// Why the node stopped itself (an I/O error), until it is restarted; nil after a plain crash.
    var stopReason: String?
    /// Bumped on crash and restart: timers of an earlier life are ignored.
    var incarnation = 0
    var pausedUntil: UInt64 = 0
    /// When the node's next tick is due; a paused node's overdue ticks are caught up on resume.
    var nextTickAt: UInt64 = 0
    var backlog: [Pending] = []
    /// Requests this node accepted from clients and answers when it applies them: (client, sequence).
    var waiting: Set<RequestKey> = []
    /// Sessions whose client last opened or kept them alive through this node: it tells them of
    /// lost holds and revocation requests.
    var sessionsHere: Set<UInt64> = []
    /// Queued acquires this node answered with "queued" and answers again when granted.
    var waitingGrants: Set<RequestKey> = []
    var clockOffsetMillis: Int64 = 0
    var clockRatePermille: UInt64 = 1000
    /// The node's wall clock, as (true time, local time) at the last rate change: local time runs
    /// at `clockRatePermille` from there, plus `clockOffsetMillis` (a jump, backward if negative).
    var clockAnchor: (trueNanos: UInt64, localNanos: UInt64) = (0, 0)
    /// Cluster time as this node last saw it move, for stamping throttle takes (Simulator+Throttles).
    var clusterClock = Simulator.ClusterClockEstimate()
    /// What the node applied, in order, kept only when the simulator records applied entries.
    var appliedEntries: [Entry] = []
    /// Gets waiting for their ReadIndex confirmation, by context.
    var pendingReads: [UInt64: PendingRead] = [:]
    /// Gets confirmed at an index, waiting for the state machine to get there.
    var readsAtIndex: [(LogIndex, KVRequest)] = []
    /// The delay-task scheduler's memory on this node (timer heap, callbacks in hand).
    var scheduler: NodeScheduler

    init(id: NodeID, voters: [NodeID], scheduler settings: SchedulerSettings) {
        self.id = id
        self.storage = MemoryStorage(voters: voters)
        self.scheduler = NodeScheduler(node: id, settings: settings)
    }
}

/// A client request's identity.
struct RequestKey: Hashable {
    var client: UInt64
    var sequence: UInt64
}

struct PendingRead {
    var request: KVRequest
    var since: UInt64
}
