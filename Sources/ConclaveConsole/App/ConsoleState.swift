/// The whole console: what it shows and what the operator is doing. A value; `ConsoleApp.update`
/// changes it, `ConsoleRenderer.render` draws it.
public struct ConsoleState: Equatable, Sendable {
    public enum Overlay: Equatable, Sendable {
        case none, help, palette, filter
        /// A dangerous action waiting for y / n.
        case confirm(ClusterControl, String)
    }

    public var snapshot: ClusterSnapshot
    public var keymap: Keymap
    public var view: ViewID = .cluster
    public var overlay: Overlay = .none
    /// The help overlay's first line shown, when it does not fit (clamped when drawn).
    public var helpScroll = 0
    public var palette = PaletteInput()
    public var filter = ""
    /// Every event the snapshots brought, indexed for `/` (see `EventLog`).
    public var log = EventLog()
    /// Commit rate, message rate and lock wait over time, for the sparklines.
    public var trends = Trends()
    /// Rows the event log is scrolled back from its newest line (0: it follows new events).
    public var logScroll = 0
    /// Row selected per view (nodes, locks, breakers, …).
    public var selection: [ViewID: Int] = [:]
    public var message: String?
    public var messageIsError = false
    public var readOnly: Bool
    /// Ask before dangerous actions (always for a remote cluster; `--confirm` for the embedded one).
    public var confirmDangerous: Bool
    public var isQuitting = false
    /// A demo's narration, shown in its own pane.
    public var narration: [String] = []
    public var narrationTitle = ""
    /// The Local view: in-process locks as the host measured them.
    public var local = LocalLabState()

    /// What the host should be measuring: the Local view's settings while it is shown, else nothing.
    public var labDemand: LocalLabSettings? { view == .local ? local.settings : nil }

    public init(snapshot: ClusterSnapshot = ClusterSnapshot(), readOnly: Bool = false, confirmDangerous: Bool = false) {
        self.snapshot = snapshot
        self.log.absorb(snapshot.events)
        self.readOnly = readOnly
        self.confirmDangerous = confirmDangerous
        self.keymap = readOnly ? Keymap.standard.readOnly() : Keymap.standard
    }

    public func selected(in view: ViewID) -> Int { selection[view] ?? 0 }

    /// Whether the console is taking text (palette or filter): keys are characters, not bindings.
    public var isEditingText: Bool { overlay == .palette || overlay == .filter }
}

/// The `:` line being edited, with history (newest last, bounded) and completion candidates.
public struct PaletteInput: Equatable, Sendable {
    public var text = ""
    public var history: [String] = []
    /// Position in `history` while browsing it with Up/Down; nil when editing a fresh line.
    public var historyIndex: Int?
    public var candidates: [String] = []
    public static let historyMax = 100

    public mutating func remember(_ line: String) {
        if history.last != line { history.append(line) }
        if history.count > Self.historyMax { history.removeFirst(history.count - Self.historyMax) }
        historyIndex = nil
    }
}

/// What the console tells its host to do.
public enum ConsoleCommand: Equatable, Sendable {
    case control(ClusterControl)
    case quit
    /// Measure in-process locks with these settings (nil: stop measuring).
    case lab(LocalLabSettings?)
}

/// What reaches the console.
public enum ConsoleEvent: Equatable, Sendable {
    case key(Key)
    case snapshot(ClusterSnapshot)
    /// How a control went: a line for the footer.
    case controlResult(String, isError: Bool)
    /// One strategy's run in the Local view's lab.
    case localLab(LocalLabFigures)
}
