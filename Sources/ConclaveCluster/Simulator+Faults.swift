import ConclaveCore
import ConclaveRaft

extension Simulator {
    /// Applies a fault exactly. Unknown nodes are refused; a fault on a node in the wrong state
    /// (restarting a live node, pausing a crashed one) changes nothing.
    public func inject(_ fault: Fault) throws(SimulationError) {
        for node in fault.nodes where !nodeIDs.contains(node) { throw .unknownNode(node) }
        statistics.faultsInjected += 1
        trace.record(now, "fault \(fault)", hash: 0xFA17)
        switch fault {
        case .partition(let groups):
            network.partition(groups)
        case .heal:
            network.heal()
        case .clog(let source, let target, let millis):
            network.clog(.init(source: source, target: target), until: now + millis * 1_000_000)
        case .drop(let probability):
            network.dropProbability = min(max(probability, 0), 1)
        case .duplicate(let probability):
            network.duplicateProbability = min(max(probability, 0), 1)
        case .delay(let millis):
            network.extraDelayMaxNanos = millis * 1_000_000
        case .crash(let node):
            crash(node)
        case .restart(let node):
            restart(node)
        case .pause(let node, let millis):
            pause(node, millis: millis)
        case .skew(let node, let offsetMillis, let ratePermille):
            setClock(of: node, offsetMillis: offsetMillis, ratePermille: min(max(ratePermille, 100), 10_000))
        }
    }

    /// Re-anchors the node's wall clock at the current time, then applies the new offset and rate.
    private func setClock(of node: NodeID, offsetMillis: Int64, ratePermille: UInt64) {
        let position = index(of: node)
        nodes[position].clockAnchor = (now, localClockNanos(position))
        nodes[position].clockOffsetMillis = offsetMillis
        nodes[position].clockRatePermille = ratePermille
    }

    func localClockNanos(_ position: Int) -> UInt64 {
        let anchor = nodes[position].clockAnchor
        return anchor.localNanos + (now - anchor.trueNanos) * nodes[position].clockRatePermille / 1000
    }

    /// What the node's wall clock reads now, in milliseconds: true time run at the node's rate,
    /// shifted by its offset (never below zero). A generator on the node stamps IDs with this.
    public func wallClockMillis(of node: NodeID) -> UInt64 { wallClockMillis(at: index(of: node)) }

    func wallClockMillis(at position: Int) -> UInt64 {
        let millis = Int64(localClockNanos(position) / 1_000_000) + nodes[position].clockOffsetMillis
        return UInt64(max(0, millis))
    }

    /// A node that met an I/O error stops as a crash would (memory lost, disk kept), with the
    /// reason in the trace and its status: the error is never retried or guessed around. A restart
    /// recovers it from its log (and stops it again if the disk still fails).
    func stop(_ node: NodeID, reason: String) {
        trace.record(now, "node \(node) stopped: \(reason)", hash: 0x5709 &+ node)
        crash(node)
        nodes[index(of: node)].stopReason = reason
    }

    /// Memory is lost, the disk kept: the core is dropped (observers see what it held until the
    /// restart), and with it every request it owed an answer.
    private func crash(_ node: NodeID) {
        let position = index(of: node)
        guard nodes[position].health != .crashed else { return }
        if let core = nodes[position].core { nodes[position].lastCore = core }
        nodes[position].core = nil
        nodes[position].health = .crashed
        nodes[position].incarnation += 1
        nodes[position].backlog.removeAll()
        nodes[position].appliedEntries.removeAll()
    }

    private func restart(_ node: NodeID) {
        guard nodes[index(of: node)].health == .crashed else { return }
        start(node)
    }

    private func pause(_ node: NodeID, millis: UInt64) {
        let position = index(of: node)
        guard nodes[position].health != .crashed else { return }
        nodes[position].health = .paused
        nodes[position].pausedUntil = max(nodes[position].pausedUntil, now + millis * 1_000_000)
        queue.push(.resume(node, incarnation: nodes[position].incarnation), at: nodes[position].pausedUntil)
    }

    /// Undoes every fault: heals the network, restores clocks and loss rates, resumes paused nodes
    /// and restarts crashed ones.
    public func healAll() {
        network.heal()
        network.dropProbability = 0
        network.duplicateProbability = 0
        network.extraDelayMaxNanos = 0
        for node in nodeIDs {
            let position = index(of: node)
            setClock(of: node, offsetMillis: 0, ratePermille: 1000)
            switch nodes[position].health {
            case .crashed: start(node)
            case .paused:
                nodes[position].pausedUntil = now
                queue.push(.resume(node, incarnation: nodes[position].incarnation), at: now)
            case .up: break
            }
        }
        trace.record(now, "heal all", hash: 0x4EA1)
    }
}

extension Fault {
    /// The nodes a fault names (for validation).
    public var nodes: [NodeID] {
        switch self {
        case .partition(let groups): return groups.flatMap { $0 }
        case .clog(let source, let target, _): return [source, target]
        case .crash(let node), .restart(let node), .pause(let node, _), .skew(let node, _, _): return [node]
        case .heal, .drop, .duplicate, .delay: return []
        }
    }
}
