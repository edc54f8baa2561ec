import ConclaveConsole
import ConclaveLab
import Foundation

/// The live console's lab: on its own thread, while the Local view asks (`ConsoleCommand.lab`),
/// runs each lock strategy in turn for `sliceNanos` on real threads and leaves its figures for the
/// UI loop to take. Idle (a poll every 20 ms) when the view is not shown.
final class LocalLabHost: @unchecked Sendable {
    static let sliceNanos: UInt64 = 250_000_000
    static let outboxMax = 64

    private let lock = NSLock()
    private var demand: LocalLabSettings?
    private var outbox: [LocalLabFigures] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    func start() {
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        thread.name = "conclave-local-lab"
        thread.start()
    }

    /// Returns once the thread has ended: after the run under way, at most one slice.
    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }

    func ask(_ settings: LocalLabSettings?) { lock.withLock { demand = settings } }

    func take() -> [LocalLabFigures] {
        lock.withLock {
            defer { outbox.removeAll() }
            return outbox
        }
    }

    private func loop() {
        var next = 0
        while true {
            let (settings, stop) = lock.withLock { (demand, stopped) }
            if stop { return }
            guard let settings else {
                usleep(20_000)
                continue
            }
            let strategy = LabStrategy.allCases[next % LabStrategy.allCases.count]
            next += 1
            let figures = Self.measure(strategy, settings, durationNanos: Self.sliceNanos)
            lock.withLock {
                outbox.append(figures)
                if outbox.count > Self.outboxMax { outbox.removeFirst(outbox.count - Self.outboxMax) }
            }
        }
    }

    /// One run of `strategy` with the Local view's settings, on this thread's children.
    static func measure(_ strategy: LabStrategy, _ settings: LocalLabSettings, durationNanos: UInt64) -> LocalLabFigures {
        let result = LabRunner.run(LabConfiguration(strategy: strategy, threads: settings.threads, criticalNanos: settings.criticalNanos,
                                                    thinkNanos: settings.thinkNanos, durationNanos: durationNanos))
        return LocalLabFigures(
            strategy: strategy.rawValue, title: strategy.title, note: strategy.note, settings: settings,
            operationsPerSecond: result.operationsPerSecond, wastedShare: result.wastedShare,
            p50Nanos: result.latency.valueAtPercentile(50), p99Nanos: result.latency.valueAtPercentile(99),
            failedPerSuccess: result.failedAttemptsPerSuccess, fairness: result.fairness, lostUpdates: result.lostUpdates,
            perThread: result.workers.map(\.operations))
    }
}

/// A demo's `lab` steps, carried out by the executable (the console's demo player is pure).
enum DemoLab {
    /// Measures `name` for a headless or live demo; nil for a name the lab does not know (refused
    /// when the demo is loaded, see `check`).
    static func measure(_ name: String, _ settings: LocalLabSettings, _ millis: UInt64) -> LocalLabFigures? {
        guard let strategy = LabStrategy(rawValue: name) else { return nil }
        return LocalLabHost.measure(strategy, settings, durationNanos: millis * 1_000_000)
    }

    /// The first `lab` step naming an unknown strategy, as "FILE:LINE: …".
    static func problem(_ script: DemoScript, file: String) -> String? {
        for (line, step) in script.steps {
            guard case .lab(let strategies, _, _) = step else { continue }
            if let unknown = strategies.first(where: { LabStrategy(rawValue: $0) == nil }) {
                return "\(file):\(line): lab: unknown strategy '\(unknown)'; accepted: \(LabStrategy.acceptedNames)"
            }
        }
        return nil
    }
}
