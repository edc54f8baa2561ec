import ConclaveCore
import ConclaveCoordination

/// One request at a time from one client, sent again to the next node when a node does not
/// answer in time (same client and sequence, so it takes effect once).
struct TaskChannel {
    let client: UInt64
    var sequence: UInt64 = 0
    var inFlight: (request: CoordinationRequest, node: NodeID, sentAt: UInt64)?

    init(client: UInt64) { self.client = client }
}

/// The delay-task workload: a producer schedules tasks (half to the queue, half to a callback)
/// with idempotency keys at `taskIntervalNanos`, a consumer pulls and acknowledges the queue.
/// Checked at the end: no task overdue by more than `overdueMillis` of cluster time, every finished
/// task ended done, every queue message consumed was scheduled, and every queue task that came due
/// was consumed.
struct TaskFeeder {
    var producer = TaskChannel(client: 1 << 40)
    var consumer = TaskChannel(client: 1 << 40 | 1)
    var number = 0
    /// Keys scheduled (with their task IDs once answered) and which go to the queue.
    var scheduled: [String: UInt64] = [:]
    var queueKeys: Set<String> = []
    var consumed: Set<String> = []
    var pendingAcks: [UInt64] = []
    static let overdueMillis: UInt64 = 5_000
    static let timerToken: UInt64 = 0x7A5C
}

extension ChaosRunner {
    func startTaskFeeder() {
        guard options.tasksIntervalNanos > 0 else { return }
        simulator.schedule(timer: TaskFeeder.timerToken, at: simulator.now + options.tasksIntervalNanos)
    }

    func taskFeederFired() {
        if !stopping {
            if let command = nextProducerCommand() { send(command, on: \.producer) } else { resendIfStale(\.producer) }
            if let command = nextConsumerCommand() { send(command, on: \.consumer) } else { resendIfStale(\.consumer) }
        }
        simulator.schedule(timer: TaskFeeder.timerToken, at: simulator.now + options.tasksIntervalNanos)
    }

    private func nextProducerCommand() -> CoordinationCommand? {
        guard feeder.producer.inFlight == nil else { return nil }
        let key = "chaos-task-\(feeder.number)"
        let toQueue = feeder.number % 2 == 0
        feeder.number += 1
        feeder.scheduled[key] = 0
        if toQueue { feeder.queueKeys.insert(key) }
        let spec = TaskSpec(name: key, timing: .after(millis: 100 + random.next() % 2_000), payload: key,
                            target: toQueue ? .queue("chaos") : .callback("chaos"), timeoutMillis: 500,
                            retry: RetryPolicy(attemptsMax: 10, backoffMillis: 100), idempotencyKey: key)
        return .task(.schedule(spec))
    }

    private func nextConsumerCommand() -> CoordinationCommand? {
        guard feeder.consumer.inFlight == nil else { return nil }
        if let message = feeder.pendingAcks.first { return .task(.ack(queue: "chaos", message: message)) }
        return .task(.pull(queue: "chaos", max: 50, visibilityMillis: 2_000))
    }

    private func send(_ command: CoordinationCommand, on channel: WritableKeyPath<TaskFeeder, TaskChannel>) {
        feeder[keyPath: channel].sequence += 1
        let request = CoordinationRequest(client: feeder[keyPath: channel].client, sequence: feeder[keyPath: channel].sequence,
                                          command: command)
        let node = simulator.leader ?? NodeID(1 + random.next() % UInt64(simulator.nodeIDs.count))
        feeder[keyPath: channel].inFlight = (request, node, simulator.now)
        _ = simulator.submit(request, to: node)
    }

    private func resendIfStale(_ channel: WritableKeyPath<TaskFeeder, TaskChannel>) {
        guard let inFlight = feeder[keyPath: channel].inFlight, simulator.now - inFlight.sentAt >= options.attemptTimeoutNanos else { return }
        let node = simulator.leader ?? (inFlight.node % NodeID(simulator.nodeIDs.count) + 1)
        feeder[keyPath: channel].inFlight = (inFlight.request, node, simulator.now)
        _ = simulator.submit(inFlight.request, to: node)
    }

    /// Routes an answer to the feeder; false when it is not the feeder's.
    func handleTaskReply(client: UInt64, sequence: UInt64, result: CoordinationResult) -> Bool {
        if client == feeder.producer.client {
            guard let inFlight = feeder.producer.inFlight, inFlight.request.sequence == sequence else { return true }
            feeder.producer.inFlight = nil
            if case .task(.schedule(let spec)) = inFlight.request.command, let key = spec.idempotencyKey,
               case .task(.scheduled(let id, _)) = result {
                feeder.scheduled[key] = id
            }
            return true
        }
        guard client == feeder.consumer.client else { return false }
        guard let inFlight = feeder.consumer.inFlight, inFlight.request.sequence == sequence else { return true }
        feeder.consumer.inFlight = nil
        switch (inFlight.request.command, result) {
        case (_, .task(.messages(let messages))):
            for message in messages {
                feeder.consumed.insert(message.key)
                feeder.pendingAcks.append(message.id)
            }
        case (.task(.ack(_, let message)), _):
            feeder.pendingAcks.removeAll { $0 == message }
        default:
            break
        }
        return true
    }

    /// What the delay-task workload must show at the end (empty: it held).
    func checkTasks() -> [String] {
        guard options.tasksIntervalNanos > 0 else { return [] }
        let machines = simulator.nodeIDs.filter { simulator.isUp($0) }.map { simulator.coordination(of: $0) }
        guard let machine = machines.max(by: { $0.appliedIndex < $1.appliedIndex }) else { return ["no node is up"] }
        let table = machine.tasks
        var problems: [String] = []
        for (key, id) in feeder.scheduled.sorted(by: { $0.key < $1.key }) where id != 0 {
            if let task = table.tasks[id], task.fireAtMillis + TaskFeeder.overdueMillis < machine.nowMillis {
                problems.append("task \(id) (\(key)) overdue: due at \(task.fireAtMillis), cluster time \(machine.nowMillis), \(task.state)")
            }
            if let ended = table.finished.last(where: { $0.task.id == id }), ended.ending != .done {
                problems.append("task \(id) (\(key)) ended \(ended.ending.rawValue)")
            }
            if feeder.queueKeys.contains(key), table.tasks[id] == nil, !feeder.consumed.contains(key),
               !(table.queues["chaos"]?.messages.contains { $0.key == key } ?? false) {
                problems.append("queue task \(id) (\(key)) fired but its message is neither consumed nor queued")
            }
        }
        for key in feeder.consumed.subtracting(feeder.queueKeys).sorted() { problems.append("consumed \(key), never scheduled") }
        return problems
    }
}
