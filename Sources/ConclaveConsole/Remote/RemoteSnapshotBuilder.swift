import ConclaveCoordination
import ConclaveResilience
import ConclaveTimers
import ConclaveWire

/// Turns the newest status report of each node into a `ClusterSnapshot`: roles, terms and indexes
/// from each node; link rates from the deltas of each transport's counters between reports; the
/// replicated services (locks, KV, config, tasks, throttles) from the node that has applied the
/// most; a leader timeline and an event log from what changed between reports. Pure and
/// deterministic: feed it reports with their arrival times (a recorded stream gives the same
/// frames every time).
public struct RemoteSnapshotBuilder {
    struct Node {
        var report: NodeStatusReport?
        var heardNanos: UInt64?
        var previous: (report: NodeStatusReport, atNanos: UInt64)?
        var problem: String?
        var reachable = false
    }

    let addresses: [PeerAddress]
    let intervalMillis: UInt64
    private(set) var nodes: [Node]
    private var timeline: [LeaderSpan] = []
    private var events: [ClusterEvent] = []
    private var eventsRecorded: UInt64 = 0
    private var lastLeader: (id: UInt64, term: UInt64)?
    private var lockTimelines: [String: [UInt64]] = [:]
    private var firstNanos: UInt64?
    /// The console's client routing breakers, one per node: each connection attempt is a call
    /// (a success once the node's first report arrives), so a node that keeps refusing is left
    /// alone while its breaker is open, and probed again when it half-opens.
    private(set) var routes: [CircuitBreaker]

    static let routeBreaker = CircuitBreakerConfiguration(
        window: .countBased(calls: 10), minimumCalls: 3, failureRateThresholdPercent: 50, waitInOpenNanos: 2_000_000_000,
        halfOpenProbes: 1, transitionHistoryMax: 16)

    /// A node unheard for this many intervals (and at least a second) counts as unreachable.
    static let silentIntervals: UInt64 = 5

    public init(addresses: [PeerAddress], intervalMillis: UInt64) {
        self.addresses = addresses
        self.intervalMillis = intervalMillis
        nodes = Array(repeating: Node(), count: addresses.count)
        routes = addresses.map { _ in try! CircuitBreaker(configuration: Self.routeBreaker, nowNanos: 0) }
    }

    // MARK: - Routes

    /// A permit to connect to node `index` now, or nil while its breaker refuses.
    mutating func admitConnect(_ index: Int, atNanos now: UInt64) -> CircuitBreakerPermit? {
        let admission = routes[index].acquire(nowNanos: now)
        if let transition = admission.transition { noteRoute(index, transition, atNanos: now) }
        return admission.permit
    }

    /// How a connection attempt went: a success once a report arrived through it.
    mutating func connected(_ index: Int, _ permit: CircuitBreakerPermit, succeeded: Bool, atNanos now: UInt64) {
        if let transition = routes[index].record(succeeded ? .success : .failure, permit: permit, durationNanos: 0, nowNanos: now) {
            noteRoute(index, transition, atNanos: now)
        }
    }

    /// The operator's breaker keys (o, d, c) on a route.
    mutating func operate(_ name: String, _ action: BreakerAction, atNanos now: UInt64) throws(ControlError) -> String {
        try BreakerSnapshot.refuseOperating(name)
        guard let index = addresses.indices.first(where: { Self.routeName(addresses[$0]) == name }) else {
            throw ControlError("no breaker '\(name)': the routes are \(addresses.map(Self.routeName).joined(separator: ", "))")
        }
        if let transition = routes[index].perform(action, nowNanos: now) { noteRoute(index, transition, atNanos: now) }
        return "\(action.rawValue) \(name)"
    }

    static func routeName(_ address: PeerAddress) -> String { "→\(address)" }

    private mutating func noteRoute(_ index: Int, _ transition: CircuitBreakerTransition, atNanos now: UInt64) {
        record(.fault, "route \(addresses[index]): \(transition.source.rawValue) → \(transition.target.rawValue) (\(transition.reason))",
               atNanos: now)
    }

    // MARK: - Input

    public mutating func take(_ report: NodeStatusReport, from index: Int, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        var node = nodes[index]
        if !node.reachable { record(.info, "node \(report.node) at \(addresses[index]) reporting", atNanos: now) }
        if let old = node.report { node.previous = (old, node.heardNanos ?? now) }
        node.report = report
        node.heardNanos = now
        node.reachable = true
        node.problem = nil
        nodes[index] = node
        noteLeader(atNanos: now)
        noteLocks(report)
    }

