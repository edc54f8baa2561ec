import ConclaveCore
import ConclaveRaft

extension ChaosRunner {
    /// The clock rates the skew nemesis picks from, in ‰ of true speed.
    static let skewRatePermille: ClosedRange<UInt64> = 500...2_000

    /// How many ticks, over one election timeout, the slowest clock the skew nemesis makes loses
    /// against the fastest: (timeout − 1) × (1 − slowest ÷ fastest), rounded up. Lease reads are
    /// configured with it, so a skewed leader's lease still ends before a skewed voter may vote.
    static func skewDriftTicks(electionTimeoutTicks: Int) -> Int {
        let (slowest, fastest) = (Int(skewRatePermille.lowerBound), Int(skewRatePermille.upperBound))
        return ((electionTimeoutTicks - 1) * (fastest - slowest) + fastest - 1) / fastest
    }

    /// Injects one fault of a randomly chosen enabled kind and schedules its reversal.
    func nemesisAct() {
        let kind = options.nemesis[Int(random.next() % UInt64(options.nemesis.count))]
        let nodes = simulator.nodeIDs
        let node = nodes[Int(random.next() % UInt64(nodes.count))]
        let millis = { (low: UInt64, high: UInt64) in low + self.random.next() % (high - low + 1) }
        switch kind {
        case .partition:
            var shuffled = nodes
            shuffled.shuffle(using: &random)
            let cut = 1 + Int(random.next() % UInt64(max(1, nodes.count / 2)))
            inject(.partition([Array(shuffled[..<cut]), Array(shuffled[cut...])]), undo: .heal, afterMillis: millis(500, 4_000))
        case .crash:
            inject(.crash(node), undo: .fault(.restart(node)), afterMillis: millis(300, 4_000))
        case .pause:
            inject(.pause(node, millis: millis(100, 2_500)), undo: nil, afterMillis: 0)
        case .skew:
            let offset = Int64(random.next() % 4_001) - 2_000
            let rate = millis(Self.skewRatePermille.lowerBound, Self.skewRatePermille.upperBound)
            inject(.skew(node, offsetMillis: offset, ratePermille: rate),
                   undo: .fault(.skew(node, offsetMillis: 0, ratePermille: 1000)), afterMillis: millis(1_000, 5_000))
        case .drop:
            inject(.drop(probability: Double(millis(5, 30)) / 100), undo: .fault(.drop(probability: 0)), afterMillis: millis(500, 3_000))
        case .clog:
            let target = nodes[Int(random.next() % UInt64(nodes.count))]
            guard target != node else { return }
            inject(.clog(source: node, target: target, millis: millis(200, 3_000)), undo: nil, afterMillis: 0)
        case .duplicate:
            inject(.duplicate(probability: Double(millis(5, 30)) / 100), undo: .fault(.duplicate(probability: 0)),
                   afterMillis: millis(500, 3_000))
        case .delay:
            inject(.delay(millis: millis(5, 60)), undo: .fault(.delay(millis: 0)), afterMillis: millis(500, 3_000))
        case .membership:
            changeMembership()
        case .transfer:
            guard let leader = simulator.leader, let voters = simulator.membership?.voters.filter({ $0 != leader }),
                  !voters.isEmpty else { return }
            let target = voters[Int(random.next() % UInt64(voters.count))]
            if (try? simulator.transferLeadership(to: target)) != nil { faultCounts["transfer", default: 0] += 1 }
        }
    }

    /// Promotes a caught-up learner; else grows a small cluster by a fresh learner or shrinks a
    /// large one by a random voter (the leader included). Refusals (a change in flight, too few
    /// responsive voters) are part of the game and simply skipped.
    private func changeMembership() {
        guard let membership = simulator.membership else { return }
        let change: ConfChange
        if let learner = membership.learners.first {
            guard let progress = simulator.replicationProgress(of: learner), progress.match + 50 >= progress.last else { return }
            change = .promote(learner)
        } else if membership.voters.count <= 3 || (membership.voters.count < 7 && random.next() % 2 == 0) {
            guard let node = try? simulator.addNode() else { return }
            change = .addLearner(node)
        } else {
            change = .remove(membership.voters[Int(random.next() % UInt64(membership.voters.count))])
        }
        if (try? simulator.changeMembership(change)) != nil {
            faultCounts["membership", default: 0] += 1
        }
    }

