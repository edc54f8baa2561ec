/// Plays a demo on a console session, one step at a time. Pure and virtual-time: the headless run
/// and the tests call `runToEnd`; the live demo calls `next` and animates `run` steps itself.
public final class DemoPlayer {
    public let script: DemoScript
    public let session: ConsoleSession
    public private(set) var position = 0
    public private(set) var failures: [String] = []
    private var narration: [String] = []
    public let size: Size

    public static let narrationMax = 6

    public init(script: DemoScript, size: Size) throws(DemoError) {
        self.script = script
        self.size = size
        do {
            session = ConsoleSession(cluster: try EmbeddedEngines.make(script.engine, seed: script.seed, nodes: script.nodes))
        } catch {
            throw DemoError(file: script.name, line: 0, reason: error.description)
        }
        session.narrate(title: script.title, lines: [])
    }

    public var isFinished: Bool { position >= script.steps.count }

    /// What the next step needs from its host.
    public enum Need: Equatable, Sendable {
        case nothing
        /// Let this much virtual time pass (live: animate it; headless: advance at once).
        case time(millis: UInt64)
        /// A pause point: wait for the operator.
        case pause(String)
        /// Measure these strategies on real threads, `millis` each, and hand the figures to `session.measured`.
        case lab(strategies: [String], settings: LocalLabSettings, millis: UInt64)
    }

    /// Carries out the next step and says what the host must do for it.
    public func next() -> Need {
        guard !isFinished else { return .nothing }
        let (line, step) = script.steps[position]
        position += 1
        switch step {
        case .say(let text):
            narration.append(text)
            if narration.count > Self.narrationMax { narration.removeFirst() }
            session.narrate(title: script.title, lines: narration)
        case .clear:
            narration.removeAll()
            session.narrate(title: script.title, lines: [])
        case .run(let millis):
            return .time(millis: millis)
        case .command(let text):
            for key in [Key.character(":")] + text.map({ Key.character($0) }) + [.enter] { session.send(key) }
            if session.state.messageIsError, let message = session.state.message {
                failures.append("\(script.name):\(line): do \(text): \(message)")
            }
        case .keys(let items):
            for item in items {
                if case .key(let key) = item { session.send(key) } else { session.send(.character(" ")) }
            }
        case .view(let view):
            session.send(.character(Character("\(view.rawValue)")))
        case .pause(let text):
            return .pause(text)
        case .lab(let strategies, let threads, let millis):
            let settings = LocalLabSettings(threads: threads)
            session.setLocalSettings(settings)
            return .lab(strategies: strategies, settings: settings, millis: millis)
        case .expect(let text):
            let screen = session.render(size: size).text
            if !screen.contains(text) { failures.append("\(script.name):\(line): expected the screen to show '\(text)'") }
        }
        return .nothing
    }

    /// Plays every step in virtual time; returns a frame per pause point and the last. `measure`
    /// runs a `lab` step's strategies (the host's threads; nothing by default, as in tests).
    public func runToEnd(
        measure: (_ strategy: String, _ settings: LocalLabSettings, _ millis: UInt64) -> LocalLabFigures? = { _, _, _ in nil }
    ) -> [HeadlessRun.Capture] {
        var captures: [HeadlessRun.Capture] = []
        while !isFinished {
            switch next() {
            case .nothing: break
            case .lab(let strategies, let settings, let millis):
                for strategy in strategies {
                    if let figures = measure(strategy, settings, millis) { session.measured(figures) }
                }
            case .time(let millis): session.advance(byNanos: millis * 1_000_000)
            case .pause(let text):
                captures.append(HeadlessRun.Capture(nanos: session.cluster.nowNanos, after: "pause: \(text)", frame: session.render(size: size)))
            }
        }
        captures.append(HeadlessRun.Capture(nanos: session.cluster.nowNanos, after: "end of demo", frame: session.render(size: size)))
        return captures
    }
}
