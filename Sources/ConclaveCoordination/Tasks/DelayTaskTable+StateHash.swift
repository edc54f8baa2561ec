import ConclaveCore

/// The delay-task table's share of the replica digest (see `StateHasher`): one sum per kind of
/// element, kept up to date by the setters below, which every write of the table goes through.
/// A queued message is hashed by its identity and delivery state; its key and payload are fixed
/// when it is enqueued from a task whose spec was hashed while the task was pending.
struct TaskTableHashes: Sendable {
    var tasks = StateHashSum()
    var keys = StateHashSum()
    var queues = StateHashSum()
    var finished = StateHashSum()
    var stats = FiringStats().stateHash
    var members = DelayTaskTable.membersHash([])
}

extension DelayTaskTable {
    /// The share itself: O(1).
    var stateHash: UInt64 {
        var hasher = StateHasher(10)
        hasher.combine(lastTaskID)
        hasher.combine(hashes.tasks.value)
        hasher.combine(hashes.keys.value)
        hasher.combine(hashes.queues.value)
        hasher.combine(hashes.finished.value)
        hasher.combine(hashes.stats)
        hasher.combine(hashes.members)
        return hasher.finalized
    }

    /// `stateHash` rebuilt from the whole table (what it must equal).
    func recomputedStateHash() -> UInt64 {
        var copy = self
        copy.rebuildStateHash()
        return copy.stateHash
    }

    /// Sets every sum from the table as it is (after a restore wrote it field by field).
    mutating func rebuildStateHash() {
        hashes = TaskTableHashes()
        for (id, task) in tasks { hashes.tasks.replace(nil, with: Self.stateHash(task, id: id)) }
        for (key, entry) in keys { hashes.keys.replace(nil, with: Self.keyHash(key, entry)) }
        for (name, queue) in queues {
            var rebuilt = queue
            rebuilt.rebuildMessagesHash()
            queues[name] = rebuilt
            hashes.queues.replace(nil, with: rebuilt.stateHash(named: name))
        }
        for ended in finished { hashes.finished.replace(nil, with: ended.stateHash) }
        hashes.stats = stats.stateHash
        hashes.members = Self.membersHash(members)
    }

    mutating func setTask(_ task: DelayTask?, id: UInt64) {
        let old = task.map { tasks.updateValue($0, forKey: id) } ?? tasks.removeValue(forKey: id)
        hashes.tasks.replace(old.map { Self.stateHash($0, id: id) }, with: task.map { Self.stateHash($0, id: id) })
    }

    mutating func setKey(_ key: String, _ entry: (task: UInt64, expiresAtMillis: UInt64)?) {
        let old = entry.map { keys.updateValue($0, forKey: key) } ?? keys.removeValue(forKey: key)
        hashes.keys.replace(old.map { Self.keyHash(key, $0) }, with: entry.map { Self.keyHash(key, $0) })
    }

    mutating func setQueue(_ queue: TaskQueueState, named name: String) {
        let old = queues.updateValue(queue, forKey: name)
        hashes.queues.replace(old?.stateHash(named: name), with: queue.stateHash(named: name))
    }

    static func stateHash(_ task: DelayTask, id: UInt64) -> UInt64 {
        var hasher = StateHasher(11)
        hasher.combine(id)
        hasher.combine(task)
        return hasher.finalized
    }

    static func keyHash(_ key: String, _ entry: (task: UInt64, expiresAtMillis: UInt64)) -> UInt64 {
        var hasher = StateHasher(12)
        hasher.combine(key)
        hasher.combine(entry.task)
        hasher.combine(entry.expiresAtMillis)
        return hasher.finalized
    }

    static func membersHash(_ members: [NodeID]) -> UInt64 {
        var hasher = StateHasher(13)
        hasher.combine(members.count)
        for member in members { hasher.combine(member) }
        return hasher.finalized
    }
}

