import ArgumentParser
import ConclaveConsole
import ConclaveTimers

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
        BenchReport.emit(results, json: options.json)
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
            var lock = LockSnapshot(name: "lock-\(index)", kind: "mutex")
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
