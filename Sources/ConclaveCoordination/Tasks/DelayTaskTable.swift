import ConclaveCore
import ConclaveResilience
import ConclaveTimers

/// The replicated half of the delay-task scheduler: tasks, who owns which partition, the
/// in-cluster queues, and what firing has cost.
///
/// How a task fires, once, although every node could:
/// 1. Tasks hash to `TaskLimits.partitions` partitions; partitions map to the scheduler's members
///    (the nodes the leader last said are alive) by consistent hashing with bounded loads (no
///    node is primary of more than ⌈1.25 × partitions / members⌉) and replicas clockwise. Membership is in the log, so every replica computes the same table.
/// 2. Each node keeps its own partitions' deadlines in a timer heap and, when one is due by
///    cluster time, proposes a **claim** for that firing (task ID + firing number). The claim is
///    accepted only from the partition's primary, only when due, and only once per firing number:
///    a node that was cut off or is behind proposes a claim that is refused or never commits.
/// 3. A queue target is delivered by the claim itself (the message is appended in the same apply
///    step: exactly once into the queue, at-least-once to consumers, who acknowledge). A callback
///    target is run by the claimer, which reports the outcome with **finish**; if the claimer dies
///    or its lease runs out first, the primary claims the same firing again — at-least-once, and
///    every delivery carries the same idempotency key.
public struct DelayTaskTable: Equatable, Sendable {
    public internal(set) var tasks: [UInt64: DelayTask] = [:]
    public internal(set) var lastTaskID: UInt64 = 0
    /// Nodes the leader last said are alive, ascending.
    public internal(set) var members: [NodeID] = []
    /// Per partition, its owners: primary first, then replicas.
    public internal(set) var owners: [[NodeID]] = Array(repeating: [], count: TaskLimits.partitions)
    public internal(set) var queues: [String: TaskQueueState] = [:]
    /// Idempotency keys used to schedule, with the task and when the key may be used again.
    var keys: [String: (task: UInt64, expiresAtMillis: UInt64)] = [:]
    /// Keys in the order they expire (the window is fixed, so that is the order they were used).
    var keyOrder: [String] = []
    var keyOrderHead = 0
    public internal(set) var finished: [FinishedTask] = []
    public internal(set) var stats = FiringStats() {
        didSet { hashes.stats = stats.stateHash }
    }
    /// The table's share of the replica digest, kept up to date by the setters in
    /// `DelayTaskTable+StateHash` (derived: left out of `==`).
    var hashes = TaskTableHashes()

    public init() {}

    public static func == (left: Self, right: Self) -> Bool {
        left.tasks == right.tasks && left.lastTaskID == right.lastTaskID && left.members == right.members
            && left.queues == right.queues && left.finished == right.finished && left.stats == right.stats
            && left.keys.mapValues { [$0.task, $0.expiresAtMillis] } == right.keys.mapValues { [$0.task, $0.expiresAtMillis] }
    }

    /// The partition a task ID hashes to.
    public static func partition(of id: UInt64) -> Int {
        Int(StableHash.mix(id) % UInt64(TaskLimits.partitions))
    }

    /// The partition's primary (0: none while there are no members).
    public func primary(of partition: Int) -> NodeID { owners[partition].first ?? 0 }

    /// Applies one scheduler request at cluster time `nowMillis`. `touched` gets the IDs of tasks
    /// whose timing or state changed (all of them when ownership moved: `ownershipChanged`).
    mutating func execute(_ command: TaskCommand, nowMillis: UInt64, touched: inout [UInt64]) throws(CoordinationError) -> TaskResult {
        switch command {
        case .schedule(let spec):
            return try schedule(spec, nowMillis: nowMillis, touched: &touched)
        case .cancel(let id):
            guard let task = tasks[id] else { throw .unknownTask(id) }
            setTask(nil, id: id)
            retire(task, .cancelled, nowMillis: nowMillis)
            touched.append(id)
            return .finished(finished.last!)
        case .inspect(let id):
            if let task = tasks[id] { return .task(task) }
            if let ended = finished.last(where: { $0.task.id == id }) { return .finished(ended) }
            throw .unknownTask(id)
        case .list(let after, let limit):
            try CoordinationLimits.validate("list limit", limit, in: 1...TaskLimits.listMax)
            let ids = tasks.keys.filter { $0 > after }.sorted().prefix(limit)
            return .tasks(ids.map { tasks[$0]! })
        case .members(let nodes):
            try setMembers(nodes)
            touched.append(contentsOf: tasks.keys.sorted())  // in ID order: dictionary order differs between replicas
            return .tasks([])
        case .claim(let id, let fire, let node, let next):
            try claim(id, fire: fire, node: node, nextFireMillis: next, nowMillis: nowMillis)
            touched.append(id)
            return .task(tasks[id] ?? finished.last!.task)
        case .finish(let id, let fire, let node, let outcome):
            try finish(id, fire: fire, node: node, outcome: outcome, nowMillis: nowMillis)
            touched.append(id)
            return .tasks([])
        case .pull(let queue, let max, let visibility):
            return .messages(try pull(queue, max: max, visibilityMillis: visibility, nowMillis: nowMillis))
        case .ack(let queue, let message):
            try ack(queue, message: message)
            return .tasks([])
        }
    }