extension TaskQueueState {
    mutating func append(_ message: QueueMessage) {
        messages.append(message)
        messagesHash.replace(nil, with: message.stateHash)
    }

    /// Hands the message at `position` out once more; returns it as handed out.
    mutating func deliver(at position: Int, invisibleUntilMillis: UInt64) -> QueueMessage {
        let old = messages[position].stateHash
        messages[position].deliveries += 1
        messages[position].invisibleUntilMillis = invisibleUntilMillis
        messagesHash.replace(old, with: messages[position].stateHash)
        return messages[position]
    }

    mutating func remove(at position: Int) {
        messagesHash.replace(messages.remove(at: position).stateHash, with: nil)
    }

    mutating func rebuildMessagesHash() {
        messagesHash = StateHashSum()
        for message in messages { messagesHash.replace(nil, with: message.stateHash) }
    }

    func stateHash(named name: String) -> UInt64 {
        var hasher = StateHasher(14)
        hasher.combine(name)
        hasher.combine(lastMessageID)
        hasher.combine(enqueued)
        hasher.combine(delivered)
        hasher.combine(acknowledged)
        hasher.combine(messages.count)
        hasher.combine(messagesHash.value)
        return hasher.finalized
    }
}

extension QueueMessage {
    var stateHash: UInt64 {
        var hasher = StateHasher(15)
        hasher.combine(id)
        hasher.combine(task)
        hasher.combine(enqueuedAtMillis)
        hasher.combine(deliveries)
        hasher.combine(invisibleUntilMillis)
        return hasher.finalized
    }
}

extension FinishedTask {
    var stateHash: UInt64 {
        var hasher = StateHasher(16)
        hasher.combine(task)
        hasher.combine(ending.rawValue)
        hasher.combine(atMillis)
        return hasher.finalized
    }
}

extension FiringStats {
    var stateHash: UInt64 {
        var hasher = StateHasher(17)
        hasher.combine(firedByNode.count)
        for node in firedByNode.keys.sorted() {
            hasher.combine(node)
            hasher.combine(firedByNode[node]!)
        }
        for count in latenessBuckets { hasher.combine(count) }
        hasher.combine(late)
        hasher.combine(latenessMaxMillis)
        hasher.combine(reclaims)
        hasher.combine(failures)
        return hasher.finalized
    }
}

extension StateHasher {
    mutating func combine(_ task: DelayTask) {
        combine(task.id)
        combine(task.spec)
        combine(task.partition)
        combine(task.fireAtMillis)
        combine(task.fire)
        switch task.state {
        case .scheduled:
            combine(0 as UInt64)
        case .running(let node, let claimed, let lease, let deliveries):
            combine(case: 1, node)
            combine(claimed)
            combine(lease)
            combine(deliveries)
        }
        combine(task.createdAtMillis)
        combine(task.succeeded)
        combine(task.failed)
        combine(task.nextFireMillis)
    }

    mutating func combine(_ spec: TaskSpec) {
        combine(spec.name)
        switch spec.timing {
        case .after(let millis): combine(case: 1, millis)
        case .at(let millis): combine(case: 2, millis)
        case .cron(let cron):
            combine(case: 3, cron.firstFireMillis)
            combine(cron.expression)
            combine(cron.zone)
            combine(UInt64(bitPattern: cron.wallOffsetMillis))
        }
        combine(spec.payload)
        switch spec.target {
        case .queue(let name): combine(case: 1, name)
        case .callback(let name): combine(case: 2, name)
        }
        combine(spec.timeoutMillis)
        combine(spec.retry.attemptsMax)
        combine(spec.retry.backoffMillis)
        combine(spec.idempotencyKey)
    }

    /// An enum case's tag, then its payload.
    mutating func combine(case tag: UInt64, _ payload: UInt64) {
        combine(tag)
        combine(payload)
    }

    mutating func combine(case tag: UInt64, _ payload: String) {
        combine(tag)
        combine(payload)
    }
}
