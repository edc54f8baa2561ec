import ConclaveCore
import ConclaveRaft

/// Driving the nodes: starting their cores, their ticks on skewed clocks, delivering messages, and
/// the backlog a paused node works through when it wakes.
extension Simulator {
    func index(of node: NodeID) -> Int { Int(node) - 1 }

    /// Starts a node from its disk: a new core (memory is gone: the state machine comes back from
    /// the snapshot, the rest from the log), a new incarnation, a first tick.
    func start(_ node: NodeID) {
        let position = index(of: node)
        let incarnation = nodes[position].incarnation + 1
        let nodeRandom = SeededGenerator(seed: config.seed, stream: node &* 1_000 &+ UInt64(incarnation))
        let core: NodeCore
        do throws(NodeCoreError) {
            // The estimate of cluster time outlives a crash here, as it always has in the simulator.
            core = try NodeCore(config: config.nodeConfig(for: node), storage: nodes[position].storage, random: nodeRandom,
                                callbackTargets: callbackTargets,
                                clusterTime: nodes[position].memory?.clusterTime ?? NodeCore.ClusterTimeEstimate())
        } catch .storage(let reason) {
            stop(node, reason: reason)
            return
        } catch {
            preconditionFailure("simulator built an invalid node configuration: \(error)")
        }
        nodes[position].core = core
        nodes[position].lastCore = nil
        nodes[position].health = .up
        nodes[position].stopReason = nil
        nodes[position].incarnation = incarnation
        scheduleTick(node)
    }

    /// What the node's clocks read now: its own skewed clock, its wall clock, and true time for
    /// its timers (the simulated callback targets answer in true time).
    func nodeTime(_ position: Int) -> NodeTime {
        NodeTime(clockNanos: localClockNanos(position), wallMillis: wallClockMillis(at: position), timerNanos: now)
    }

    /// Runs one input on the node's core, if it is running, then does what the core asked.
    /// Returns the input's answer (nil when the node has no core).
    @discardableResult
    func drive<Answer>(_ position: Int, _ input: (inout NodeCore, NodeTime) -> Answer) -> Answer? {
        guard nodes[position].core != nil else { return nil }
        let time = nodeTime(position)
        let answer = input(&nodes[position].core!, time)
        perform(nodes[position].core!.takeOutputs(), from: position)
        return answer
    }

    // MARK: - Ticks

    func tickInterval(_ node: NodeID) -> UInt64 {
        let rate = max(1, nodes[index(of: node)].clockRatePermille)
        return config.tickNanos * 1000 / rate
    }

    func scheduleTick(_ node: NodeID, at time: UInt64? = nil) {
        let position = index(of: node)
        nodes[position].nextTickAt = time ?? now + tickInterval(node)
        queue.push(.tick(node, incarnation: nodes[position].incarnation), at: nodes[position].nextTickAt)
    }

    func tick(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health == .up else { return }
        drive(position) { core, time in core.tick(at: time) }
        scheduleTick(node)
    }

    // MARK: - Messages

    func deliver(_ message: Message) {
        let position = index(of: message.to)
        guard network.canReach(from: message.from, to: message.to, at: now) else {
            statistics.messagesDropped += 1
            return
        }
        switch nodes[position].health {
        case .crashed:
            statistics.messagesDropped += 1
        case .paused:
            enqueueBacklog(.message(message), at: position)
        case .up:
            statistics.messagesDelivered += 1
            if message.kind == .appendResponse && message.reject { statistics.appendsRejected += 1 }
            drive(position) { core, time in core.receive(message, at: time) }
        }
    }

    private func enqueueBacklog(_ pending: SimulatedNode.Pending, at position: Int) {
        if nodes[position].backlog.count < config.backlogMax {
            nodes[position].backlog.append(pending)
        } else {
            statistics.messagesDropped += 1
        }
    }

    // MARK: - Pauses

    func resume(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health == .paused,
              nodes[position].pausedUntil <= now else { return }
        nodes[position].health = .up
        let nextTick = catchUpTicks(at: position)
        let backlog = nodes[position].backlog
        nodes[position].backlog.removeAll()
        for pending in backlog {
            switch pending {
            case .message(let message):
                drive(position) { core, time in core.receive(message, at: time) }
            case .submit(let request):
                drive(position) { core, time in core.submitAccepted(request, readNumbers: &nextReadContext, at: time) }
            case .submitCoordination(let prepared):
                drive(position) { core, time in core.submitAccepted(prepared, at: time) }
            }
        }
        scheduleTick(node, at: nextTick)
    }

    /// A process that wakes from a pause sees its timers overdue before it reads what queued up:
    /// the core gets the ticks it missed first (`NodeCore.catchUp`), exactly as many as fell due,
    /// at most two election timeouts' worth — enough to end any lease and run a CheckQuorum round.
    /// Returns when the next tick is due.
    private func catchUpTicks(at position: Int) -> UInt64 {
        let interval = tickInterval(nodes[position].id)
        var due = nodes[position].nextTickAt
        var missed = 0
        while due <= now && missed < 2 * config.electionTimeoutTicks {
            due += interval
            missed += 1
        }
        drive(position) { core, time in core.catchUp(ticks: missed, at: time) }
        return due > now ? due : now + interval
    }
}
