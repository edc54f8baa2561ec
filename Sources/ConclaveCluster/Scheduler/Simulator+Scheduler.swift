import ConclaveCore
import ConclaveCoordination
import ConclaveResilience
import ConclaveTimers

// The delay-task scheduler's world: the timers a node's core asked for, and what the simulated
// callback targets received. The scheduler itself runs in each node's core (NodeCore+Scheduler).
extension Simulator {
    func callbackPoolDue(_ node: NodeID, incarnation: Int) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation else { return }
        drive(position) { core, time in core.callbackPoolDue(at: time) }
    }

    func callbackRetry(_ node: NodeID, incarnation: Int, task: UInt64) {
        let position = index(of: node)
        guard nodes[position].incarnation == incarnation, nodes[position].health != .crashed else { return }
        drive(position) { core, time in core.retryCallback(task: task, at: time) }
    }

    func recordDelivery(_ delivery: CallbackDelivery) {
        callbackDeliveriesTotal += 1
        if callbackDeliveries.count >= config.scheduler.deliveriesKept { callbackDeliveries.removeFirst() }
        callbackDeliveries.append(delivery)
    }
}

// MARK: - What the console and tests see

/// One node's scheduler as an observer sees it.
public struct NodeSchedulerStatus: Equatable, Sendable {
    public var node: NodeID
    /// The node's timer heap of wake-ups (top levels, for drawing).
    public var timers: TimerQueueSnapshot
    /// Partitions this node is primary of, and replica of.
    public var primaryOf: [Int]
    public var replicaOf: [Int]
    /// The earliest wake-ups: (task, cluster time).
    public var nextWakeUps: [(task: UInt64, atMillis: UInt64)]
    public var busyWorkers: Int
    public var queuedTries: Int
    public var firingsInHand: Int
    public var breakers: [String: CircuitBreakerState]
    public var counters: NodeSchedulerCounters

    public static func == (left: Self, right: Self) -> Bool {
        left.node == right.node && left.timers == right.timers && left.primaryOf == right.primaryOf
            && left.replicaOf == right.replicaOf && left.nextWakeUps.map(\.task) == right.nextWakeUps.map(\.task)
            && left.nextWakeUps.map(\.atMillis) == right.nextWakeUps.map(\.atMillis)
            && left.busyWorkers == right.busyWorkers && left.queuedTries == right.queuedTries
            && left.firingsInHand == right.firingsInHand && left.breakers == right.breakers && left.counters == right.counters
    }

    /// The partition letters the way the issue draws them: primary upper case, replica lower
    /// case, in partition order (`A b d E`).
    public var ownershipLetters: String {
        (0..<TaskLimits.partitions).compactMap { partition -> String? in
            let letter = String(UnicodeScalar(UInt8(65 + partition)))
            if primaryOf.contains(partition) { return letter }
            if replicaOf.contains(partition) { return letter.lowercased() }
            return nil
        }.joined(separator: " ")
    }
}

extension Simulator {
    /// The node's scheduler (as it was when the node went down, while it is crashed).
    public func schedulerStatus(of node: NodeID, entriesMax: Int = 16) -> NodeSchedulerStatus {
        let memory = nodes[index(of: node)].memory
        let table = memory?.stateMachine.tasks ?? DelayTaskTable()
        var primary: [Int] = []
        var replica: [Int] = []
        for (partition, owners) in table.owners.enumerated() {
            if owners.first == node { primary.append(partition) } else if owners.contains(node) { replica.append(partition) }
        }
        let scheduler = memory?.scheduler ?? NodeScheduler(node: node, settings: config.scheduler)
        let pool = scheduler.pool.snapshot
        let next = scheduler.wakeUps.deadlines.map { (task: $0.key, atMillis: $0.deadlineMillis) }
            .sorted { ($0.atMillis, $0.task) < ($1.atMillis, $1.task) }.prefix(entriesMax)
        return NodeSchedulerStatus(
            node: node, timers: scheduler.wakeUps.snapshot(entriesMax: entriesMax), primaryOf: primary, replicaOf: replica,
            nextWakeUps: Array(next), busyWorkers: pool.busyWorkers, queuedTries: pool.queueDepth,
            firingsInHand: scheduler.firings.count, breakers: scheduler.breakerSnapshot(), counters: scheduler.counters)
    }

    /// The breakers in front of the callback targets `node` has called in this life, by target
    /// (empty while it is down).
    public func callbackBreakers(of node: NodeID) -> [String: CircuitBreaker] {
        nodes[index(of: node)].memory?.scheduler.breakers ?? [:]
    }
}
