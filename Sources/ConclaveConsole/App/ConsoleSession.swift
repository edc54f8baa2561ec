/// The console state wired to an embedded cluster on one thread: keys in, controls carried out,
/// snapshots refreshed. Headless runs, demos and tests use it directly; the live console splits
/// the same two halves across a simulation thread and the UI thread.
public final class ConsoleSession {
    public let cluster: any EmbeddedEngine
    public private(set) var state: ConsoleState

    public init(cluster: any EmbeddedEngine, readOnly: Bool = false, confirmDangerous: Bool = false) {
        self.cluster = cluster
        state = ConsoleState(snapshot: cluster.snapshot(), readOnly: readOnly, confirmDangerous: confirmDangerous)
    }

    /// Feeds a key, carries out what it asks for, and refreshes the snapshot.
    public func send(_ key: Key) {
        for command in ConsoleApp.update(&state, .key(key)) {
            carryOut(command)
        }
        refresh()
    }

    public func carryOut(_ command: ConsoleCommand) {
        switch command {
        case .quit, .lab:
            // No lab here: a session is one thread; the live console's host measures locks.
            break
        case .control(let control):
            switch cluster.apply(control) {
            case .success(let text): _ = ConsoleApp.update(&state, .controlResult(text, isError: false))
            case .failure(let error): _ = ConsoleApp.update(&state, .controlResult(error.message, isError: true))
            }
        }
    }

    /// Runs virtual time forward by `nanos` (nothing happens while paused).
    public func advance(byNanos nanos: UInt64) {
        cluster.advance(until: cluster.nowNanos + nanos)
        refresh()
    }

    public func refresh() {
        _ = ConsoleApp.update(&state, .snapshot(cluster.snapshot()))
    }

    /// What the Local view should show as measured (demos set it for their `lab` steps).
    public func setLocalSettings(_ settings: LocalLabSettings) { state.local.settings = settings }

    /// Figures the host measured for the Local view.
    public func measured(_ figures: LocalLabFigures) { _ = ConsoleApp.update(&state, .localLab(figures)) }

    /// Replaces the narration pane (demos).
    public func narrate(title: String, lines: [String]) {
        state.narrationTitle = title
        state.narration = lines
    }

    public func render(size: Size) -> Frame { ConsoleRenderer.render(state, size: size) }
}
