/// The console's update function (bubbletea's shape): an event in, the state changed, commands
/// out. Pure: no I/O, no clock; hosts carry out the commands and feed results back as events.
public enum ConsoleApp {
    public static func update(_ state: inout ConsoleState, _ event: ConsoleEvent) -> [ConsoleCommand] {
        let demand = state.labDemand
        var commands = handle(&state, event)
        // Whatever the event (a view key, Tab, the palette, a lab key), the host hears once when
        // what it should measure changed.
        if state.labDemand != demand { commands.append(.lab(state.labDemand)) }
        // A filter the index cannot answer (a regex, under 3 characters) keeps its matches up to
        // date here, once per update, instead of scanning the whole log in every frame.
        state.log.memoize(state.filter)
        return commands
    }

    private static func handle(_ state: inout ConsoleState, _ event: ConsoleEvent) -> [ConsoleCommand] {
        switch event {
        case .snapshot(let snapshot):
            state.snapshot = snapshot
            state.snapshot.readOnly = state.readOnly
            state.trends.absorb(snapshot)
            let added = state.log.absorb(snapshot.events)
            if state.logScroll > 0 {
                // Scrolled back: the lines in view stay in view as new ones arrive below.
                state.logScroll += added.filter { ConsoleFilter.matches(state.filter, $0.text) }.count
            }
            return []
        case .controlResult(let text, let isError):
            state.message = text
            state.messageIsError = isError
            return []
        case .key(let key):
            return handleKey(&state, key)
        case .localLab(let figures):
            state.local.absorb(figures)
            return []
        }
    }

    static func handleKey(_ state: inout ConsoleState, _ key: Key) -> [ConsoleCommand] {
        if key == .control("c") { return quit(&state) }
        switch state.overlay {
        case .palette: return paletteKey(&state, key)
        case .filter: return filterKey(&state, key)
        case .confirm(let control, _):
            state.overlay = .none
            if key == .character("y") || key == .character("Y") {
                state.message = nil
                return [.control(control)]
            }
            state.message = "cancelled"
            state.messageIsError = false
            return []
        case .help:
            // The overlay owns the keyboard: a key meant for the cluster (x kills the leader) must
            // not act behind a screen that hides what it did.
            let page = 10
            switch key {
            case .escape, .character("?"), .character("q"):
                state.overlay = .none
            case .down, .character("j"): state.helpScroll += 1
            case .up, .character("k"): state.helpScroll = max(0, state.helpScroll - 1)
            case .pageDown, .character(" "): state.helpScroll += page
            case .pageUp: state.helpScroll = max(0, state.helpScroll - page)
            case .home: state.helpScroll = 0
            case .end: state.helpScroll = Int.max / 2
            default:
                state.message = "help is open: ↓/↑ PgDn/PgUp scroll, ? or Esc closes it"
                state.messageIsError = false
            }
            return []
        case .none:
            if key == .escape {
                state.filter = ""
                state.message = nil
                return []
            }
        }
        guard let binding = state.keymap.binding(for: key, in: state.view) else {
            state.message = "no binding for '\(key)' here — press ? for the keys"
            state.messageIsError = true
            return []
        }
        return perform(&state, binding)
    }

    static func perform(_ state: inout ConsoleState, _ binding: KeyBinding) -> [ConsoleCommand] {
        state.message = nil
        switch binding.action {
        case .showView(let view):
            show(&state, view)
            state.overlay = .none
        case .nextView:
            state.view = neighbour(of: state.view, step: 1, on: state.snapshot.engine)
        case .previousView:
            state.view = neighbour(of: state.view, step: ViewID.allCases.count - 1, on: state.snapshot.engine)
        case .quit:
            return quit(&state)
        case .help:
            state.overlay = state.overlay == .help ? .none : .help
            state.helpScroll = 0
        case .palette:
            state.overlay = .palette
            state.palette.text = ""
            state.palette.candidates = []
        case .filter:
            state.overlay = .filter
        case .selectNext:
            state.selection[state.view] = min(currentRow(state) + 1, max(0, rowCount(state) - 1))
        case .selectPrevious:
            state.selection[state.view] = max(0, currentRow(state) - 1)
        case .scrollLog(let step):
            let lines = state.log.matching(state.filter).count
            switch step {
            case .pageUp: state.logScroll = min(state.logScroll + logPage, max(0, lines - 1))
            case .pageDown: state.logScroll = max(0, state.logScroll - logPage)
            case .oldest: state.logScroll = max(0, lines - 1)
            case .newest: state.logScroll = 0
            }
        case .control(let control):
            return request(&state, control, describing: binding.help)
        case .onSelected(let action):
            guard let control = selectedControl(state, action) else {
                state.message = "nothing selected"
                return []
            }
            return request(&state, control, describing: binding.help)
        case .lab(let adjustment):
            state.local.settings.step(adjustment)
        }
        return []
    }

    /// Shows `view`, or says why this engine has nothing to show there.
    static func show(_ state: inout ConsoleState, _ view: ViewID) {
        if let reason = view.unavailability(on: state.snapshot.engine) {
            state.message = reason
            state.messageIsError = true
            return
        }
        state.view = view
    }

