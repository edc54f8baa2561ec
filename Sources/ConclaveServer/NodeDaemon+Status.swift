import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import ConclaveWire
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `CLUSTER.WATCH [interval-ms [JSON|BINARY]]`: the node pushes its `NodeStatusReport` to the connection
/// every interval, until `CLUSTER.UNWATCH` or the connection closes — the console's remote source
/// subscribes instead of polling. The report is built once per tick for every watcher due, and a
/// slow watcher is cut off by the client port's output limit like any slow reader.
struct StatusWatch {
    var connection: ClientConnection
    var intervalNanos: UInt64
    var nextNanos: UInt64
    /// The report's binary form (`NodeStatusReport.binaryEncoded`) instead of JSON.
    var binary: Bool

    static let intervalMillisRange: ClosedRange<UInt64> = 20...10_000
    static let defaultIntervalMillis: UInt64 = 100
    /// Watchers per node: a console per operator, not a fan-out service.
    static let watchersMax = 64
}

extension NodeDaemon {
    func startStatusWatch(intervalMillis: UInt64, binary: Bool, on connection: ClientConnection, reply: (RESPValue) -> Void) {
        guard StatusWatch.intervalMillisRange.contains(intervalMillis) else {
            return reply(.error("ERR CLUSTER.WATCH interval \(intervalMillis) ms: accepted \(StatusWatch.intervalMillisRange.lowerBound)…\(StatusWatch.intervalMillisRange.upperBound)"))
        }
        guard native.statusWatches.count < StatusWatch.watchersMax || native.statusWatches[connection.id] != nil else {
            return reply(.error("LIMIT this node serves at most \(StatusWatch.watchersMax) status watchers"))
        }
        reply(.array([.bulk("cluster.watch"), .integer(Int64(intervalMillis)), .bulk(binary ? "binary" : "json")]))
        let now = now().timerNanos
        native.statusWatches[connection.id] = StatusWatch(connection: connection, intervalNanos: intervalMillis * 1_000_000,
                                                          nextNanos: now, binary: binary)
        pushStatusReports(nowNanos: now)
    }

    /// Pushes a report to every watcher whose interval has come round (called every tick).
    func pushStatusReports(nowNanos: UInt64) {
        guard !native.statusWatches.isEmpty else { return }
        var report: NodeStatusReport?
        var encoded: [Bool: RESPValue] = [:]  // by format, each built once per tick
        for (id, var watch) in native.statusWatches where watch.nextNanos <= nowNanos {
            if report == nil { report = statusReport() }
            if encoded[watch.binary] == nil {
                let body = watch.binary ? report!.binaryEncoded() : report!.encoded()
                encoded[watch.binary] = .push([.bulk("cluster.status"), .bulkString(body)])
            }
            watch.connection.push?(encoded[watch.binary]!)
            watch.nextNanos = max(watch.nextNanos + watch.intervalNanos, nowNanos)
            native.statusWatches[id] = watch
        }
    }

    /// This node's view of itself and of the replicated services, bounded (`NodeStatusReport.Limits`).
    func statusReport() -> NodeStatusReport {
        let status = core.raft.status()
        let machine = core.stateMachine
        let time = now()
        var report = NodeStatusReport(
            node: configuration.id, cluster: configuration.clusterName, role: "\(status.role)", leader: status.leader,
            term: status.term, vote: status.vote, commit: status.commit, applied: machine.appliedIndex,
            lastIndex: status.lastIndex, snapshotIndex: status.snapshotIndex, voters: status.voters.sorted(),
            learners: status.learners.sorted(), electionElapsedTicks: status.electionElapsed,
            electionTimeoutTicks: status.electionTimeout, uptimeMillis: (time.timerNanos - min(time.timerNanos, startedNanos)) / 1_000_000,
            wallMillis: time.wallMillis, clusterTimeMillis: machine.nowMillis)
        report.pid = getpid()
        let statistics = transport.statistics
        let links = transport.faults.links
        let members = Set(status.voters + status.learners).union(peerAddresses.keys).subtracting([configuration.id])
        report.peers = members.sorted().map { peer in
            let link = statistics[peer] ?? PeerLinkStatistics()
            let rule = links[peer]
            var entry = NodeStatusReport.Peer(id: peer, address: peerAddresses[peer].map { "\($0)" }, connected: link.connected,
                                              messagesSent: link.messagesSent, messagesReceived: link.messagesReceived,
                                              faultDrops: link.faultDrops,
                                              cut: rule?.partitioned == true || rule?.dropPercent == 100)
            if let follower = status.followers.first(where: { $0.node == peer }) {
                entry.match = follower.match
                entry.next = follower.next
                entry.inFlight = follower.inFlight
                entry.recentActive = follower.recentActive
            }
            return entry
        }
        report.faults.skewMillis = admin.skewMillis
        if let pause = admin.pause { report.faults.pausedForMillis = (pause.untilNanos - min(pause.untilNanos, time.timerNanos)) / 1_000_000 }
        report.faults.dropPercent = links.values.map(\.dropPercent).max() ?? 0
        report.faults.delayMillis = links.values.map(\.delayMillis).max() ?? 0
        report.faults.cutFrom = links.filter { $0.value.partitioned }.map(\.key).sorted()
        fillServices(&report, from: machine)
        let heap = core.wakeUpHeap(entriesMax: NodeStatusReport.Limits.heapEntriesMax)
        if case .tree(let arity, let levels) = heap.layout {
            report.tasks.heapArity = arity
            report.tasks.heapLevels = levels
        }
        report.tasks.heapCount = heap.count
        report.breakers = core.callbackBreakers.sorted { $0.key < $1.key }.prefix(NodeStatusReport.Limits.breakersMax).map { name, breaker in
            let state = breaker.snapshot(atNanos: time.timerNanos)
            return NodeStatusReport.Breaker(name: "callback:\(name)", state: state.state.rawValue, failureRatePercent: state.failureRatePercent,
                                            thresholdPercent: breaker.configuration.failureRateThresholdPercent, calls: state.calls,
                                            notPermitted: state.totals.notPermittedCalls)
        }
        if let generator = native.ids.generator {
            report.ids.worker = generator.configuration.workerID
            report.ids.lastID = native.ids.lastID
        }
        report.ids.issued = native.ids.issued
        report.ids.leases = machine.workers.leases.count
        report.disk = disk()
        return report
    }

