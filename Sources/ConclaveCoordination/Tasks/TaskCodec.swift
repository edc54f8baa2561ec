import ConclaveCore

// Binary encoding of the scheduler's commands, answers and table (log entries and snapshots).
// Reading is total: malformed input gives nil, never a trap.

extension ByteWriter {
    mutating func write(_ command: TaskCommand) {
        switch command {
        case .schedule(let spec): write(UInt8(1)); write(spec)
        case .cancel(let id): write(UInt8(2)); write(id)
        case .inspect(let id): write(UInt8(3)); write(id)
        case .list(let after, let limit): write(UInt8(4)); write(after); write(limit)
        case .members(let nodes): write(UInt8(5)); writeNodes(nodes)
        case .claim(let id, let fire, let node, let next):
            write(UInt8(6)); write(id); write(fire); write(node); writeOptional(next)
        case .finish(let id, let fire, let node, let outcome):
            write(UInt8(7)); write(id); write(fire); write(node); write(outcome)
        case .pull(let queue, let max, let visibility):
            write(UInt8(8)); write(queue); write(max); write(visibility)
        case .ack(let queue, let message): write(UInt8(9)); write(queue); write(message)
        }
    }

    mutating func writeNodes(_ nodes: [NodeID]) {
        write(UInt64(nodes.count))
        for node in nodes { write(node) }
    }

    mutating func write(_ outcome: TaskOutcome) {
        switch outcome {
        case .succeeded(let attempts): write(UInt8(1)); write(attempts)
        case .failed(let attempts, let reason): write(UInt8(2)); write(attempts); write(reason)
        }
    }

    mutating func write(_ spec: TaskSpec) {
        write(spec.name)
        switch spec.timing {
        case .after(let millis): write(UInt8(1)); write(millis)
        case .at(let millis): write(UInt8(2)); write(millis)
        case .cron(let cron):
            write(UInt8(3)); write(cron.expression); write(cron.zone)
            write(UInt64(bitPattern: cron.wallOffsetMillis)); write(cron.firstFireMillis)
        }
        write(spec.payload)
        switch spec.target {
        case .queue(let name): write(UInt8(1)); write(name)
        case .callback(let name): write(UInt8(2)); write(name)
        }
        write(spec.timeoutMillis)
        write(spec.retry.attemptsMax); write(spec.retry.backoffMillis)
        write(spec.idempotencyKey)
    }

    mutating func write(_ task: DelayTask) {
        write(task.id); write(task.spec); write(UInt64(task.partition)); write(task.fireAtMillis); write(task.fire)
        switch task.state {
        case .scheduled: write(UInt8(1))
        case .running(let node, let claimed, let lease, let deliveries):
            write(UInt8(2)); write(node); write(claimed); write(lease); write(UInt64(deliveries))
        }
        write(task.createdAtMillis); write(UInt64(task.succeeded)); write(UInt64(task.failed)); writeOptional(task.nextFireMillis)
    }

    mutating func write(_ finished: FinishedTask) {
        write(finished.task); write(finished.ending.rawValue); write(finished.atMillis)
    }

    mutating func write(_ message: QueueMessage) {
        write(message.id); write(message.task); write(message.key); write(message.payload)
        write(message.enqueuedAtMillis); write(UInt64(message.deliveries)); write(message.invisibleUntilMillis)
    }

    mutating func write(_ result: TaskResult) {
        switch result {
        case .scheduled(let id, let existing): write(UInt8(1)); write(id); write(UInt8(existing ? 1 : 0))
        case .task(let task): write(UInt8(2)); write(task)
        case .finished(let finished): write(UInt8(3)); write(finished)
        case .tasks(let tasks):
            write(UInt8(4)); write(UInt64(tasks.count))
            for task in tasks { write(task) }
        case .messages(let messages):
            write(UInt8(5)); write(UInt64(messages.count))
            for message in messages { write(message) }
        }
    }

    /// The whole table, maps in sorted key order (equal tables, equal bytes).
    mutating func write(_ table: DelayTaskTable) {
        write(table.lastTaskID)
        writeNodes(table.members)
        write(UInt64(table.tasks.count))
        for id in table.tasks.keys.sorted() { write(table.tasks[id]!) }
        write(UInt64(table.queues.count))
        for name in table.queues.keys.sorted() {
            let queue = table.queues[name]!
            write(name); write(queue.lastMessageID)
            write(UInt64(queue.enqueued)); write(UInt64(queue.delivered)); write(UInt64(queue.acknowledged))
            write(UInt64(queue.messages.count))
            for message in queue.messages { write(message) }
        }
        let liveKeys = table.keyOrder[table.keyOrderHead...].filter { table.keys[$0] != nil }
        write(UInt64(liveKeys.count))
        for key in liveKeys { write(key); write(table.keys[key]!.task); write(table.keys[key]!.expiresAtMillis) }
        write(UInt64(table.finished.count))
        for finished in table.finished { write(finished) }
        let stats = table.stats
        write(UInt64(stats.firedByNode.count))
        for node in stats.firedByNode.keys.sorted() { write(node); write(UInt64(stats.firedByNode[node]!)) }
        for count in stats.latenessBuckets { write(UInt64(count)) }
        write(UInt64(stats.late)); write(stats.latenessMaxMillis); write(UInt64(stats.reclaims)); write(UInt64(stats.failures))
    }
}

