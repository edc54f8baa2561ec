/// What each engine offers: the Paxos engine is Multi-Paxos under KV clients, with no coordination
/// services, clocks or membership changes; the Raft engine has no proposer policy. Keys, the
/// palette and the engines themselves ask here, so the reason given is the same everywhere.
extension ClusterControl {
    /// Why this control cannot run on `engine`, or nil when it can.
    public func unavailability(on engine: ConsensusEngine) -> String? {
        switch (self, engine) {
        case (.paxos(let knob, _), .raft):
            return "paxos \(knob.rawValue) needs the Paxos engine (conclave console --engine paxos or both)"
        case (_, .raft), (_, .both):
            return nil
        case (.skew, .paxos):
            return "skew is Raft-only: Paxos nodes here have no clocks, only ticks (skew endangers Raft's leases)"
        case (.transfer, .paxos):
            return "transfer is Raft-only: the Paxos leader is whoever last completed phase 1 (kill or isolate it to move the role)"
        case (.addNode, .paxos), (.removeNode, .paxos):
            return "membership change is Raft-only: the Paxos core has a fixed set of acceptors"
        case (.lockAcquire, .paxos), (.lockRelease, .paxos), (.lockWrite, .paxos), (.expireSession, .paxos), (.breaker, .paxos):
            return "locks, sessions and breakers are Raft-only: the Paxos engine runs KV clients, no coordination services"
        case (.workload, .paxos):
            return "the workload knobs drive Raft's lock clients; the Paxos engine's KV clients are set at start"
        default:
            return nil
        }
    }
}

extension ViewID {
    /// Why this view shows nothing on `engine`, or nil when it can be shown.
    public func unavailability(on engine: ConsensusEngine) -> String? {
        guard engine == .paxos, self != .cluster, self != .local else { return nil }
        return "\(title) is Raft-only: the Paxos engine runs KV clients only, no locks, sessions, scheduler or services (try --engine both)"
    }

    /// The tab's title: view 1 is the Paxos view on Paxos, both side by side on both.
    public func title(on engine: ConsensusEngine) -> String {
        guard self == .cluster else { return title }
        switch engine {
        case .raft: return title
        case .paxos: return "Paxos"
        case .both: return "Raft|Paxos"
        }
    }
}