    /// The WAL's syncs so far, their p50/p99 and whether it syncs at all: for the status report,
    /// INFO persistence and CLUSTER.STATUS alike.
    func disk() -> NodeStatusReport.Disk {
        let syncs = storage.syncLatency
        return NodeStatusReport.Disk(syncs: syncs.count, fsyncP50Micros: syncs.quantile(0.5) / 1_000,
                                     fsyncP99Micros: syncs.quantile(0.99) / 1_000, synced: fileSystem.syncsFiles)
    }

    private func fillServices(_ report: inout NodeStatusReport, from machine: CoordinationStateMachine) {
        let now = machine.nowMillis
        report.sessions = machine.sessions.sessions.count
        let locks = machine.locks.locks
        report.locksTotal = locks.count
        report.locksHeld = locks.values.lazy.filter { !$0.holders.isEmpty }.count
        report.lockWaiters = locks.values.reduce(0) { $0 + $1.waiters.count }
        // The most interesting first: most waiters, then held, then by name.
        let shown = locks.values.sorted {
            ($0.waiters.count, $0.holders.isEmpty ? 0 : 1, $1.name) > ($1.waiters.count, $1.holders.isEmpty ? 0 : 1, $0.name)
        }.prefix(NodeStatusReport.Limits.locksMax)
        report.locks = shown.sorted { $0.name < $1.name }.map { lock in
            NodeStatusReport.Lock(
                name: lock.name, kind: lock.kind.description,
                holders: lock.holders.map { holder in
                    let lease = holder.lease(sessions: machine.sessions, nowMillis: now)
                    return .init(session: holder.session, token: holder.token, holdCount: holder.holdCount,
                                 heldMillis: lease.heldMillis, leaseLeftMillis: lease.leftMillis, leaseMillis: lease.lengthMillis)
                },
                waiters: lock.waiters.map(\.session), lastToken: lock.lastToken, acquires: lock.acquires,
                refusals: lock.refusals, waitP50Millis: lock.waitMillis(atPercentile: 50),
                waitP99Millis: lock.waitMillis(atPercentile: 99))
        }
        let values = machine.kv.values
        report.keysTotal = values.count
        for key in values.keys.sorted().prefix(NodeStatusReport.Limits.keysMax) { report.keys[key] = values[key]! }
        let config = machine.config
        report.configRevision = config.revision
        report.config = config.history.keys.sorted().prefix(NodeStatusReport.Limits.configMax).map { key in
            let versions = config.history[key]!
            return .init(key: key, revision: versions.last?.revision ?? 0, value: versions.last?.value, versions: versions.count)
        }
        report.configEvents = config.events.suffix(NodeStatusReport.Limits.configEventsMax).map {
            .init(key: $0.key, revision: $0.revision, value: $0.value, versions: 0)
        }
        let tasks = machine.tasks
        report.tasks.pending = tasks.tasks.count
        report.tasks.fired = tasks.stats.fired
        report.tasks.late = tasks.stats.late
        report.tasks.reclaims = tasks.stats.reclaims
        report.tasks.owners = tasks.owners.map { $0.map { UInt64($0) } }
        report.tasks.latenessBuckets = tasks.stats.latenessBuckets
        report.tasks.latenessLabels = TaskLimits.latenessBucketsMillis.map { "≤\($0)" } + [">\(TaskLimits.latenessBucketsMillis.last!)"]
        report.tasks.firedByNode = tasks.stats.firedByNode
        let throttles = machine.throttles.throttles
        report.throttlesTotal = throttles.count
        report.throttles = throttles.keys.sorted().prefix(NodeStatusReport.Limits.throttlesMax).map { name in
            let throttle = throttles[name]!
            return .init(key: name, allowed: Int(clamping: throttle.allowed), refused: Int(clamping: throttle.refused))
        }
    }
}
