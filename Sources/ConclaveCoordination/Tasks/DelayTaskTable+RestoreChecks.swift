import ConclaveCore

/// The delay tasks' share of the checks on a restored state (see
/// `CoordinationStateMachine.restoredStateProblem`): a claim multiplies the spec's timeout and
/// backoff by its attempts and subtracts the due time from cluster time, a schedule and an
/// enqueue take the next ID, every firing adds to tallies — so specs must be ones `schedule`
/// accepts, instants must not lie ahead of cluster time where apply subtracts them, and counters
/// must have room to grow. (Tallies are bounded as they are read: `ByteReader.readSmallInt`.)
extension DelayTaskTable {
    func restoredProblem(nowMillis: UInt64) -> String? {
        let counterMax = CoordinationLimits.restoredCounterMax
        if let problem = CoordinationLimits.exceeds("the last task ID", lastTaskID, counterMax) { return problem }
        guard tasks.count <= TaskLimits.tasksMax else { return "\(tasks.count) tasks, more than the \(TaskLimits.tasksMax) allowed" }
        for id in tasks.keys.sorted() {
            if let problem = tasks[id]!.restoredProblem(key: id, lastTaskID: lastTaskID, nowMillis: nowMillis) { return "task \(id): \(problem)" }
        }
        guard queues.count <= TaskLimits.queuesMax else { return "\(queues.count) queues, more than the \(TaskLimits.queuesMax) allowed" }
        for name in queues.keys.sorted() {
            if let problem = queues[name]!.restoredProblem(nowMillis: nowMillis) { return "queue '\(name)': \(problem)" }
        }
        guard keys.count <= TaskLimits.idempotencyKeysMax else {
            return "\(keys.count) idempotency keys, more than the \(TaskLimits.idempotencyKeysMax) allowed"
        }
        guard finished.count <= TaskLimits.finishedKept else {
            return "\(finished.count) finished tasks, more than the \(TaskLimits.finishedKept) kept"
        }
        return nil
    }
}

extension DelayTask {
    fileprivate func restoredProblem(key: UInt64, lastTaskID: UInt64, nowMillis: UInt64) -> String? {
        guard id == key, id >= 1, id <= lastTaskID else { return "ID \(id) (kept as \(key)) outside 1…\(lastTaskID)" }
        guard partition == DelayTaskTable.partition(of: id) else { return "partition \(partition), not \(DelayTaskTable.partition(of: id))" }
        do throws(CoordinationError) {
            try DelayTaskTable.validate(spec)
        } catch {
            return "its spec: \(error)"
        }
        guard createdAtMillis <= nowMillis else { return "created at \(createdAtMillis) ms, after cluster time \(nowMillis) ms" }
        if case .running(_, let claimedAt, _, let deliveries) = state {
            guard claimedAt <= nowMillis else { return "claimed at \(claimedAt) ms, after cluster time \(nowMillis) ms" }
            guard deliveries >= 1 else { return "running after \(deliveries) deliveries" }
        }
        let clusterEnd = CoordinationLimits.clusterTimeMillisMax
        return CoordinationLimits.exceeds("due time", fireAtMillis, clusterEnd)
            ?? CoordinationLimits.exceeds("next firing", nextFireMillis ?? 0, clusterEnd)
            ?? (fire >= 1 ? CoordinationLimits.exceeds("firing number", fire, CoordinationLimits.restoredCounterMax) : "firing number 0")
    }
}

extension TaskQueueState {
    fileprivate func restoredProblem(nowMillis: UInt64) -> String? {
        guard messages.count <= TaskLimits.queueMessagesMax else {
            return "\(messages.count) messages, more than the \(TaskLimits.queueMessagesMax) allowed"
        }
        if let problem = CoordinationLimits.exceeds("the last message ID", lastMessageID, CoordinationLimits.restoredCounterMax) {
            return problem
        }
        var previous: UInt64 = 0
        for message in messages {
            guard message.id > previous, message.id <= lastMessageID else {
                return "message \(message.id) after \(previous), not ascending within 1…\(lastMessageID)"
            }
            guard message.enqueuedAtMillis <= nowMillis else {
                return "message \(message.id) enqueued at \(message.enqueuedAtMillis) ms, after cluster time \(nowMillis) ms"
            }
            previous = message.id
        }
        return nil
    }
}
