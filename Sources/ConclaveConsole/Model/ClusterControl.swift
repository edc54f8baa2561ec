/// What an operator can do to the cluster, as data. The palette and the keymap produce these; the
/// embedded simulator (and, later, the remote client) carry them out.
public enum ClusterControl: Equatable, Sendable {
    case kill(NodeRef)
    case restart(NodeRef)
    case restartAll
    /// Groups of nodes; nodes not named form one more group.
    case partition([[NodeRef]])
    case heal
    case isolate(NodeRef)
    case drop(percent: Int)
    case delay(millis: UInt64)
    case duplicate(percent: Int)
    case pause(NodeRef, millis: UInt64)
    case skew(NodeRef, millis: Int64)
    case transfer(to: NodeRef)
    case addNode
    case removeNode(NodeRef)
    case lockAcquire(name: String, client: Int, ttlMillis: UInt64?)
    case lockRelease(name: String, client: Int)
    /// A fenced write of `key` by a console client with the token it was last granted on `name`.
    case lockWrite(name: String, key: String, value: String, client: Int)
    case expireSession(client: Int)
    case workload(WorkloadKnob, Int)
    case time(TimeControl)
    case breaker(name: String, BreakerAction)
    /// Paxos only: a distinguished proposer (`leader`) or duelling ones, randomized backoff on or off.
    case paxos(PaxosKnob, Bool)
    /// An existing engine only (`--etcd`, `--redis`): put a key, revoke a lease.
    case engine(EngineAction)

    /// Changes the cluster (refused in read-only mode; confirmed when the cluster is remote).
    public var isDangerous: Bool {
        switch self {
        case .time, .workload, .paxos: return false
        default: return true
        }
    }
}

/// A node as an operator names it: a number, or whoever leads now.
public enum NodeRef: Equatable, Sendable, CustomStringConvertible {
    case id(UInt64)
    case leader
    public var description: String {
        switch self {
        case .id(let id): return "\(id)"
        case .leader: return "leader"
        }
    }
}

public enum WorkloadKnob: String, CaseIterable, Sendable {
    case clients, rate, contention, locks
    /// Percent of lock clients that spin on try-lock instead of queueing fairly.
    case spin
}

public enum TimeControl: Equatable, Sendable {
    case pause, resume, toggle
    /// Run one event (a message delivered, a timer fired) and show it.
    case step
    case speed(Double)
    case faster, slower
    public static let speedRange = 0.01...100.0
}

/// What the console does on an existing engine beyond locks and leadership.
public enum EngineAction: Equatable, Sendable {
    case put(key: String, value: String)
    /// An etcd lease by its ID in hex, as etcdctl and the console show it.
    case revokeLease(String)
}

public enum BreakerAction: String, Equatable, Sendable, CaseIterable {
    case open, disable, reset
}

public enum PaxosKnob: String, CaseIterable, Sendable {
    /// A distinguished proposer (Multi-Paxos's leader) against proposers that duel.
    case leader
    /// Randomized backoff after a preemption.
    case backoff
}
