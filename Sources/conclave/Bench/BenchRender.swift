import ArgumentParser
import ConclaveConsole
import ConclaveTimers
import ConclaveWire

/// `conclave bench render`: the console's frame cost at 200×60 with 10,000 locks and 100,000 timers
/// in the model — render plus diff against the previous frame, as the live loop pays per frame
/// (target under 5 ms). Each frame changes the model a little (time, a holder, a lease) so the diff
/// has real work.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Build and diff a full 200×60 console frame with 10,000 locks and 100,000 timers in the model."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Frames measured per view (10…100000).")
    var frames = 300

    func validate() throws {
        guard (10...100_000).contains(frames) else { throw ValidationError("--frames must be in 10…100000, got \(frames)") }
    }

    static let size = Size(width: 200, height: 60)
    static let locks = 10_000
    static let timers = 100_000

    func run() throws {
        var heap = try DaryHeap(arity: 4, capacity: Self.timers)
        var wheel = try HierarchicalWheel(tickMillis: 10, slotsPerLevel: 16, capacity: Self.timers)
        for timer in 0..<UInt64(Self.timers) {
            let deadline = 50 + (timer &* 2_654_435_761) % 600_000
            _ = try heap.schedule(timerID: timer, deadlineMillis: deadline)
            _ = try wheel.schedule(timerID: timer, deadlineMillis: deadline)
        }
        var state = ConsoleState(snapshot: Self.model())
        var results: [BenchResult] = []
        for view in [ViewID.cluster, .locks, .scheduler] {
            state.view = view
            var previous = ConsoleRenderer.render(state, size: Self.size)
            var histogram = BenchClock.latencyHistogram()
            var changed = 0
            let start = BenchClock.nanoseconds()
            for frame in 0..<frames {
                Self.change(&state.snapshot, frame: frame)
                let began = BenchClock.nanoseconds()
                // The scheduler view's model comes from the queues each frame, as the live cluster does.
                if view == .scheduler { state.snapshot.scheduler.fill(heap: heap.snapshot(entriesMax: 85), wheel: wheel.snapshot(entriesMax: 64)) }
                let next = ConsoleRenderer.render(state, size: Self.size)
                changed += FrameDiff(from: previous, to: next).changedCells
                histogram.record(BenchClock.nanoseconds() - began)
                previous = next
            }
            let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
            results.append(BenchResult(name: "render+diff 200×60, \(view.title) view, 10k locks, 100k timers (target < 5 ms)",
                                       unit: "frames/s", value: Double(frames) / seconds, histogram: histogram))
            _ = changed
        }
        results += remoteRows()
        BenchReport.emit(results, json: options.json)
    }

    /// The console on 5 real nodes with 10,000 locks: each node reports 10 times a second (its 200
    /// most waited-on locks and the totals); per frame the console decodes the reports that arrived
    /// (50/s over 30 frames/s), builds the snapshot and renders + diffs the Cluster view. Rows: the
    /// frame cost, the CPU share at 30 fps, and the status traffic per node.
    func remoteRows() -> [BenchResult] {
        let nodes = 5
        let reports = (1...UInt64(nodes)).map { Self.report(node: $0, nodes: nodes) }
        let encoded = reports.map { $0.binaryEncoded() }
        let json = reports.map { $0.encoded() }
        let addresses = (1...nodes).map { PeerAddress(host: "127.0.0.1", port: 6380 + $0) }
        var builder = RemoteSnapshotBuilder(addresses: addresses, intervalMillis: 100)
        var state = ConsoleState(snapshot: ClusterSnapshot())
        var previous = ConsoleRenderer.render(state, size: Self.size)
        var decode = BenchClock.latencyHistogram()
        var frame = BenchClock.latencyHistogram()
        var clock: UInt64 = 0
        var arrived = 0
        for index in 0..<frames {
            clock += 33_333_333
            // 50 reports a second at 30 frames a second: 5 reports every 3 frames.
            let due = (index + 1) * 50 / 30 - arrived
            for _ in 0..<due {
                let node = arrived % nodes
                let began = BenchClock.nanoseconds()
                guard let report = try? NodeStatusReport(binary: encoded[node]) else { continue }
                builder.take(report, from: node, atNanos: clock)
                decode.record(BenchClock.nanoseconds() - began)
                arrived += 1
            }
            let began = BenchClock.nanoseconds()
            _ = ConsoleApp.update(&state, .snapshot(builder.snapshot(nowNanos: clock)))
            let next = ConsoleRenderer.render(state, size: Self.size)
            _ = FrameDiff(from: previous, to: next).changedCells
            frame.record(BenchClock.nanoseconds() - began)
            previous = next
        }
        // The same reports as JSON (what redis-cli users read), decoded side by side.
        var jsonDecode = BenchClock.latencyHistogram()
        for index in 0..<min(frames, 200) {
            let began = BenchClock.nanoseconds()
            _ = try? NodeStatusReport(decoding: json[index % nodes])
            jsonDecode.record(BenchClock.nanoseconds() - began)
        }
        let perSecondNanos = 30 * Double(frame.valueAtPercentile(50)) + 50 * Double(decode.valueAtPercentile(50))
        let bytes = Double(encoded.map(\.count).max() ?? 0)
        let jsonBytes = Double(json.map(\.count).max() ?? 0)
        return [
            BenchResult(name: "remote: snapshot from 5 nodes' reports + render+diff 200×60, 10k locks (target < 5 ms)",
                        unit: "frames/s", value: 1e9 / Double(max(1, frame.valueAtPercentile(50))), histogram: frame),
            BenchResult(name: "remote: decode one status report (200 of 10k locks), binary", unit: "reports/s",
                        value: 1e9 / Double(max(1, decode.valueAtPercentile(50))), histogram: decode),
            BenchResult(name: "remote: decode one status report (200 of 10k locks), JSON", unit: "reports/s",
                        value: 1e9 / Double(max(1, jsonDecode.valueAtPercentile(50))), histogram: jsonDecode),
            BenchResult(name: "remote: console CPU at 30 fps, 5 nodes × 10 reports/s (target < 5% of a core)", unit: "% of a core",
                        value: perSecondNanos / 1e7, histogram: frame),
            BenchResult(name: "remote: status traffic per node at 10 reports/s, 10k locks, binary (JSON in p50) (target < 1 MB/s)",
                        unit: "KB/s", value: bytes * 10 / 1_000, p50: jsonBytes * 10 / 1_000, p99: jsonBytes * 10 / 1_000, n: 1,
                        percentileUnit: "KB/s"),
        ]
    }

    /// A node's report as a node with 10,000 locks sends it: the cap of 200 locks (held, waited
    /// on), the totals, 64 keys, 64 config entries, a full heap of 85.
    static func report(node: UInt64, nodes: Int) -> NodeStatusReport {
        var report = NodeStatusReport(node: node, cluster: "bench", role: node == 1 ? "leader" : "follower", leader: 1, term: 7,
                                      vote: 1, commit: 100_000, applied: 100_000, lastIndex: 100_000, snapshotIndex: 90_000,
                                      voters: (1...UInt64(nodes)).map { $0 }, learners: [], electionElapsedTicks: 3,
                                      electionTimeoutTicks: 100, uptimeMillis: 600_000, wallMillis: 1_765_000_000_000,
                                      clusterTimeMillis: 600_000)
        report.pid = Int32(1_000 + node)
        report.peers = (1...UInt64(nodes)).filter { $0 != node }.map {
            NodeStatusReport.Peer(id: $0, address: "127.0.0.1:\(7100 + $0)", connected: true, messagesSent: 1_000_000,
                                  messagesReceived: 1_000_000, faultDrops: 0, cut: false)
        }
        report.sessions = 10_000
        report.locksTotal = locks
        report.locksHeld = locks
        report.lockWaiters = 2 * locks
        report.locks = (0..<NodeStatusReport.Limits.locksMax).map { index -> NodeStatusReport.Lock in
            let number = UInt64(index)
            let holder = NodeStatusReport.Lock.Holder(session: 1_000 + number, token: number, holdCount: 1, heldMillis: 10,
                                                      leaseLeftMillis: 1_000, leaseMillis: 3_000)
            return NodeStatusReport.Lock(name: "lock-\(index)", kind: "mutex", holders: [holder], waiters: [number, number + 1],
                                         lastToken: number, acquires: 100, refusals: 3, waitP50Millis: 4, waitP99Millis: 40)
        }
        report.keysTotal = 100_000
        for index in 0..<NodeStatusReport.Limits.keysMax { report.keys["key:\(index)"] = "value-\(index)" }
        report.config = (0..<NodeStatusReport.Limits.configMax).map { .init(key: "app/k\($0)", revision: UInt64($0), value: "v", versions: 2) }
        let levels: [ClosedRange<UInt64>] = [1...1, 2...5, 6...21, 22...85]
        report.tasks.heapLevels = levels.map { Array($0) }
        report.tasks.heapCount = 100_000
        return report
    }

    /// Five nodes, 10,000 locks with holders and queues, a full event log.
    static func model() -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.nodes = (1...5).map { id in
            var node = NodeSnapshot(id: UInt64(id), role: id == 1 ? .leader : .follower, health: .up)
            node.term = 7
            node.commit = 10_000
            node.lastIndex = 10_000
            return node
        }
        snapshot.links = (0..<5).map { row in (0..<5).map { LinkSnapshot(isOpen: $0 != row, inFlight: row == 0 ? 2 : 0) } }
        snapshot.locks = (0..<locks).map { index in
            var lock = LockSnapshot(name: "lock-\(index)", kind: .mutex)
            lock.holders = [.init(session: UInt64(1_000 + index), token: UInt64(index), holdCount: 1, heldMillis: 10,
                                  leaseLeftMillis: 1_000, leaseMillis: 3_000)]
            lock.waiters = [UInt64(index), UInt64(index + 1)]
            lock.holderTimeline = [UInt64(index)]
            return lock
        }
        snapshot.events = (0..<ClusterSnapshot.eventsMax).map { ClusterEvent(nanos: UInt64($0) * 1_000_000, kind: .info, text: "event \($0)") }
        return snapshot
    }

    static func change(_ snapshot: inout ClusterSnapshot, frame: Int) {
        snapshot.nowNanos += 33_000_000
        let index = frame % 20
        snapshot.locks[index].holders[0].leaseLeftMillis = UInt64(3_000 - frame % 3_000)
        snapshot.locks[index].holders[0].token += 1
        snapshot.nodes[frame % 5].commit += 1
        snapshot.events.removeFirst()
        snapshot.events.append(ClusterEvent(nanos: snapshot.nowNanos, kind: .lock, text: "frame \(frame)"))
    }
}
