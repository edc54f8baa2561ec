import ConclaveCluster
import ConclaveCore
import ConclaveIDs
import ConclaveResilience
import ConclaveTimers

extension ServiceModels {
    /// One service tick (every 100 ms of virtual time): IDs from each live node's clock, limiter
    /// samples, delay tasks scheduled and fired, partition ownership over the live nodes.
    mutating func tick(nowNanos: UInt64, simulator: Simulator, liveNodes: [NodeID]) {
        ticks += 1
        generateIDs(simulator: simulator, liveNodes: liveNodes)
        sampleLimiters(nowNanos: nowNanos)
        runTimers(nowMillis: nowNanos / 1_000_000)
        if ticks % 10 == 1 || partitions.isEmpty { assignPartitions(liveNodes: liveNodes) }
    }

    private mutating func generateIDs(simulator: Simulator, liveNodes: [NodeID]) {
        for node in liveNodes where Int(node) <= generators.count {
            let index = Int(node) - 1
            let clock = SnowflakeConfiguration.defaultEpochMillis + Self.idEpochOffsetMillis + simulator.wallClockMillis(of: node)
            issuing: for _ in 0..<8 {
                switch generators[index].next(nowMillis: clock) {
                case .id(let id):
                    if let last = idStats[index].lastID, id <= last { ids.duplicates += 1 }
                    if recentIDs.contains(id) { ids.duplicates += 1 }
                    remember(id)
                    idStats[index].issued += 1
                    idStats[index].lastID = id
                    ids.latestID = id
                case .wait(let until):
                    idStats[index].waits += 1
                    noteRollback("node \(node): clock behind by \(until - min(until, clock)) ms — waiting (policy: wait ≤ 5 ms)")
                    break issuing
                case .refused(let refusal):
                    idStats[index].refusals += 1
                    noteRollback("node \(node): refused — \(refusal)")
                    break issuing
                }
            }
        }
        if ticks % 10 == 0 {
            for index in idStats.indices {
                idStats[index].perSecond = Double(idStats[index].issued - idStats[index].previous)
                idStats[index].previous = idStats[index].issued
            }
        }
    }

    private mutating func remember(_ id: UInt64) {
        recentIDs.insert(id)
        recentOrder.append(id)
        if recentOrder.count > Self.recentIDsMax {
            recentIDs.remove(recentOrder.removeFirst())
        }
    }

    private mutating func noteRollback(_ text: String) {
        guard ids.rollbackEvents.last != text else { return }
        ids.rollbackEvents.append(text)
        if ids.rollbackEvents.count > IDsSnapshot.rollbackEventsMax { ids.rollbackEvents.removeFirst() }
        log.append((.fault, "IDs " + text))
    }

    private mutating func sampleLimiters(nowNanos: UInt64) {
        for index in limiters.indices {
            let (allowed, refused) = (limiters[index].allowed, limiters[index].refused)
            limiters[index].history.append((Double(allowed - limiters[index].mark.0), Double(refused - limiters[index].mark.1)))
            if limiters[index].history.count > Self.historyMax { limiters[index].history.removeFirst() }
            limiters[index].mark = (allowed, refused)
        }
    }

    /// The mirrored delay tasks: the wheel fires them tick by tick and its lateness is measured.
    private mutating func runTimers(nowMillis: UInt64) {
        let bounds: [UInt64] = [0, 1, 2, 5, 10, 20, 50]
        // Step the wheel one tick at a time, as its driver thread would, and measure how late each
        // task fires against its deadline.
        while wheel.nowMillis + wheel.tickMillis <= nowMillis {
            let now = wheel.nowMillis + wheel.tickMillis
            for timer in wheel.advance(toMillis: now) {
                let lateness = now - min(now, timer.deadlineMillis)
                latenessBuckets[bounds.firstIndex { lateness <= $0 } ?? 7] += 1
                fired += 1
            }
        }
        _ = heap.advance(toMillis: nowMillis)
    }

    /// A delay task the workload scheduled through consensus, mirrored into the console's heap and
    /// wheel (bounded: past `tasksPendingMax` the mirror skips tasks).
    mutating func mirrorTask(id: UInt64, deadlineMillis: UInt64) {
        guard heap.count < Self.tasksPendingMax else { return }
        _ = try? heap.schedule(timerID: id, deadlineMillis: deadlineMillis)
        _ = try? wheel.schedule(timerID: id, deadlineMillis: deadlineMillis)
    }

    private mutating func assignPartitions(liveNodes: [NodeID]) {
        guard !liveNodes.isEmpty, let ring = try? ConsistentHashRing(backends: liveNodes.map { "node-\($0)" }) else {
            partitions = []
            return
        }
        partitions = (0..<Self.partitionCount).map { partition in
            let primary = ring.backendIndex(forKeyHash: StableHash.key("partition-\(partition)"))
            let replica = liveNodes.count > 1 ? (primary + 1) % liveNodes.count : primary
            return (liveNodes[primary], liveNodes[replica])
        }
    }
}