    /// The next view `step` places on (cyclically) that this engine can show; Tab skips the others.
    static func neighbour(of view: ViewID, step: Int, on engine: ConsensusEngine) -> ViewID {
        var next = view
        repeat {
            next = ViewID(rawValue: (next.rawValue - 1 + step) % ViewID.allCases.count + 1)!
        } while next.unavailability(on: engine) != nil && next != view
        return next
    }

    /// A control goes out at once, or waits for y/n when it is dangerous and confirmation is on;
    /// in read-only mode a dangerous one is refused, and on an engine without it, always.
    static func request(_ state: inout ConsoleState, _ control: ClusterControl, describing text: String) -> [ConsoleCommand] {
        if let reason = control.unavailability(on: state.snapshot.engine) {
            state.message = reason
            state.messageIsError = true
            return []
        }
        if control.isDangerous && state.readOnly {
            state.message = "read-only: '\(text)' would change the cluster"
            state.messageIsError = true
            return []
        }
        if control.isDangerous && state.confirmDangerous {
            state.overlay = .confirm(control, text)
            return []
        }
        return [.control(control)]
    }

    /// Lines one PgUp / PgDn moves the event log.
    static let logPage = 8

    static func quit(_ state: inout ConsoleState) -> [ConsoleCommand] {
        state.isQuitting = true
        return [.quit]
    }

    /// The selected row, or the row a view starts from before any was picked (the Scheduler view's
    /// heap: the view node's).
    static func currentRow(_ state: ConsoleState) -> Int {
        if let row = state.selection[state.view] { return row }
        if state.view == .scheduler, let distributed = state.snapshot.scheduler.distributed { return distributed.defaultHeapRow }
        return 0
    }

    static func rowCount(_ state: ConsoleState) -> Int {
        switch state.view {
        case .cluster: return state.snapshot.nodes.count
        case .scheduler: return state.snapshot.scheduler.distributed?.heaps.count ?? 0
        case .locks: return ConsoleFilter.apply(state.filter, to: state.snapshot.locks.map(\.name)).count
        case .breakers: return state.snapshot.breakers.count
        case .kv: return state.snapshot.config.count
        case .local: return state.local.figures.count
        default: return 0
        }
    }

    static func selectedControl(_ state: ConsoleState, _ action: SelectedAction) -> ClusterControl? {
        let row = state.selected(in: state.view)
        switch action {
        case .breakerOpen, .breakerDisable, .breakerReset:
            guard row < state.snapshot.breakers.count else { return nil }
            let name = state.snapshot.breakers[row].name
            return .breaker(name: name, action == .breakerOpen ? .open : action == .breakerDisable ? .disable : .reset)
        default:
            guard row < state.snapshot.nodes.count else { return nil }
            let node = NodeRef.id(state.snapshot.nodes[row].id)
            switch action {
            case .kill: return .kill(node)
            case .restart: return .restart(node)
            case .isolate: return .isolate(node)
            case .pause: return .pause(node, millis: 3_000)
            default: return .transfer(to: node)
            }
        }
    }

    static func paletteKey(_ state: inout ConsoleState, _ key: Key) -> [ConsoleCommand] {
        switch key {
        case .escape:
            state.overlay = .none
        case .enter:
            let line = state.palette.text
            state.overlay = .none
            guard !line.trimmingSpaces.isEmpty else { return [] }
            state.palette.remember(line)
            do {
                switch try PaletteParser.parse(line) {
                case .control(let control): return request(&state, control, describing: line)
                case .showView(let view): show(&state, view)
                case .quit: return quit(&state)
                case .help: state.overlay = .help
                }
            } catch {
                state.message = error.message
                state.messageIsError = true
            }
        case .tab:
            let completion = PaletteParser.complete(state.palette.text)
            state.palette.text = completion.completed
            state.palette.candidates = completion.candidates
        case .backspace, .delete:
            if !state.palette.text.isEmpty { state.palette.text.removeLast() } else { state.overlay = .none }
        case .up:
            let history = state.palette.history
            guard !history.isEmpty else { break }
            let index = max(0, (state.palette.historyIndex ?? history.count) - 1)
            state.palette.historyIndex = index
            state.palette.text = history[index]
        case .down:
            guard let index = state.palette.historyIndex else { break }
            if index + 1 < state.palette.history.count {
                state.palette.historyIndex = index + 1
                state.palette.text = state.palette.history[index + 1]
            } else {
                state.palette.historyIndex = nil
                state.palette.text = ""
            }
        case .character(let character):
            if state.palette.text.count < 200 { state.palette.text.append(character) }
            state.palette.candidates = []
        default:
            break
        }
        return []
    }

    static func filterKey(_ state: inout ConsoleState, _ key: Key) -> [ConsoleCommand] {
        switch key {
        case .escape:
            state.filter = ""
            state.overlay = .none
        case .enter:
            state.overlay = .none
            if let problem = ConsoleFilter.problem(state.filter) {
                state.message = problem
                state.messageIsError = true
            }
        case .backspace, .delete:
            if !state.filter.isEmpty { state.filter.removeLast() }
        case .character(let character):
            if state.filter.count < 100 { state.filter.append(character) }
        default:
            break
        }
        return []
    }
}
