import ConclaveConsole
import ConclaveTerminal
import Dispatch
import Foundation

/// The interactive console: the simulation on its own thread against wall time × speed, publishing
/// snapshots; the UI thread reading keys, updating the console state and drawing only what
/// changed, at most ~30 frames a second. The terminal is restored on q, on SIGINT/SIGTERM and when
/// the run ends.
final class LiveConsole {
    let simulation: any LiveSource
    let terminal: CursesTerminal
    let theme: Theme
    var state: ConsoleState
    let screen = Screen()
    let stopAfterNanos: UInt64?
    let signals = SignalFlag()
    let lab = LocalLabHost()

    static let frameMillis = 33

    init(source: any LiveSource, initial: ClusterSnapshot, terminal: CursesTerminal, theme: Theme, readOnly: Bool, confirm: Bool,
         stopAfterNanos: UInt64?) {
        simulation = source
        self.terminal = terminal
        self.theme = theme
        self.stopAfterNanos = stopAfterNanos
        state = ConsoleState(snapshot: initial, readOnly: readOnly, confirmDangerous: confirm)
    }

    func run() {
        signals.install()
        simulation.start()
        lab.start()
        defer {
            lab.stop()
            simulation.stop()
            terminal.close()
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var seenVersion = -1
        var dirty = true
        while !state.isQuitting && !signals.isRaised {
            if let stopAfterNanos, DispatchTime.now().uptimeNanoseconds - start >= stopAfterNanos { break }
            if dirty {
                screen.present(ConsoleRenderer.render(state, size: terminal.size), on: terminal, theme: theme)
                dirty = false
            }
            switch terminal.read(timeoutMillis: Self.frameMillis) {
            case .key(let key):
                for command in ConsoleApp.update(&state, .key(key)) {
                    switch command {
                    case .control(let control): simulation.submit(control)
                    case .lab(let settings): lab.ask(settings)
                    case .quit: break
                    }
                }
                dirty = true
            case .resize:
                screen.invalidate()
                dirty = true
            case nil:
                break
            }
            for figures in lab.take() {
                _ = ConsoleApp.update(&state, .localLab(figures))
                dirty = true
            }
            let (snapshot, version, results) = simulation.take()
            for (text, isError) in results {
                _ = ConsoleApp.update(&state, .controlResult(text, isError: isError))
                dirty = true
            }
            if version != seenVersion, let snapshot {
                seenVersion = version
                _ = ConsoleApp.update(&state, .snapshot(snapshot))
                dirty = true
            }
        }
    }
}

/// Where the live console's snapshots come from and its controls go: the embedded simulation on
/// its own thread, or real nodes (`RemoteCluster`). The UI loop never knows which.
protocol LiveSource: AnyObject {
    func start()
    func stop()
    func submit(_ control: ClusterControl)
    /// The newest snapshot (nil before the first), its version, and control results since the last call.
    func take() -> (ClusterSnapshot?, Int, [(String, Bool)])
}

/// Real nodes (`RemoteCluster`) or an existing engine (`EngineCluster`) as a live source: both
/// poll or subscribe on their own threads and hand out snapshots the same way.
final class FeedSource: LiveSource {
    let feed: any ClusterFeed
    init(_ feed: any ClusterFeed) { self.feed = feed }
    func start() { feed.start() }
    func stop() { feed.stop() }
    func submit(_ control: ClusterControl) { feed.submit(control) }
    func take() -> (ClusterSnapshot?, Int, [(String, Bool)]) {
        let (snapshot, version, results) = feed.take()
        return (snapshot, version, results)
    }
}

/// Owns the embedded cluster on its own thread: applies submitted controls, advances virtual time
/// by wall time × speed, and publishes a snapshot about 30 times a second while time moves.
final class SimulationThread: LiveSource, @unchecked Sendable {
    private let cluster: any EmbeddedEngine
    private let lock = NSLock()
    private var controls: [ClusterControl] = []
    private var results: [(String, Bool)] = []
    private var latest: ClusterSnapshot?
    private var version = 0
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    static let publishNanos: UInt64 = 33_000_000
    static let lagMaxNanos: UInt64 = 500_000_000
    static let controlsMax = 1_000

    init(cluster: any EmbeddedEngine) { self.cluster = cluster }

    func start() {
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        thread.name = "conclave-simulation"
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }

    func submit(_ control: ClusterControl) {
        lock.withLock { if controls.count < Self.controlsMax { controls.append(control) } }
    }

    /// The latest snapshot with its version, and the results of controls since the last call.
    func take() -> (ClusterSnapshot?, Int, [(String, Bool)]) {
        lock.withLock {
            defer { results.removeAll() }
            return (latest, version, results)
        }
    }

    private func loop() {
        var lastWall = DispatchTime.now().uptimeNanoseconds
        var lastPublish: UInt64 = 0
        var target = cluster.nowNanos
        while true {
            let pending: [ClusterControl] = lock.withLock {
                defer { controls.removeAll() }
                return stopped ? [] : controls
            }
            if lock.withLock({ stopped }) { return }
            var outcomes: [(String, Bool)] = []
            for control in pending {
                switch cluster.apply(control) {
                case .success(let text): outcomes.append((text, false))
                case .failure(let error): outcomes.append((error.message, true))
                }
            }
            let wall = DispatchTime.now().uptimeNanoseconds
            let elapsed = wall - lastWall
            lastWall = wall
            if cluster.isPaused {
                target = cluster.nowNanos
            } else {
                // Above the speed the machine can simulate, do not build up a backlog: the target stays
                // within half a virtual second, so controls and snapshots keep flowing.
                target = min(target + UInt64(Double(elapsed) * cluster.speed), cluster.nowNanos + Self.lagMaxNanos)
                cluster.advance(until: target)
            }
            let moved = !cluster.isPaused || !pending.isEmpty
            if (moved && wall - lastPublish >= Self.publishNanos) || !pending.isEmpty || lastPublish == 0 {
                let snapshot = cluster.snapshot()
                lastPublish = wall
                lock.withLock {
                    latest = snapshot
                    version += 1
                    results += outcomes
                }
            }
            usleep(cluster.isPaused ? 20_000 : 5_000)
        }
    }
}

/// Raised by SIGINT or SIGTERM; the UI loop sees it within a frame and restores the terminal.
final class SignalFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var sources: [DispatchSourceSignal] = []

    func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in lock.withLock { raised = true } }
            source.resume()
            sources.append(source)
        }
    }

    var isRaised: Bool { lock.withLock { raised } }
}