    /// Past `TaskLimits.idempotencyKeysMax` keys, the oldest are forgotten before their window
    /// closes (memory stays bounded; a key reused after that makes a second task).
    private mutating func forgetOldestKeys() {
        while keys.count > TaskLimits.idempotencyKeysMax, keyOrderHead < keyOrder.count {
            setKey(keyOrder[keyOrderHead], nil)
            keyOrderHead += 1
        }
    }

    /// Cluster time moved: forget idempotency keys whose window closed.
    mutating func advance(to nowMillis: UInt64) {
        while keyOrderHead < keyOrder.count {
            let key = keyOrder[keyOrderHead]
            guard let entry = keys[key] else { keyOrderHead += 1; continue }
            guard entry.expiresAtMillis <= nowMillis else { break }
            setKey(key, nil)
            keyOrderHead += 1
        }
        if keyOrderHead > 1_024, keyOrderHead * 2 > keyOrder.count {
            keyOrder.removeFirst(keyOrderHead)
            keyOrderHead = 0
        }
    }

    // MARK: - Scheduling

    private mutating func schedule(_ spec: TaskSpec, nowMillis: UInt64, touched: inout [UInt64]) throws(CoordinationError) -> TaskResult {
        try Self.validate(spec)
        // A task must be able to fire: its due time is within cluster time's range.
        let fireAt: UInt64
        switch spec.timing {
        case .after(let millis):
            try CoordinationLimits.validate("delay", millis, in: 0...(CoordinationLimits.clusterTimeMillisMax - nowMillis), unit: " ms")
            fireAt = nowMillis + millis
        case .at(let millis):
            try CoordinationLimits.validate("due time", clusterMillis: millis)
            fireAt = millis
        case .cron(let cron):
            fireAt = cron.firstFireMillis
        }
        if let key = spec.idempotencyKey, let used = keys[key], used.expiresAtMillis > nowMillis {
            return .scheduled(id: used.task, existing: true)
        }
        guard tasks.count < TaskLimits.tasksMax else { throw .limitReached("\(TaskLimits.tasksMax) pending tasks") }
        lastTaskID += 1
        let id = lastTaskID
        setTask(DelayTask(id: id, spec: spec, partition: Self.partition(of: id), fireAtMillis: fireAt, fire: 1,
                          state: .scheduled, createdAtMillis: nowMillis, succeeded: 0, failed: 0, nextFireMillis: nil), id: id)
        if let key = spec.idempotencyKey {
            setKey(key, (id, nowMillis + TaskLimits.idempotencyWindowMillis))
            keyOrder.append(key)
            forgetOldestKeys()
        }
        touched.append(id)
        return .scheduled(id: id, existing: false)
    }

    static func validate(_ spec: TaskSpec) throws(CoordinationError) {
        try CoordinationLimits.validate(name: spec.name)
        try CoordinationLimits.validate(name: spec.target.name)
        if let key = spec.idempotencyKey { try CoordinationLimits.validate(name: key) }
        guard spec.payload.utf8.count <= TaskLimits.payloadBytesMax else {
            throw .invalidRequest("payload of \(spec.payload.utf8.count) bytes; at most \(TaskLimits.payloadBytesMax)")
        }
        try CoordinationLimits.validate("timeout", spec.timeoutMillis, in: TaskLimits.timeoutMillisRange, unit: " ms")
        try CoordinationLimits.validate("attempts", spec.retry.attemptsMax, in: 1...TaskLimits.attemptsMax)
        try CoordinationLimits.validate("backoff", spec.retry.backoffMillis, in: 0...TaskLimits.backoffMillisMax, unit: " ms")
        if case .cron(let cron) = spec.timing {
            do throws(CronError) {
                _ = try CronExpression(cron.expression)
            } catch {
                throw .invalidRequest(error.description)
            }
            try CoordinationLimits.validate(name: cron.zone)
            guard cron.firstFireMillis > 0 else {
                throw .invalidRequest("cron task without its first firing time (the receiving node computes it)")
            }
            try CoordinationLimits.validate("first firing", clusterMillis: cron.firstFireMillis)
        }
    }

    // MARK: - Ownership