    mutating func lost(_ index: Int, problem: String) {
        guard nodes[index].problem != problem else { return }
        let name = nodes[index].report.map { "node \($0.node)" } ?? "\(addresses[index])"
        if nodes[index].reachable || nodes[index].problem == nil {
            record(.fault, "\(name) unreachable: \(problem)", atNanos: nodes[index].heardNanos ?? firstNanos ?? 0)
        }
        nodes[index].reachable = false
        nodes[index].problem = problem
    }

    mutating func note(_ text: String, isError: Bool, atNanos now: UInt64) {
        record(isError ? .info : .control, text, atNanos: now)
    }

    private mutating func record(_ kind: ClusterEvent.Kind, _ text: String, atNanos now: UInt64) {
        eventsRecorded += 1
        events.append(ClusterEvent(nanos: now - min(now, firstNanos ?? now), kind: kind, text: text, sequence: eventsRecorded))
        if events.count > ClusterSnapshot.eventsMax { events.removeFirst(events.count - ClusterSnapshot.eventsMax) }
    }

    private mutating func noteLeader(atNanos now: UInt64) {
        guard let current = leaderClaim else { return }
        guard current.id != lastLeader?.id || current.term != lastLeader?.term else { return }
        lastLeader = current
        record(.election, current.id == 0 ? "no leader (term \(current.term))" : "node \(current.id) leads (term \(current.term))",
               atNanos: now)
        timeline.append(LeaderSpan(startNanos: now - min(now, firstNanos ?? now), leader: current.id == 0 ? nil : current.id,
                                   term: current.term))
        if timeline.count > ClusterSnapshot.timelineMax { timeline.removeFirst(timeline.count - ClusterSnapshot.timelineMax) }
    }

    private mutating func noteLocks(_ report: NodeStatusReport) {
        guard report.node == servicesSource?.node else { return }
        for lock in report.locks {
            for holder in lock.holders where lockTimelines[lock.name]?.last != holder.token {
                lockTimelines[lock.name, default: []].append(holder.token)
                if lockTimelines[lock.name]!.count > 32 { lockTimelines[lock.name]!.removeFirst() }
            }
        }
    }

    // MARK: - What the reports agree on

    /// The leader named at the highest term any reachable node reports.
    private var leaderClaim: (id: UInt64, term: UInt64)? {
        let reports = nodes.filter(\.reachable).compactMap(\.report)
        guard let term = reports.map(\.term).max() else { return nil }
        let leader = reports.filter { $0.term == term }.map(\.leader).first { $0 != 0 } ?? 0
        return (leader, term)
    }

    var leader: UInt64? { leaderClaim.flatMap { $0.id == 0 ? nil : $0.id } }

    /// Node ID → index of its address, for every node heard from.
    var knownNodes: [UInt64: Int] {
        var known: [UInt64: Int] = [:]
        for (index, node) in nodes.enumerated() { if let report = node.report { known[report.node] = index } }
        return known
    }

    func pid(of index: Int) -> Int32? { nodes[index].report?.pid }

    func isLocal(_ index: Int) -> Bool {
        let host = addresses[index].host
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    /// The reachable node that has applied the most: the services as the cluster has them.
    private var servicesSource: NodeStatusReport? {
        nodes.filter(\.reachable).compactMap(\.report).max { ($0.applied, $1.node) < ($1.applied, $0.node) }
    }

    // MARK: - The snapshot

    public func snapshot(nowNanos now: UInt64) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.mode = "remote"
        snapshot.source = "\(addresses.count) node\(addresses.count == 1 ? "" : "s") at \(addresses.first.map { "\($0)" } ?? "")\(addresses.count > 1 ? "…" : "")"
        snapshot.nowNanos = now - min(now, firstNanos ?? now)
        snapshot.nodes = nodes.enumerated().map { index, node in nodeSnapshot(index, node, nowNanos: now) }
        snapshot.links = links()
        snapshot.messagesPerSecond = snapshot.links.joined().reduce(0) { $0 + $1.messagesPerSecond }
        snapshot.network.groups = partitionGroups()
        let faults = nodes.compactMap { $0.reachable ? $0.report?.faults : nil }
        snapshot.network.dropPercent = faults.map(\.dropPercent).max() ?? 0
        snapshot.network.delayMillis = faults.map(\.delayMillis).max() ?? 0
        snapshot.leaderTimeline = timeline
        snapshot.events = events
        if let source = servicesSource {
            fillServices(&snapshot, from: source, nowNanos: now)
        } else {
            snapshot.breakers = routeBreakers(nowNanos: now)
        }
        return snapshot
    }

