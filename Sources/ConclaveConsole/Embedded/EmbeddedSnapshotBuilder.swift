import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft

/// The embedded cluster as the console shows it: the driver's simulator (nodes, links, network),
/// the workload's knobs and counters, what the console measured (rates, timelines, events) and the
/// service models, turned into one `ClusterSnapshot`. It only reads; the remote source has its own
/// builder (`RemoteSnapshotBuilder`) over status reports.
struct EmbeddedSnapshotBuilder {
    let seed: UInt64
    let driver: SimulationDriver
    let workload: DemoWorkload
    let services: ServiceModels
    let observed: ClusterObservations
    private var simulator: Simulator { driver.simulator }

    func snapshot() -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.seed = seed
        snapshot.nowNanos = simulator.now
        snapshot.speed = driver.time.speed
        snapshot.isPaused = driver.time.isPaused
        snapshot.lastStep = driver.lastStep
        snapshot.nodes = nodeSnapshots()
        snapshot.links = linkSnapshots()
        let rates = simulator.networkFaultRates
        snapshot.network.dropPercent = Int((rates.dropProbability * 100).rounded())
        snapshot.network.duplicatePercent = Int((rates.duplicateProbability * 100).rounded())
        snapshot.network.delayMillis = rates.extraDelayMaxNanos / 1_000_000
        snapshot.network.groups = simulator.isPartitioned ? simulator.partitionGroups : []
        snapshot.leaderTimeline = observed.timeline
        snapshot.messagesPerSecond = observed.messagesPerSecond
        snapshot.workload = workload.knobs
        snapshot.contention = observed.contention
        snapshot.events = observed.events
        fillServices(&snapshot)
        if let node = driver.viewNode {
            fillState(&snapshot, from: simulator.coordination(of: node))
            snapshot.scheduler.distributed = distributedScheduler(from: simulator.coordination(of: node), viewNode: node)
        }
        return snapshot
    }

    private func nodeSnapshots() -> [NodeSnapshot] {
        let groups = simulator.isPartitioned ? simulator.partitionGroups : []
        return simulator.nodeIDs.map { id in
            let status = simulator.status(of: id)
            let health: NodeSnapshot.Health
            switch status.health {
            case .up: health = .up
            case .crashed: health = .crashed
            case .paused: health = .paused
            }
            var node = NodeSnapshot(id: id, role: .none, health: health)
            if let raft = status.raft {
                node.role = raft.learners.contains(id) ? .learner : NodeSnapshot.Role(raft.role)
                node.isVoter = raft.voters.contains(id)
                node.term = raft.term
                node.vote = raft.vote
                node.commit = raft.commit
                node.applied = raft.applied
                node.lastIndex = raft.lastIndex
                node.snapshotIndex = raft.snapshotIndex
                node.electionElapsedTicks = raft.electionElapsed
                node.electionTimeoutTicks = max(1, raft.electionTimeout)
            }
            node.partitionGroup = groups.firstIndex { $0.contains(id) }.map { $0 + 1 } ?? 0
            node.clockOffsetMillis = status.clockOffsetMillis
            node.clockRatePermille = status.clockRatePermille
            if let until = simulator.pausedUntil(id) { node.pausedForMillis = (until - min(until, simulator.now)) / 1_000_000 }
            return node
        }
    }

    private func linkSnapshots() -> [[LinkSnapshot]] {
        let ids = simulator.nodeIDs
        let leaderStatus = simulator.leader.flatMap { simulator.status(of: $0).raft }
        return ids.map { source in
            ids.map { target in
                let open = source != target && !simulator.isCrashed(source) && !simulator.isCrashed(target)
                    && simulator.linkIsOpen(from: source, to: target)
                let follower = leaderStatus?.id == source ? leaderStatus?.followers.first { $0.node == target } : nil
                return LinkSnapshot(isOpen: open, inFlight: follower?.inFlight ?? 0,
                                    messagesPerSecond: observed.pairRates[source << 32 | target] ?? 0, match: follower?.match,
                                    next: follower?.next)
            }
        }
    }

    private func fillState(_ snapshot: inout ClusterSnapshot, from machine: CoordinationStateMachine) {
        let now = machine.nowMillis
        snapshot.sessions = machine.sessions.sessions.count
        let names = Set(machine.locks.locks.keys).union(observed.knownLocks).sorted()
        snapshot.locks = names.map { name in
            guard let lock = machine.locks.locks[name] else {
                var free = LockSnapshot(name: name, kind: nil)
                free.acquires = workload.lockCounts[name]?.acquires ?? 0
                free.refusals = workload.lockCounts[name]?.refusals ?? 0
                free.acquiresPerSecond = max(0, observed.lockRates[name]?.perSecond.0 ?? 0)
                free.refusalsPerSecond = max(0, observed.lockRates[name]?.perSecond.1 ?? 0)
                free.holderTimeline = observed.lockTimelines[name] ?? []
                return free
            }
            var view = LockSnapshot(name: name, kind: lock.kind)
            view.holders = lock.holders.map { holder in
                let lease = holder.lease(sessions: machine.sessions, nowMillis: now)
                return LockSnapshot.Holder(session: holder.session, token: holder.token, holdCount: holder.holdCount,
                                           heldMillis: lease.heldMillis, leaseLeftMillis: lease.leftMillis, leaseMillis: lease.lengthMillis)
            }
            view.waiters = lock.waiters.map(\.session)
            view.lastToken = lock.lastToken
            view.acquires = workload.lockCounts[name]?.acquires ?? lock.acquires
            view.refusals = workload.lockCounts[name]?.refusals ?? lock.refusals
            view.waitP50Millis = lock.waitMillis(atPercentile: 50)
            view.waitP99Millis = lock.waitMillis(atPercentile: 99)
            if let rates = observed.lockRates[name] {
                view.acquiresPerSecond = max(0, rates.perSecond.0)
                view.refusalsPerSecond = max(0, rates.perSecond.1)
            }
            view.holderTimeline = observed.lockTimelines[name] ?? []
            return view
        }
        snapshot.kv = machine.kv.values.keys.sorted().prefix(200).map { KeyValue(key: $0, value: machine.kv.values[$0]!) }
        snapshot.config = machine.config.history.keys.sorted().prefix(200).map { key in
            let versions = machine.config.history[key]!
            return ConfigEntry(key: key, revision: versions.last?.revision ?? 0, value: versions.last?.value, versions: versions.count)
        }
        snapshot.configEvents = machine.config.events.suffix(50).map { ConfigEvent(revision: $0.revision, key: $0.key, value: $0.value) }
    }

    private func fillServices(_ snapshot: inout ClusterSnapshot) {
        let now = simulator.now
        var ids = services.ids
        ids.workers = services.idStats.indices.map { index in
            let node = UInt64(index + 1)
            let stats = services.idStats[index]
            let offset = simulator.nodeIDs.contains(node) ? simulator.status(of: node).clockOffsetMillis : 0
            return IDsSnapshot.Worker(node: node, worker: node, issued: stats.issued, perSecond: stats.perSecond,
                                      clockOffsetMillis: offset, lastID: stats.lastID, waits: stats.waits, refusals: stats.refusals)
        }
        if let latest = ids.latestID, let fields = try? services.generators[0].configuration.layout.decode(latest) {
            ids.latestFields = IDsSnapshot.Fields(timestampMillis: fields.timestampMillis, datacenter: fields.datacenterID,
                                                  worker: fields.workerID, sequence: fields.sequence)
        }
        snapshot.ids = ids
        snapshot.limiters = services.limiters.map { entry in
            let (available, capacity) = entry.limiter.available(nowNanos: now)
            return LimiterSnapshot(name: entry.name, kind: entry.kind, available: max(0, available), capacity: capacity,
                                   allowed: entry.allowed, refused: entry.refused,
                                   allowedHistory: entry.history.map(\.0), refusedHistory: entry.history.map(\.1))
        }
        snapshot.breakers = services.breakers.enumerated().map { index, breaker in
            BreakerSnapshot(name: "node-\(index + 1)", breaker: breaker, atNanos: now)
        }
        for node in simulator.nodeIDs {
            for (target, breaker) in simulator.callbackBreakers(of: node).sorted(by: { $0.key < $1.key }) {
                snapshot.breakers.append(BreakerSnapshot(name: BreakerSnapshot.callbackName(node: UInt64(node), target: target),
                                                         breaker: breaker, atNanos: now))
            }
        }
        snapshot.balancers = services.balancers.snapshots()
        snapshot.scheduler = schedulerSnapshot()
    }

    private func schedulerSnapshot() -> SchedulerSnapshot {
        var scheduler = SchedulerSnapshot()
        scheduler.fill(heap: services.heap.snapshot(entriesMax: 85), wheel: services.wheel.snapshot(entriesMax: 64))
        scheduler.partitions = services.partitions
        scheduler.latenessBuckets = services.latenessBuckets
        scheduler.fired = services.fired
        return scheduler
    }

    /// The distributed scheduler as the view node's replicated table and its own scheduler see it.
    private func distributedScheduler(from machine: CoordinationStateMachine, viewNode node: NodeID) -> SchedulerSnapshot.Distributed? {
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
        distributed.heaps = simulator.nodeIDs.map {
            SchedulerSnapshot.NodeHeap(node: UInt64($0), heap: simulator.schedulerStatus(of: $0, entriesMax: 85).timers)
        }
        distributed.defaultHeapNode = UInt64(node)
        return distributed
    }
}

extension NodeSnapshot.Role {
    /// A voter's role as its Raft core states it (learners are told apart by the caller).
    init(_ role: Raft.Role) {
        switch role {
        case .leader: self = .leader
        case .follower: self = .follower
        case .candidate: self = .candidate
        case .preCandidate: self = .preCandidate
        }
    }
}