    private func inject(_ fault: Fault, undo: NemesisUndo?, afterMillis: UInt64) {
        try? simulator.inject(fault)
        faultCounts[fault.kindName, default: 0] += 1
        guard let undo else { return }
        nextUndoID += 1
        pendingUndo[nextUndoID] = undo
        simulator.schedule(timer: Self.undoTimerTag | nextUndoID, at: simulator.now + afterMillis * 1_000_000)
    }

    /// Checks the history key by key (in key order) and stops at the first key that is not
    /// proven linearizable: the run has failed then, and proving more keys wrong only costs time.
    private func checkHistory() -> CheckReport {
        var byKey: [String: [HistoryOperation]] = [:]
        for operation in history { byKey[operation.key, default: []].append(operation) }
        let checker = LinearizabilityChecker(maxStatesPerKey: options.checkerStatesPerKeyMax)
        var keys: [KeyReport] = []
        for key in byKey.keys.sorted() {
            let report = checker.check(byKey[key]!)
            keys.append(contentsOf: report.keys)
            if report.verdict != .linearizable { break }
        }
        return CheckReport(keys: keys)
    }

    func summarize() -> ChaosSummary {
        let check = checkHistory()
        var summary = ChaosSummary(
            seed: options.seed, nodes: options.nodes, clients: options.clients,
            nemesis: options.nemesis.map(\.rawValue), virtualNanos: simulator.now,
            check: check, invariantViolations: simulator.monitor.violations,
            replicasAgree: replicasAgree(), durationText: durationText)
        summary.operations = history.count
        summary.succeeded = history.filter { $0.returnTime != nil && $0.ok }.count
        summary.failed = history.filter { $0.returnTime != nil && !$0.ok }.count
        summary.unknown = history.filter { $0.returnTime == nil }.count
        summary.leaderChanges = simulator.statistics.leaderChanges
        summary.faults = faultCounts
        summary.events = simulator.trace.eventCount
        summary.traceHash = simulator.trace.hash
        summary.succeededAfterHeal = succeededAfterHeal
        summary.idsIssued = issuedIDs.count
        summary.idsAfterHeal = idsAfterHeal
        summary.idViolations = checkIDs()
        summary.tasksScheduled = feeder.scheduled.values.filter { $0 != 0 }.count
        summary.tasksFired = simulator.nodeIDs.map { simulator.coordination(of: $0).tasks.stats.fired }.max() ?? 0
        summary.taskViolations = checkTasks()
        summary.workload = options.workload.rawValue
        summary.leaseReads = options.leaseReads
        return summary
    }

    /// Every member has caught up to within a few entries of the newest (the leader's clock keeps
    /// proposing, so some entry is nearly always in flight), and members at the same index hold
    /// equal states. (Per-index agreement is also checked at every apply by the invariant monitor.
    /// Removed nodes are no longer replicated to and are left out.)
    private func replicasAgree() -> Bool {
        let members = simulator.membership.map { ($0.voters + $0.learners).sorted() } ?? simulator.nodeIDs
        let machines = members.map { simulator.coordination(of: $0) }
        guard let highest = machines.map(\.appliedIndex).max() else { return true }
        guard machines.allSatisfy({ $0.appliedIndex + Self.convergenceSlackEntries >= highest }) else { return false }
        let byIndex = Dictionary(grouping: machines, by: \.appliedIndex)
        return byIndex.values.allSatisfy { group in group.allSatisfy { $0 == group[0] } }
    }

    static let convergenceSlackEntries: LogIndex = 10
}

extension Fault {
    /// The fault's kind as the nemesis names it.
    var kindName: String {
        switch self {
        case .partition: return "partition"
        case .heal: return "heal"
        case .clog: return "clog"
        case .drop: return "drop"
        case .duplicate: return "duplicate"
        case .delay: return "delay"
        case .crash: return "crash"
        case .restart: return "restart"
        case .pause: return "pause"
        case .skew: return "skew"
        }
    }
}
