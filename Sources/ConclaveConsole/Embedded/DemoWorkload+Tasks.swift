import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// The delay-task part of the workload: a client schedules one-shot tasks through consensus (the
/// distributed scheduler's owners fire them into the "jobs" queue) and a consumer pulls and acks
/// the queue, so it stays short. The console's own timing wheel mirrors the same deadlines, so the
/// Scheduler view shows one set of tasks in both structures.
extension DemoWorkload {
    static let taskClient: UInt64 = 800_001
    static let tasksPerTick = 2
    static let jobsQueue = "jobs"

    /// Every service tick: schedule `tasksPerTick` tasks through the leader and pull the queue.
    mutating func taskTick(services: inout ServiceModels) {
        guard knobs.rate > 0, let node = simulator.leader else { return }
        for _ in 0..<Self.tasksPerTick {
            let delay = 100 + random.next() % 8_000
            nextTaskName += 1
            let spec = TaskSpec(name: "job-\(nextTaskName)", timing: .after(millis: delay), target: .queue(Self.jobsQueue))
            if submitTask(.schedule(spec), to: node) {
                services.mirrorTask(id: nextTaskName, deadlineMillis: simulator.now / 1_000_000 + delay)
            }
        }
        submitTask(.pull(queue: Self.jobsQueue, max: 50, visibilityMillis: 5_000), to: node)
    }

    @discardableResult
    private mutating func submitTask(_ command: TaskCommand, to node: NodeID) -> Bool {
        taskSequence += 1
        let request = CoordinationRequest(client: Self.taskClient, sequence: taskSequence, command: .task(command))
        if case .accepted = simulator.submit(request, to: node) { return true }
        return false
    }

    /// Pulled messages are acknowledged at once (the consumer's work is not the point here).
    mutating func taskReplied(node: NodeID, result: CoordinationResult) {
        guard case .task(.messages(let messages)) = result else { return }
        for message in messages { submitTask(.ack(queue: Self.jobsQueue, message: message.id), to: node) }
    }
}