    private func routeBreakers(nowNanos now: UInt64) -> [BreakerSnapshot] {
        routes.enumerated().map { index, breaker in
            BreakerSnapshot(name: Self.routeName(addresses[index]), breaker: breaker, atNanos: now, originNanos: firstNanos ?? 0)
        }
    }

    private func nodeSnapshot(_ index: Int, _ node: Node, nowNanos now: UInt64) -> NodeSnapshot {
        guard let report = node.report else {
            var unknown = NodeSnapshot(id: UInt64(index + 1), role: .none, health: .unreachable)
            unknown.silentMillis = (now - min(now, firstNanos ?? now)) / 1_000_000
            return unknown
        }
        let silentMillis = (now - min(now, node.heardNanos ?? now)) / 1_000_000
        let silentLimit = max(1_000, Self.silentIntervals * intervalMillis)
        let health: NodeSnapshot.Health = !node.reachable || silentMillis > silentLimit ? .unreachable
            : report.faults.pausedForMillis > 0 ? .paused : .up
        let role: NodeSnapshot.Role = report.learners.contains(report.node) ? .learner
            : report.role == "preCandidate" ? .preCandidate : NodeSnapshot.Role(rawValue: report.role) ?? .follower
        var snapshot = NodeSnapshot(id: report.node, role: role, health: health)
        snapshot.term = report.term
        snapshot.vote = report.vote
        snapshot.commit = report.commit
        snapshot.applied = report.applied
        snapshot.lastIndex = report.lastIndex
        snapshot.snapshotIndex = report.snapshotIndex
        snapshot.isVoter = report.voters.contains(report.node)
        snapshot.electionElapsedTicks = report.electionElapsedTicks
        snapshot.electionTimeoutTicks = max(1, report.electionTimeoutTicks)
        snapshot.clockOffsetMillis = report.faults.skewMillis
        snapshot.pausedForMillis = report.faults.pausedForMillis
        snapshot.silentMillis = silentMillis
        snapshot.fsyncP99Micros = report.disk.map(\.fsyncP99Micros)
        snapshot.fsyncOff = report.disk?.synced == false
        snapshot.partitionGroup = partitionGroups().firstIndex { $0.contains(report.node) }.map { $0 + 1 } ?? 0
        return snapshot
    }

    /// `links[i][j]`: messages node i sent to node j per second, from i's transport counters
    /// between its last two reports; open unless a rule cuts it or i cannot reach j.
    private func links() -> [[LinkSnapshot]] {
        let ids = nodes.enumerated().map { index, node in node.report?.node ?? UInt64(index + 1) }
        return nodes.map { node in
            ids.map { target in
                guard node.reachable, let report = node.report, target != report.node,
                      let peer = report.peers.first(where: { $0.id == target }) else {
                    return LinkSnapshot(isOpen: false, inFlight: 0)
                }
                var rate = 0.0
                if let (old, then) = node.previous, let before = old.peers.first(where: { $0.id == target }),
                   let heard = node.heardNanos, heard > then, peer.messagesSent >= before.messagesSent {
                    rate = Double(peer.messagesSent - before.messagesSent) / (Double(heard - then) / 1e9)
                }
                return LinkSnapshot(isOpen: peer.connected && !peer.cut, inFlight: peer.inFlight ?? 0, messagesPerSecond: rate,
                                    match: peer.match, next: peer.next)
            }
        }
    }

    /// Groups of nodes that can talk, when operators' rules cut some links; empty when whole.
    private func partitionGroups() -> [[UInt64]] {
        let reports = nodes.filter(\.reachable).compactMap(\.report)
        guard reports.contains(where: { !$0.faults.cutFrom.isEmpty }) else { return [] }
        var cut: Set<[UInt64]> = []
        for report in reports { for peer in report.faults.cutFrom { cut.insert([min(report.node, peer), max(report.node, peer)]) } }
        var groups: [[UInt64]] = []
        for id in reports.map(\.node).sorted() {
            if let index = groups.firstIndex(where: { group in group.allSatisfy { !cut.contains([min($0, id), max($0, id)]) } }) {
                groups[index].append(id)
            } else {
                groups.append([id])
            }
        }
        return groups.count > 1 ? groups : []
    }

