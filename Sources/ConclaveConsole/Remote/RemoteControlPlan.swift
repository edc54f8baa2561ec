import ConclaveWire

/// What a `ClusterControl` means on real nodes: ADMIN.* commands to send (to whom), or a process
/// to kill. Made from the newest reports (who leads, which address is which node, each node's pid)
/// so that it is pure and tested without sockets; a control that real nodes cannot carry out is
/// refused here with the reason.
struct RemoteControlPlan: Equatable {
    enum Step: Equatable {
        /// Send `arguments` to the node at `addresses[index]`.
        case command(index: Int, arguments: [String])
        /// SIGKILL the node's process (it runs on this machine).
        case kill(pid: Int32, node: UInt64)
    }

    var summary: String
    var steps: [Step]

    static func make(_ control: ClusterControl, cluster: RemoteSnapshotBuilder) throws(ControlError) -> RemoteControlPlan {
        let known = cluster.knownNodes
        func node(_ ref: NodeRef) throws(ControlError) -> (id: UInt64, index: Int) {
            switch ref {
            case .leader:
                guard let leader = cluster.leader, let index = known[leader] else { throw ControlError("no leader is known right now") }
                return (leader, index)
            case .id(let id):
                guard let index = known[id] else {
                    let ids = known.keys.sorted().map(String.init).joined(separator: ", ")
                    throw ControlError("node \(id) is not one the console has heard from (known: \(ids.isEmpty ? "none yet" : ids))")
                }
                return (id, index)
            }
        }
        func everyNode(_ arguments: [String]) -> [Step] {
            known.values.sorted().map { .command(index: $0, arguments: arguments) }
        }
        switch control {
        case .kill(let ref):
            let target = try node(ref)
            guard cluster.isLocal(target.index) else {
                throw ControlError("node \(target.id) is at \(cluster.addresses[target.index]), not on this machine: stop its process there")
            }
            guard let pid = cluster.pid(of: target.index), pid > 0 else { throw ControlError("node \(target.id) has not said its pid yet") }
            return RemoteControlPlan(summary: "kill node \(target.id)", steps: [.kill(pid: pid, node: target.id)])
        case .partition(let groups):
            var steps: [Step] = []
            var named: [[UInt64]] = []
            for group in groups {
                var ids: [UInt64] = []
                for ref in group { ids.append(try node(ref).id) }
                named.append(ids)
            }
            let rest = Set(known.keys).subtracting(named.joined())
            if !rest.isEmpty { named.append(rest.sorted()) }
            for group in named {
                let outside = known.keys.filter { !group.contains($0) }.sorted()
                guard !outside.isEmpty else { continue }
                for id in group { steps.append(.command(index: known[id]!, arguments: ["ADMIN.PARTITION"] + outside.map(String.init))) }
            }
            let text = named.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | ")
            return RemoteControlPlan(summary: "partition \(text)", steps: steps)
        case .isolate(let ref):
            let target = try node(ref)
            let others = known.keys.filter { $0 != target.id }.sorted()
            return RemoteControlPlan(summary: "isolate node \(target.id)",
                                     steps: [.command(index: target.index, arguments: ["ADMIN.PARTITION"] + others.map(String.init))])
        case .heal:
            return RemoteControlPlan(summary: "heal every link", steps: everyNode(["ADMIN.HEAL"]))
        case .drop(let percent):
            return RemoteControlPlan(summary: "drop \(percent)% of peer messages", steps: everyNode(["ADMIN.DROP", "\(percent)"]))
        case .delay(let millis):
            return RemoteControlPlan(summary: "delay peer messages \(millis) ms", steps: everyNode(["ADMIN.DELAY", "\(millis)"]))
        case .pause(let ref, let millis):
            let target = try node(ref)
            let seconds = (millis + 999) / 1_000
            return RemoteControlPlan(summary: "pause node \(target.id) for \(seconds) s",
                                     steps: [.command(index: target.index, arguments: ["ADMIN.PAUSE", "\(seconds)"])])
        case .skew(let ref, let millis):
            let target = try node(ref)
            return RemoteControlPlan(summary: "skew node \(target.id)'s clock by \(millis) ms",
                                     steps: [.command(index: target.index, arguments: ["ADMIN.SKEW", "\(millis)"])])
        case .transfer(let ref):
            let target = try node(ref)
            let leader = try node(.leader)
            return RemoteControlPlan(summary: "transfer leadership to node \(target.id)",
                                     steps: [.command(index: leader.index, arguments: ["ADMIN.TRANSFER-LEADER", "\(target.id)"])])
        case .removeNode(let ref):
            let target = try node(ref)
            let leader = try node(.leader)
            return RemoteControlPlan(summary: "remove node \(target.id)",
                                     steps: [.command(index: leader.index, arguments: ["ADMIN.REMOVE-MEMBER", "\(target.id)"])])
        case .restart, .restartAll, .addNode:
            throw ControlError("a remote node's process is not the console's to start: run it again (scripts/cluster up starts the missing ones)")
        case .duplicate:
            throw ControlError("real nodes have no duplicate rule (ADMIN.DROP and ADMIN.DELAY are theirs)")
        case .lockAcquire, .lockRelease, .lockWrite, .expireSession:
            throw ControlError("console lock clients live in the embedded cluster; on real nodes use a client (redis-cli LOCK.ACQUIRE …)")
        case .workload:
            throw ControlError("the demo workload runs only in the embedded cluster")
        case .time:
            throw ControlError("real nodes run on real time; time controls are for the embedded cluster")
        case .breaker:
            throw ControlError("a breaker is the console's own (its routes to the nodes), operated where it lives, not on a node")
        case .engine:
            throw ControlError("put and revoke act on an existing engine (--etcd/--redis); on real nodes use a client (redis-cli SET …)")
        case .paxos:
            throw ControlError("real nodes run Raft; paxos leader|backoff is for the embedded Paxos engine (conclave console --engine paxos)")
        }
    }
}