extension ByteReader {
    mutating func readTaskCommand() -> TaskCommand? {
        switch readByte() {
        case 1: return readTaskSpec().map { .schedule($0) }
        case 2: return readUInt64().map { .cancel(id: $0) }
        case 3: return readUInt64().map { .inspect(id: $0) }
        case 4:
            guard let after = readUInt64(), let limit = readInt() else { return nil }
            return .list(afterID: after, limit: limit)
        case 5: return readNodes().map { .members($0) }
        case 6:
            guard let id = readUInt64(), let fire = readUInt64(), let node = readUInt64(), let next = readOptional() else { return nil }
            return .claim(id: id, fire: fire, node: node, nextFireMillis: next)
        case 7:
            guard let id = readUInt64(), let fire = readUInt64(), let node = readUInt64(), let outcome = readOutcome() else { return nil }
            return .finish(id: id, fire: fire, node: node, outcome: outcome)
        case 8:
            guard let queue = readString(), let max = readInt(), let visibility = readUInt64() else { return nil }
            return .pull(queue: queue, max: max, visibilityMillis: visibility)
        case 9:
            guard let queue = readString(), let message = readUInt64() else { return nil }
            return .ack(queue: queue, message: message)
        default: return nil
        }
    }

    mutating func readNodes() -> [NodeID]? {
        guard let count = readCount(of: 8) else { return nil }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let node = readUInt64() else { return nil }
            nodes.append(node)
        }
        return nodes
    }

    mutating func readOutcome() -> TaskOutcome? {
        switch readByte() {
        case 1: return readInt().map { .succeeded(attempts: $0) }
        case 2:
            guard let attempts = readInt(), let reason = readString() else { return nil }
            return .failed(attempts: attempts, reason: reason)
        default: return nil
        }
    }

    /// A count stored as UInt64 that must fit an `Int` (deliveries, tallies): a long-lived
    /// cluster's tallies may pass 2³¹, and a snapshot that held one must still load. At most
    /// `CoordinationLimits.restoredCounterMax`, so that apply's `+= 1` on it cannot overflow.
    mutating func readSmallInt() -> Int? {
        guard let value = readUInt64(), value <= CoordinationLimits.restoredCounterMax else { return nil }
        return Int(value)
    }

    mutating func readTaskSpec() -> TaskSpec? {
        guard let name = readString(), let timingCode = readByte() else { return nil }
        let timing: TaskTiming
        switch timingCode {
        case 1: guard let millis = readUInt64() else { return nil }; timing = .after(millis: millis)
        case 2: guard let millis = readUInt64() else { return nil }; timing = .at(millis: millis)
        case 3:
            guard let expression = readString(), let zone = readString(), let offset = readUInt64(), let first = readUInt64() else { return nil }
            timing = .cron(CronTiming(expression: expression, zone: zone, wallOffsetMillis: Int64(bitPattern: offset), firstFireMillis: first))
        default: return nil
        }
        guard let payload = readString(), let targetCode = readByte(), let targetName = readString() else { return nil }
        let target: TaskTarget
        switch targetCode {
        case 1: target = .queue(targetName)
        case 2: target = .callback(targetName)
        default: return nil
        }
        guard let timeout = readUInt64(), let attempts = readInt(), let backoff = readUInt64(),
              let key = readOptionalString() else { return nil }
        return TaskSpec(name: name, timing: timing, payload: payload, target: target, timeoutMillis: timeout,
                        retry: RetryPolicy(attemptsMax: attempts, backoffMillis: backoff), idempotencyKey: key)
    }

    mutating func readDelayTask() -> DelayTask? {
        guard let id = readUInt64(), let spec = readTaskSpec(), let partition = readUInt64(),
              partition < UInt64(TaskLimits.partitions), let fireAt = readUInt64(), let fire = readUInt64(),
              let stateCode = readByte() else { return nil }
        let state: DelayTask.State
        switch stateCode {
        case 1: state = .scheduled
        case 2:
            guard let node = readUInt64(), let claimed = readUInt64(), let lease = readUInt64(), let deliveries = readSmallInt() else { return nil }
            state = .running(node: node, claimedAtMillis: claimed, leaseUntilMillis: lease, deliveries: deliveries)
        default: return nil
        }
        guard let created = readUInt64(), let succeeded = readSmallInt(), let failed = readSmallInt(), let next = readOptional() else { return nil }
        return DelayTask(id: id, spec: spec, partition: Int(partition), fireAtMillis: fireAt, fire: fire, state: state,
                         createdAtMillis: created, succeeded: succeeded, failed: failed, nextFireMillis: next)
    }

    mutating func readFinishedTask() -> FinishedTask? {
        guard let task = readDelayTask(), let raw = readString(), let ending = FinishedTask.Ending(rawValue: raw),
              let at = readUInt64() else { return nil }
        return FinishedTask(task: task, ending: ending, atMillis: at)
    }

    mutating func readQueueMessage() -> QueueMessage? {
        guard let id = readUInt64(), let task = readUInt64(), let key = readString(), let payload = readString(),
              let enqueued = readUInt64(), let deliveries = readSmallInt(), let invisible = readUInt64() else { return nil }
        return QueueMessage(id: id, task: task, key: key, payload: payload, enqueuedAtMillis: enqueued,
                            deliveries: deliveries, invisibleUntilMillis: invisible)
    }

    mutating func readTaskResult() -> TaskResult? {
        switch readByte() {
        case 1:
            guard let id = readUInt64(), let existing = readByte() else { return nil }
            return .scheduled(id: id, existing: existing == 1)
        case 2: return readDelayTask().map { .task($0) }
        case 3: return readFinishedTask().map { .finished($0) }
        case 4: return readList(minimumBytes: 80) { $0.readDelayTask() }.map { .tasks($0) }
        case 5: return readList(minimumBytes: 48) { $0.readQueueMessage() }.map { .messages($0) }
        default: return nil
        }
    }

    mutating func readList<Item>(minimumBytes: Int, _ readItem: (inout ByteReader) -> Item?) -> [Item]? {
        guard let count = readCount(of: minimumBytes) else { return nil }
        var items: [Item] = []
        for _ in 0..<count {
            guard let item = readItem(&self) else { return nil }
            items.append(item)
        }
        return items
    }

    mutating func readDelayTaskTable() -> DelayTaskTable? {
        var table = DelayTaskTable()
        guard let lastID = readUInt64(), let members = readNodes() else { return nil }
        table.lastTaskID = lastID
        if !members.isEmpty {
            var ignored: [UInt64] = []
            guard (try? table.execute(.members(members), nowMillis: 0, touched: &ignored)) != nil else { return nil }
        }
        guard let tasks = readList(minimumBytes: 80, { $0.readDelayTask() }) else { return nil }
        for task in tasks { table.tasks[task.id] = task }
        guard let queueCount = readCount(of: 44) else { return nil }
        for _ in 0..<queueCount {
            guard let name = readString(), let lastMessage = readUInt64(), let enqueued = readSmallInt(),
                  let delivered = readSmallInt(), let acknowledged = readSmallInt(),
                  let messages = readList(minimumBytes: 48, { $0.readQueueMessage() }) else { return nil }
            table.queues[name] = TaskQueueState(messages: messages, lastMessageID: lastMessage, enqueued: enqueued,
                                                delivered: delivered, acknowledged: acknowledged)
        }
        guard let keyCount = readCount(of: 20) else { return nil }
        for _ in 0..<keyCount {
            guard let key = readString(), let task = readUInt64(), let expires = readUInt64() else { return nil }
            table.keys[key] = (task, expires)
            table.keyOrder.append(key)
        }
        guard let finished = readList(minimumBytes: 80, { $0.readFinishedTask() }) else { return nil }
        table.finished = finished
        guard let firedCount = readCount(of: 16) else { return nil }
        for _ in 0..<firedCount {
            guard let node = readUInt64(), let fired = readSmallInt() else { return nil }
            table.stats.firedByNode[node] = fired
        }
        for bucket in table.stats.latenessBuckets.indices {
            guard let count = readSmallInt() else { return nil }
            table.stats.latenessBuckets[bucket] = count
        }
        guard let late = readSmallInt(), let latenessMax = readUInt64(), let reclaims = readSmallInt(),
              let failures = readSmallInt() else { return nil }
        table.stats.late = late
        table.stats.latenessMaxMillis = latenessMax
        table.stats.reclaims = reclaims
        table.stats.failures = failures
        table.rebuildStateHash()
        return table
    }
}
