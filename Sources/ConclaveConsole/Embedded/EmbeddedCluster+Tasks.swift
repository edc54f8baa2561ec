import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// The delay-task part of the workload: a client schedules one-shot tasks through consensus (the
/// distributed scheduler's owners fire them into the "jobs" queue) and a consumer pulls and acks
/// the queue, so it stays short. The console's own timing wheel mirrors the same deadlines, so the
/// Scheduler view shows one set of tasks in both structures.
extension EmbeddedCluster {
    static let taskClient: UInt64 = 800_001
    static let tasksPerTick = 2
    static let jobsQueue = "jobs"

    func taskTick() {
        guard workload.knobs.rate > 0, let node = simulator.leader else { return }
        for _ in 0..<Self.tasksPerTick {
            let delay = 100 + workload.random.next() % 8_000
            workload.nextTaskName += 1
            let spec = TaskSpec(name: "job-\(workload.nextTaskName)", timing: .after(millis: delay), target: .queue(Self.jobsQueue))
            if submitTask(.schedule(spec), to: node) {
                services.mirrorTask(id: workload.nextTaskName, deadlineMillis: simulator.now / 1_000_000 + delay)
            }
        }
        _ = submitTask(.pull(queue: Self.jobsQueue, max: 50, visibilityMillis: 5_000), to: node)
    }

    @discardableResult
    func submitTask(_ command: TaskCommand, to node: NodeID) -> Bool {
        workload.taskSequence += 1
        let request = CoordinationRequest(client: Self.taskClient, sequence: workload.taskSequence, command: .task(command))
        if case .accepted = simulator.submit(request, to: node) { return true }
        return false
    }

    /// Pulled messages are acknowledged at once (the consumer's work is not the point here).
    func taskReplied(node: NodeID, result: CoordinationResult) {
        guard case .task(.messages(let messages)) = result else { return }
        for message in messages { submitTask(.ack(queue: Self.jobsQueue, message: message.id), to: node) }
    }

    /// The distributed scheduler as the view node's replicated table and each node's scheduler see it.
    func distributedScheduler(from machine: CoordinationStateMachine) -> SchedulerSnapshot.Distributed? {
        let table = machine.tasks
        guard !table.tasks.isEmpty || table.stats.fired > 0 else { return nil }
        var distributed = SchedulerSnapshot.Distributed()
        distributed.owners = table.owners.map { $0.map { UInt64($0) } }
        distributed.pending = table.tasks.count
        distributed.fired = table.stats.fired
        distributed.late = table.stats.late
        distributed.reclaims = table.stats.reclaims
        distributed.latenessBuckets = table.stats.latenessBuckets
        distributed.latenessLabels = TaskLimits.latenessBucketsMillis.map { "≤\($0)" } + [">\(TaskLimits.latenessBucketsMillis.last!)"]
        distributed.firedByNode = simulator.nodeIDs.map { table.stats.firedByNode[$0] ?? 0 }
        if let node = viewNode {
            let status = simulator.schedulerStatus(of: node, entriesMax: 85)
            distributed.heapNode = node
            distributed.heap = status.timers
        }
        return distributed
    }
}