    private mutating func setMembers(_ nodes: [NodeID]) throws(CoordinationError) {
        let sorted = Array(Set(nodes)).sorted()
        try CoordinationLimits.validate("scheduler members", nodes.count, in: 1...TaskLimits.membersMax)
        guard sorted.count == nodes.count, !sorted.contains(0) else {
            throw .invalidRequest("scheduler members must be distinct node IDs ≥ 1, at least one; got \(nodes)")
        }
        guard sorted != members else { return }
        members = sorted
        hashes.members = Self.membersHash(sorted)
        // Primaries by consistent hashing with bounded loads (12 keys on a plain ring leave some
        // nodes with none); replicas are the next distinct nodes clockwise.
        do throws(ResilienceConfigurationError) {
            var ring = try BoundedLoadHashRing(backends: sorted.map { "node-\($0)" }, virtualNodesPerBackend: 64,
                                               balanceFactor: 0.25)
            owners = (0..<TaskLimits.partitions).map { partition in
                let hash = StableHash.key("partition-\(partition)")
                let primary = ring.assign(keyHash: hash)
                let replicas = ring.ring.backendIndices(forKeyHash: hash, count: TaskLimits.ownersPerPartition + 1)
                    .filter { $0 != primary }.prefix(TaskLimits.ownersPerPartition - 1)
                return ([primary] + replicas).map { sorted[$0] }
            }
        } catch {
            throw .invalidRequest("scheduler members: \(error)")
        }
    }

    // MARK: - Firing

    private mutating func claim(_ id: UInt64, fire: UInt64, node: NodeID, nextFireMillis: UInt64?, nowMillis: UInt64) throws(CoordinationError) {
        guard var task = tasks[id] else { throw .unknownTask(id) }
        guard fire == task.fire else { throw .invalidRequest("task \(id): firing \(fire) is not the current one (\(task.fire))") }
        guard primary(of: task.partition) == node else {
            throw .invalidRequest("task \(id): node \(node) is not the primary of partition \(task.partition)")
        }
        let deliveries: Int
        let firstClaim: Bool
        switch task.state {
        case .scheduled:
            guard task.fireAtMillis <= nowMillis else { throw .invalidRequest("task \(id) is not due until \(task.fireAtMillis)") }
            (deliveries, firstClaim) = (0, true)
        case .running(let claimer, _, let lease, let count):
            guard nowMillis >= lease || !members.contains(claimer) else {
                throw .invalidRequest("task \(id): firing \(fire) is claimed by node \(claimer) until \(lease)")
            }
            (deliveries, firstClaim) = (count, false)
        }
        if task.isRecurring {
            guard let next = nextFireMillis, next > task.fireAtMillis else {
                throw .invalidRequest("task \(id): a recurring claim needs a next firing after \(task.fireAtMillis)")
            }
            try CoordinationLimits.validate("task \(id): next firing", clusterMillis: next)
            task.nextFireMillis = next
        }
        switch task.spec.target {
        case .queue(let name):
            try enqueue(task, into: name, nowMillis: nowMillis)
            setTask(task, id: id)
            complete(id, succeeded: true, nowMillis: nowMillis)
        case .callback:
            let retry = task.spec.retry
            let tries = UInt64(retry.attemptsMax)
            let lease = task.spec.timeoutMillis * tries + retry.backoffMillis * (tries - 1) + TaskLimits.leaseSlackMillis
            task.state = .running(node: node, claimedAtMillis: nowMillis, leaseUntilMillis: nowMillis + lease,
                                  deliveries: deliveries + 1)
            setTask(task, id: id)
        }
        if firstClaim {
            stats.record(node: node, latenessMillis: nowMillis - task.fireAtMillis)
        } else {
            stats.reclaims += 1
        }
    }

    private mutating func finish(_ id: UInt64, fire: UInt64, node: NodeID, outcome: TaskOutcome, nowMillis: UInt64) throws(CoordinationError) {
        guard let task = tasks[id] else { throw .unknownTask(id) }
        guard fire == task.fire, case .running = task.state else {
            throw .invalidRequest("task \(id): firing \(fire) is not running (a later report of a firing already settled)")
        }
        switch outcome {
        case .succeeded: complete(id, succeeded: true, nowMillis: nowMillis)
        case .failed: complete(id, succeeded: false, nowMillis: nowMillis)
        }
    }

    /// The current firing is settled: a recurring task moves to its next firing, a one-shot leaves.
    private mutating func complete(_ id: UInt64, succeeded: Bool, nowMillis: UInt64) {
        guard var task = tasks[id] else { return }
        if succeeded { task.succeeded += 1 } else { task.failed += 1; stats.failures += 1 }
        if task.isRecurring, let next = task.nextFireMillis {
            task.fire += 1
            task.fireAtMillis = next
            task.nextFireMillis = nil
            task.state = .scheduled
            setTask(task, id: id)
        } else {
            setTask(nil, id: id)
            retire(task, succeeded ? .done : .failed, nowMillis: nowMillis)
        }
    }

