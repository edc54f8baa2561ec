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
            let result = LabRunner.run(LabConfiguration(strategy: strategy, threads: settings.threads, criticalNanos: settings.criticalNanos,
                                                        thinkNanos: settings.thinkNanos, durationNanos: Self.sliceNanos))
            let figures = Self.figures(result, settings)
            lock.withLock {
                outbox.append(figures)
                if outbox.count > Self.outboxMax { outbox.removeFirst(outbox.count - Self.outboxMax) }
            }
        }
    }

    static func figures(_ result: LabResult, _ settings: LocalLabSettings) -> LocalLabFigures {
        let strategy = result.configuration.strategy
        return LocalLabFigures(
            strategy: strategy.rawValue, title: strategy.title, note: strategy.note, settings: settings,
            operationsPerSecond: result.operationsPerSecond, wastedShare: result.wastedShare,
            p50Nanos: result.latency.valueAtPercentile(50), p99Nanos: result.latency.valueAtPercentile(99),
            failedPerSuccess: result.failedAttemptsPerSuccess, fairness: result.fairness, lostUpdates: result.lostUpdates,
            perThread: result.workers.map(\.operations))
    }
}
