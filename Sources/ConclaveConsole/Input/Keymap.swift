/// The views, by number key.
public enum ViewID: Int, CaseIterable, Sendable {
    case cluster = 1, locks, scheduler, ids, limits, breakers, balancer, kv, local

    public var title: String {
        switch self {
        case .cluster: return "Cluster"
        case .locks: return "Locks"
        case .scheduler: return "Scheduler"
        case .ids: return "IDs"
        case .limits: return "Limits"
        case .breakers: return "Breakers"
        case .balancer: return "Balancer"
        case .kv: return "KV/Config"
        case .local: return "Local"
        }
    }
}

/// What a key does.
public enum KeyAction: Equatable, Sendable {
    case showView(ViewID)
    case nextView, previousView
    case quit, help, palette, filter
    case selectNext, selectPrevious
    case scrollLog(LogStep)
    case control(ClusterControl)
    /// An action on the node (or breaker) selected in the current view.
    case onSelected(SelectedAction)
    /// A change to what the Local view's lab measures.
    case lab(LabAdjustment)
}

public enum LogStep: Equatable, Sendable {
    case pageUp, pageDown, oldest, newest
}

public enum SelectedAction: String, Equatable, Sendable {
    case kill, restart, isolate, pause, transfer, breakerOpen, breakerDisable, breakerReset
}

/// One binding: data, so the help overlay and read-only mode are derived from the same list.
public struct KeyBinding: Equatable, Sendable {
    public var key: Key
    public var action: KeyAction
    public var help: String
    /// Nil: everywhere; else only in that view.
    public var view: ViewID?
    /// Changes the cluster: stripped in read-only mode, confirmed when confirmation is on.
    public var isDangerous: Bool

    public init(_ key: Key, _ action: KeyAction, _ help: String, view: ViewID? = nil, dangerous: Bool = false) {
        self.key = key
        self.action = action
        self.help = help
        self.view = view
        self.isDangerous = dangerous
    }
}

public struct Keymap: Equatable, Sendable {
    public var bindings: [KeyBinding]

    public init(bindings: [KeyBinding]) { self.bindings = bindings }

    /// The binding for `key` in `view`: a view's own binding wins over a global one.
    public func binding(for key: Key, in view: ViewID) -> KeyBinding? {
        bindings.first { $0.key == key && $0.view == view } ?? bindings.first { $0.key == key && $0.view == nil }
    }

    /// The same keymap without the bindings that change the cluster (k9s's read-only habit).
    public func readOnly() -> Keymap { Keymap(bindings: bindings.filter { !$0.isDangerous }) }

    public static let standard: Keymap = {
        var bindings = ViewID.allCases.map { KeyBinding(.character(Character("\($0.rawValue)")), .showView($0), "show \($0.title)") }
        bindings += [
            KeyBinding(.tab, .nextView, "next view"),
            KeyBinding(.backTab, .previousView, "previous view"),
            KeyBinding(.character("?"), .help, "help (this list)"),
            KeyBinding(.character(":"), .palette, "command palette"),
            KeyBinding(.character("/"), .filter, "filter tables and log (~ for a regex)"),
            KeyBinding(.character("q"), .quit, "quit"),
            KeyBinding(.down, .selectNext, "next node's heap", view: .scheduler),
            KeyBinding(.up, .selectPrevious, "previous node's heap", view: .scheduler),
            KeyBinding(.down, .selectNext, "select next row"),
            KeyBinding(.character("j"), .selectNext, "select next row"),
            KeyBinding(.up, .selectPrevious, "select previous row"),
            KeyBinding(.character("k"), .selectPrevious, "select previous row"),
            KeyBinding(.pageUp, .scrollLog(.pageUp), "event log: back a page"),
            KeyBinding(.pageDown, .scrollLog(.pageDown), "event log: forward a page"),
            KeyBinding(.home, .scrollLog(.oldest), "event log: the oldest kept"),
            KeyBinding(.end, .scrollLog(.newest), "event log: follow the newest"),
            KeyBinding(.character(" "), .control(.time(.toggle)), "pause / resume time"),
            KeyBinding(.character("."), .control(.time(.step)), "step one event (pauses)"),
            KeyBinding(.character("+"), .control(.time(.faster)), "speed × 2"),
            KeyBinding(.character("-"), .control(.time(.slower)), "speed ÷ 2"),
            KeyBinding(.character("x"), .control(.kill(.leader)), "kill the leader", dangerous: true),
            KeyBinding(.character("H"), .control(.heal), "heal the network", dangerous: true),
            KeyBinding(.character("R"), .control(.restartAll), "heal all: network, clocks, nodes", dangerous: true),
            KeyBinding(.character("K"), .onSelected(.kill), "kill the selected node", view: .cluster, dangerous: true),
            KeyBinding(.character("r"), .onSelected(.restart), "restart the selected node", view: .cluster, dangerous: true),
            KeyBinding(.character("i"), .onSelected(.isolate), "isolate the selected node", view: .cluster, dangerous: true),
            KeyBinding(.character("p"), .onSelected(.pause), "pause the selected node 3 s", view: .cluster, dangerous: true),
            KeyBinding(.character("t"), .onSelected(.transfer), "transfer leadership to the selected node", view: .cluster, dangerous: true),
            KeyBinding(.character("o"), .onSelected(.breakerOpen), "force the selected breaker open", view: .breakers, dangerous: true),
            KeyBinding(.character("d"), .onSelected(.breakerDisable), "disable the selected breaker", view: .breakers, dangerous: true),
            KeyBinding(.character("c"), .onSelected(.breakerReset), "reset (close) the selected breaker", view: .breakers, dangerous: true),
            KeyBinding(.character("]"), .lab(.moreThreads), "more threads (1 2 4 … 64)", view: .local),
            KeyBinding(.character("["), .lab(.fewerThreads), "fewer threads", view: .local),
            KeyBinding(.character(">"), .lab(.longerSection), "longer critical section (0 100 1k 10k 100k ns)", view: .local),
            KeyBinding(.character("<"), .lab(.shorterSection), "shorter critical section", view: .local),
        ]
        return Keymap(bindings: bindings)
    }()
}