    private func fillServices(_ snapshot: inout ClusterSnapshot, from report: NodeStatusReport, nowNanos now: UInt64) {
        snapshot.sessions = report.sessions
        snapshot.locks = report.locks.map { lock in
            var view = LockSnapshot(name: lock.name, kind: LockKind(description: lock.kind))
            view.holders = lock.holders.map {
                LockSnapshot.Holder(session: $0.session, token: $0.token, holdCount: $0.holdCount, heldMillis: $0.heldMillis,
                                    leaseLeftMillis: $0.leaseLeftMillis, leaseMillis: $0.leaseMillis)
            }
            view.waiters = lock.waiters
            view.lastToken = lock.lastToken
            view.acquires = lock.acquires
            view.refusals = lock.refusals
            view.waitP50Millis = lock.waitP50Millis
            view.waitP99Millis = lock.waitP99Millis
            view.holderTimeline = lockTimelines[lock.name] ?? []
            return view
        }
        snapshot.kv = report.keys.keys.sorted().map { KeyValue(key: $0, value: report.keys[$0]!) }
        snapshot.config = report.config.map { ConfigEntry(key: $0.key, revision: $0.revision, value: $0.value, versions: $0.versions) }
        snapshot.configEvents = report.configEvents.map { ConfigEvent(revision: $0.revision, key: $0.key, value: $0.value) }
        snapshot.ids.workers = nodes.compactMap { node in
            guard let report = node.report, let worker = report.ids.worker else { return nil }
            var perSecond = 0.0
            if let (old, then) = node.previous, let heard = node.heardNanos, heard > then, report.ids.issued >= old.ids.issued {
                perSecond = Double(report.ids.issued - old.ids.issued) / (Double(heard - then) / 1e9)
            }
            return IDsSnapshot.Worker(node: report.node, worker: worker, issued: Int(clamping: report.ids.issued), perSecond: perSecond,
                                      clockOffsetMillis: report.faults.skewMillis, lastID: report.ids.lastID, waits: 0, refusals: 0)
        }
        snapshot.ids.latestID = snapshot.ids.workers.compactMap(\.lastID).max()
        snapshot.limiters = report.throttles.map {
            LimiterSnapshot(name: $0.key, kind: "throttle (GCRA, replicated)", available: 0, capacity: 0, allowed: $0.allowed,
                            refused: $0.refused, allowedHistory: [], refusedHistory: [])
        }
        snapshot.breakers = routeBreakers(nowNanos: now) + nodes.compactMap(\.report).flatMap { node in
            node.breakers.compactMap { breaker -> BreakerSnapshot? in
                guard let state = CircuitBreakerState(rawValue: breaker.state) else { return nil }
                let target = breaker.name.hasPrefix("callback:") ? String(breaker.name.dropFirst("callback:".count)) : breaker.name
                return BreakerSnapshot(name: BreakerSnapshot.callbackName(node: node.node, target: target), state: state,
                                       failureRatePercent: breaker.failureRatePercent, thresholdPercent: breaker.thresholdPercent,
                                       calls: breaker.calls, probesIssued: 0, probesAllowed: 0, notPermitted: breaker.notPermitted,
                                       transitions: [])
            }
        }
        var distributed = SchedulerSnapshot.Distributed()
        distributed.owners = report.tasks.owners
        distributed.pending = report.tasks.pending
        distributed.fired = report.tasks.fired
        distributed.late = report.tasks.late
        distributed.reclaims = report.tasks.reclaims
        distributed.latenessBuckets = report.tasks.latenessBuckets
        distributed.latenessLabels = report.tasks.latenessLabels
        distributed.firedByNode = snapshot.nodes.map { report.tasks.firedByNode[$0.id] ?? 0 }
        // Each node's own wake-up heap, in cluster time, as its last report had it.
        distributed.heaps = nodes.compactMap(\.report).sorted { $0.node < $1.node }.map { node in
            SchedulerSnapshot.NodeHeap(node: node.node, heap: TimerQueueSnapshot(
                kind: "\(node.tasks.heapArity)-ary heap", count: node.tasks.heapCount, nowMillis: node.clusterTimeMillis,
                nextDeadlineMillis: node.tasks.heapLevels.first?.first, dueCount: 0,
                layout: .tree(arity: node.tasks.heapArity, levels: node.tasks.heapLevels)))
        }
        // The leader's first, as the embedded console shows its view node's.
        distributed.defaultHeapNode = nodes.compactMap(\.report).first { $0.role == "leader" && $0.leader == $0.node }?.node ?? report.node
        snapshot.scheduler.distributed = distributed
    }
}
