import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// What a node's core asked of the world, done by the simulated world, in the order asked:
/// messages into the network, answers to clients after a latency, timers into the event queue,
/// observations into the invariant monitor, the trace and the statistics.
extension Simulator {
    func perform(_ outputs: [NodeOutput], from position: Int) {
        let node = nodes[position].id
        for output in outputs {
            switch output {
            case .send(let message):
                send(message)
            case .reply(let applied):
                queue.push(.reply(node, applied), at: now + replyLatency())
            case .coordinationReply(let client, let sequence, let result):
                queue.push(.coordinationReply(node, client, sequence, result), at: now + replyLatency())
            case .lockEvent(let session, let event):
                guard nodes[position].sessionsHere.contains(session) else { continue }
                queue.push(.lockEvent(node, event), at: now + replyLatency())
            case .callback:
                // Never asked: the simulator's targets know each answer in advance
                // (SimulatedCallbackTargets), so every try runs on the pool's virtual time.
                break
            case .callbackDelivered(let delivery):
                recordDelivery(delivery)
            case .callbackPoolDue(let atNanos):
                queue.push(.callbackPool(node, incarnation: nodes[position].incarnation), at: atNanos)
            case .callbackRetryDue(let task, let atNanos):
                queue.push(.callbackRetry(node, incarnation: nodes[position].incarnation, task: task), at: atNanos)
            case .stopped(let reason):
                stop(node, reason: reason)
            case .persisted(let entries, let previousTerm):
                monitor.entriesPersisted(entries, previousTerm: previousTerm, by: node, at: now)
            case .applied(let entry, let digest):
                monitor.entryApplied(entry, by: node, digest: digest, at: now)
                if config.recordApplied { nodes[position].appliedEntries.append(entry) }
                if entry.kind != .normal, let membership = MembershipEntry(decoding: entry.data) {
                    trace.record(now, "node \(node) applied \(membership.change)", hash: entry.index)
                }
            case .becameLeader(let term):
                statistics.leaderChanges += 1
                trace.record(now, "leader \(node) term \(term)", hash: node &+ term << 8)
                // The log as it stands after the input (a leader only ever adds to its log).
                if let raft = nodes[position].memory?.raft { monitor.leaderElected(node, term: term, log: raft, at: now) }
            case .snapshotInstalled(let index, let digest):
                nodes[position].appliedEntries.removeAll()
                statistics.snapshotsInstalled += 1
                monitor.snapshotInstalled(index: index, digest: digest, by: node, at: now)
            case .snapshotTaken:
                statistics.snapshotsTaken += 1
            }
        }
    }
}
