import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// One node of the simulated cluster as the world holds it: its disk, its running `NodeCore`,
/// and what the simulator models around it (health, clock skew, paused backlog, the sessions
/// whose clients talk through it).
///
/// `storage` is the node's disk and survives a crash; `core` is its memory and does not. A crash
/// drops the core (observers still see what it held, `lastCore`, until the node restarts); a
/// restart builds a new one from storage (replaying the committed log).
struct SimulatedNode {
    typealias Health = SimulatedHealth

    /// Work that reached a paused node, done in order when it resumes.
    enum Pending {
        case message(Message)
        case submit(KVRequest)
        case submitCoordination(NodeCore.PreparedRequest)
    }

    let id: NodeID
    let storage: MemoryStorage
    /// The running node; nil while it is crashed.
    var core: NodeCore?
    /// The memory of the node's last life, as it was when it went down: shown to observers (and
    /// used to prepare requests sent to it) until the node restarts; never driven.
    var lastCore: NodeCore?
    var health: Health = .up
    /// Why the node stopped itself (an I/O error), until it is restarted; nil after a plain crash.
    var stopReason: String?
    /// Bumped on crash and restart: timers of an earlier life are ignored.
    var incarnation = 0
    var pausedUntil: UInt64 = 0
    /// When the node's next tick is due; a paused node's overdue ticks are caught up on resume.
    var nextTickAt: UInt64 = 0
    var backlog: [Pending] = []
    /// Sessions whose client last opened or kept them alive through this node: it tells them of
    /// lost holds and revocation requests.
    var sessionsHere: Set<UInt64> = []
    var clockOffsetMillis: Int64 = 0
    var clockRatePermille: UInt64 = 1000
    /// The node's clock, as (true time, local time) at the last rate change: local time runs at
    /// `clockRatePermille` from there, plus `clockOffsetMillis` for the wall clock (a jump,
    /// backward if negative).
    var clockAnchor: (trueNanos: UInt64, localNanos: UInt64) = (0, 0)
    /// What the node applied, in order, kept only when the simulator records applied entries.
    var appliedEntries: [Entry] = []

    init(id: NodeID, voters: [NodeID]) {
        self.id = id
        self.storage = MemoryStorage(voters: voters)
    }

    /// The node's memory as an observer sees it: the running core, or the last one while crashed.
    var memory: NodeCore? { core ?? lastCore }
}

/// A simulated node's state as its observers see it.
public enum SimulatedHealth: String, Sendable { case up, crashed, paused }
