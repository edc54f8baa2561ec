import Dispatch
import Foundation

/// A cluster the console polls or subscribes to, on its own threads: Conclave's nodes
/// (`RemoteCluster`) or an existing engine (`EngineCluster`). The live console drives either.
public protocol ClusterFeed: AnyObject {
    func start()
    func stop()
    func submit(_ control: ClusterControl)
    func take() -> (ClusterSnapshot, Int, [(String, Bool)])
}

/// What a feed's pure builder offers the core: the snapshot at an instant, and a note of a
/// control's outcome for the event log.
protocol FeedBuilder: SendableMetatype {
    func snapshot(nowNanos: UInt64) -> ClusterSnapshot
    mutating func note(_ text: String, isError: Bool, atNanos: UInt64)
}

extension RemoteSnapshotBuilder: FeedBuilder {}
extension EngineSnapshotBuilder: FeedBuilder {}

/// The part every feed shares: its builder behind a lock, a version that moves with every change
/// (the UI redraws when it does), the control results since the last `take()`, the threads it
/// started and the serial queue its controls run on — and the waiting its threads do.
///
/// Thread-safe: the feed's threads update, the controls queue records, the UI takes.
final class FeedCore<Builder: FeedBuilder>: @unchecked Sendable {
    private let lock = NSLock()
    private var builder: Builder
    private var results: [(String, Bool)] = []
    private var version = 0
    private var stopped = false
    private let finished = DispatchGroup()
    let controls: DispatchQueue

    init(builder: Builder, controlsLabel: String) {
        self.builder = builder
        controls = DispatchQueue(label: controlsLabel)
    }

    static func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    var isStopped: Bool { lock.withLock { stopped } }

    /// The snapshot as of now, the version, and the control results since the last call.
    func take() -> (ClusterSnapshot, Int, [(String, Bool)]) {
        let now = Self.monotonicNanos()
        return lock.withLock {
            defer { results.removeAll() }
            return (builder.snapshot(nowNanos: now), version, results)
        }
    }

    /// Reads the builder under the lock.
    func read<Value>(_ body: (Builder) throws -> Value) rethrows -> Value {
        try lock.withLock { try body(builder) }
    }

    /// Changes the builder under the lock; the version moves (the UI redraws) unless the change
    /// is bookkeeping nothing on screen shows yet (`shown` false).
    @discardableResult
    func update<Value>(shown: Bool = true, _ change: (inout Builder) throws -> Value) rethrows -> Value {
        try lock.withLock {
            defer { if shown { version += 1 } }
            return try change(&builder)
        }
    }

    /// A control's outcome: for the next `take()` and the builder's event log.
    func record(_ text: String, isError: Bool) {
        let now = Self.monotonicNanos()
        update {
            results.append((text, isError))
            $0.note(text, isError: isError, atNanos: now)
        }
    }

    /// Runs `body` on a thread of its own, named `conclave-<name>`, which `stop()` waits for.
    func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        finished.enter()
        let thread = Thread { [self] in
            body()
            finished.leave()
        }
        thread.name = "conclave-\(name)"
        thread.start()
    }

    /// Waits `millis`, waking often enough that a stop is never held up by more than 20 ms.
    func wait(millis: UInt64) {
        let until = Self.monotonicNanos() + millis * 1_000_000
        while !isStopped && Self.monotonicNanos() < until { usleep(20_000) }
    }

    /// Tells the threads to stop (each within its read timeout) and waits for them and the controls.
    func stop() {
        lock.withLock { stopped = true }
        finished.wait()
        controls.sync {}
    }
}
