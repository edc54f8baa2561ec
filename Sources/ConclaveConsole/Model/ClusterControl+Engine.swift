/// What each engine offers: the Paxos engine is Multi-Paxos under KV clients, with no coordination
/// services, clocks or membership changes; the Raft engine has no proposer policy. Keys, the
/// palette and the engines themselves ask here, so the reason given is the same everywhere.
extension ClusterControl {
    /// Why this control cannot run on `engine`, or nil when it can.
    public func unavailability(on engine: ConsensusEngine) -> String? {
        if engine.isForeign { return unavailabilityOnExisting(engine) }
        switch (self, engine) {
        case (.engine, _):
            return "put and revoke act on an existing engine (conclave console --etcd URL or --redis URL); the embedded cluster's KV is written by its workload"
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

extension ClusterControl {
    /// On etcd: locks, leases, keys and leadership; on Redis: locks and keys. The members'
    /// processes, network and clocks are not the console's to fault there.
    func unavailabilityOnExisting(_ engine: ConsensusEngine) -> String? {
        switch (self, engine) {
        case (.lockAcquire, _), (.lockRelease, _), (.engine(.put), _), (.transfer, .etcd), (.engine(.revokeLease), .etcd):
            return nil
        case (.engine(.revokeLease), _):
            return "Redis has no leases: a lock key lapses by its PTTL (lock release deletes it, owner-checked)"
        case (.transfer, _):
            return "Redis instances have no elected leader to move (Redlock's are independent; a replica is promoted with REPLICAOF or FAILOVER)"
        case (.lockWrite, _), (.expireSession, _):
            return "fenced writes and console sessions belong to the embedded cluster; on \(engine.rawValue) take and release locks (lock acquire|release NAME)"
        case (.time, _):
            return "\(engine.rawValue) runs on real time: there is nothing to pause or step"
        case (.workload, _), (.paxos, _):
            return "the demo workload and Paxos knobs drive the embedded cluster, not \(engine.rawValue)"
        case (.breaker, _):
            return "no breakers on \(engine.rawValue): the console polls each endpoint and backs off on its own"
        default:
            return "\(engine.rawValue)'s processes, network and clocks are not the console's to fault: "
                + (engine == .etcd ? "it can take/release locks, revoke leases, put keys and move the leader"
                                   : "it can take/release locks and put keys")
        }
    }
}

extension ViewID {
    /// Why this view shows nothing on `engine`, or nil when it can be shown.
    public func unavailability(on engine: ConsensusEngine) -> String? {
        if engine.isForeign { return unavailabilityOnExisting(engine) }
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
        case .etcd, .redis: return engine == .etcd ? "Members" : "Instances"
        }
    }
}

extension ViewID {
    /// What an existing engine has nothing for, and why: Conclave's own services are not there.
    func unavailabilityOnExisting(_ engine: ConsensusEngine) -> String? {
        let name = engine.rawValue
        switch self {
        case .cluster, .locks, .local: return nil
        case .kv: return engine == .etcd ? nil
            : "KV/Config watches an etcd prefix; Redis has no ordered watch here (keyspace notifications are off by default) — put works from the palette"
        case .scheduler: return "Scheduler shows Conclave's delay-task table and timer heaps; \(name) has no scheduler to show"
        case .ids: return "IDs shows Conclave's Snowflake workers; \(name) has no ID generators to show"
        case .limits: return "Limits shows Conclave's replicated throttles; \(name) has none to show"
        case .breakers: return "Breakers shows Conclave's breakers; on \(name) the console backs off per endpoint instead (see the event log)"
        case .balancer: return "Balancer is a console-local teaching model on the embedded workload; \(name) has no balancer to show"
        }
    }
}