    private mutating func retire(_ task: DelayTask, _ ending: FinishedTask.Ending, nowMillis: UInt64) {
        if finished.count >= TaskLimits.finishedKept {
            let dropped = finished.count - TaskLimits.finishedKept + 1
            for old in finished.prefix(dropped) { hashes.finished.replace(old.stateHash, with: nil) }
            finished.removeFirst(dropped)
        }
        let ended = FinishedTask(task: task, ending: ending, atMillis: nowMillis)
        finished.append(ended)
        hashes.finished.replace(nil, with: ended.stateHash)
    }

    // MARK: - Queues

    private mutating func enqueue(_ task: DelayTask, into name: String, nowMillis: UInt64) throws(CoordinationError) {
        var queue = queues[name] ?? TaskQueueState()
        guard queues[name] != nil || queues.count < TaskLimits.queuesMax else { throw .limitReached("\(TaskLimits.queuesMax) queues") }
        guard queue.messages.count < TaskLimits.queueMessagesMax else {
            throw .limitReached("queue '\(name)' holds \(TaskLimits.queueMessagesMax) messages")
        }
        queue.lastMessageID += 1
        queue.append(QueueMessage(id: queue.lastMessageID, task: task.id, key: task.deliveryKey, payload: task.spec.payload,
                                  enqueuedAtMillis: nowMillis, deliveries: 0, invisibleUntilMillis: 0))
        queue.enqueued += 1
        setQueue(queue, named: name)
    }

    private mutating func pull(_ name: String, max: Int, visibilityMillis: UInt64, nowMillis: UInt64) throws(CoordinationError) -> [QueueMessage] {
        try CoordinationLimits.validate(name: name)
        try CoordinationLimits.validate("pull of", max, in: 1...TaskLimits.pullMax)
        try CoordinationLimits.validate("visibility", visibilityMillis, in: TaskLimits.timeoutMillisRange, unit: " ms")
        guard var queue = queues[name] else { return [] }
        var pulled: [QueueMessage] = []
        for position in queue.messages.indices where pulled.count < max && queue.messages[position].invisibleUntilMillis <= nowMillis {
            pulled.append(queue.deliver(at: position, invisibleUntilMillis: nowMillis + visibilityMillis))
        }
        queue.delivered += pulled.count
        setQueue(queue, named: name)
        return pulled
    }

    private mutating func ack(_ name: String, message: UInt64) throws(CoordinationError) {
        try CoordinationLimits.validate(name: name)
        guard var queue = queues[name], let position = queue.position(of: message) else {
            throw .invalidRequest("no message \(message) in queue '\(name)' (acknowledged already, or never there)")
        }
        queue.remove(at: position)
        queue.acknowledged += 1
        setQueue(queue, named: name)
    }
}

/// One in-cluster queue: messages in the order they were enqueued (IDs ascending).
public struct TaskQueueState: Equatable, Sendable {
    public internal(set) var messages: [QueueMessage] = []
    public internal(set) var lastMessageID: UInt64 = 0
    public internal(set) var enqueued = 0
    public internal(set) var delivered = 0
    public internal(set) var acknowledged = 0
    /// The messages' share of the replica digest (see `DelayTaskTable+StateHash`).
    var messagesHash = StateHashSum()

    func position(of id: UInt64) -> Int? {
        var low = 0
        var high = messages.count
        while low < high {
            let middle = (low + high) / 2
            if messages[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < messages.count && messages[low].id == id ? low : nil
    }
}

/// How firing went, cluster-wide: per node, how many firings it claimed; lateness (cluster time
/// from due to claimed) as a histogram over `TaskLimits.latenessBucketsMillis`.
public struct FiringStats: Equatable, Sendable {
    public internal(set) var firedByNode: [NodeID: Int] = [:]
    public internal(set) var latenessBuckets = Array(repeating: 0, count: TaskLimits.latenessBucketsMillis.count + 1)
    public internal(set) var late = 0
    public internal(set) var latenessMaxMillis: UInt64 = 0
    /// Firings claimed again after their claimer died or its lease ran out.
    public internal(set) var reclaims = 0
    /// Firings whose callback failed every try.
    public internal(set) var failures = 0

    public var fired: Int { firedByNode.values.reduce(0, +) }

    mutating func record(node: NodeID, latenessMillis: UInt64) {
        firedByNode[node, default: 0] += 1
        let bucket = TaskLimits.latenessBucketsMillis.firstIndex { latenessMillis <= $0 } ?? TaskLimits.latenessBucketsMillis.count
        latenessBuckets[bucket] += 1
        if latenessMillis > TaskLimits.lateMillis { late += 1 }
        latenessMaxMillis = max(latenessMaxMillis, latenessMillis)
    }
}
