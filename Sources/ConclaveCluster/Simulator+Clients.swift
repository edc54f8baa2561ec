import ConclaveCore
import ConclaveCoordination

/// Clients sending requests to nodes. A request meets the node's health first (down: refused;
/// paused: queued, and taken when it wakes), then its core.
extension Simulator {
    /// A client sends `request` to `node`. The node answers (an `Output.reply`) once it applies the
    /// request, if it ever does; the client decides how long to wait.
    public func submit(_ request: KVRequest, to node: NodeID) -> Submission {
        accept(at: node, client: request.client, sequence: request.sequence, queued: .submit(request)) { core, time in
            core.submit(request, readNumbers: &nextReadContext, at: time)
        }
    }

    /// A client sends a coordination request (session, lock, counter, fenced write) to `node`;
    /// answered like `submit`. A queued acquire is answered when granted.
    public func submit(_ request: CoordinationRequest, to node: NodeID) -> Submission {
        guard request.client != 0 else { return .refused(CoordinationError.reservedClient.description) }
        var prepared = NodeCore.PreparedRequest(request: request)
        // Prepared on arrival, by the node's memory even if it is down or paused.
        if nodeIDs.contains(node), let memory = nodes[index(of: node)].memory {
            switch memory.prepare(request, at: nodeTime(index(of: node))) {
            case .success(let ready): prepared = ready
            case .failure(let refusal): return .refused(refusal.reason)
            }
        }
        switch request.command {
        case .openSession, .keepAlive:
            for position in nodes.indices { nodes[position].sessionsHere.remove(request.client) }
            if nodeIDs.contains(node) { nodes[index(of: node)].sessionsHere.insert(request.client) }
        default:
            break
        }
        return accept(at: node, client: request.client, sequence: request.sequence,
                      queued: .submitCoordination(prepared)) { core, time in
            core.submit(prepared, at: time)
        }
    }

    /// What every request meets at a node: refused if the node is down; queued if it is paused
    /// (the node owes an answer from then on); otherwise given to the core by `submit`, which
    /// returns why it was refused, if it was.
    private func accept(at node: NodeID, client: UInt64, sequence: UInt64, queued: SimulatedNode.Pending,
                        submit: (inout NodeCore, NodeTime) -> String?) -> Submission {
        guard nodeIDs.contains(node) else { return .refused("no node \(node)") }
        let position = index(of: node)
        switch nodes[position].health {
        case .crashed:
            return .refused("node \(node) is down")
        case .paused:
            guard nodes[position].backlog.count < config.backlogMax else { return .refused("node \(node) is overloaded") }
            nodes[position].core?.noteAccepted(client: client, sequence: sequence)
            nodes[position].backlog.append(queued)
            return .accepted
        case .up:
            if case .some(.some(let reason)) = drive(position, submit) { return .refused(reason) }
            return .accepted
        }
    }

    /// Proposes raw data on a node (tests of the consensus layer). False if the node refused.
    @discardableResult
    public func propose(_ data: [UInt8], at node: NodeID) -> Bool {
        let position = index(of: node)
        guard nodes[position].health == .up else { return false }
        return drive(position) { core, time in core.propose(data, at: time) } ?? false
    }
}
