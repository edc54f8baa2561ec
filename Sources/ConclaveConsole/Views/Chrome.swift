/// What every view shares: header, tabs, event log, footer, help, confirmation, narration.
enum Chrome {
    static func header(_ frame: inout Frame, _ state: ConsoleState) {
        let snapshot = state.snapshot
        frame.fill(Rect(x: 0, y: 0, width: frame.width, height: 1), role: .header)
        let speed = snapshot.isPaused ? "PAUSED" : "\(EmbeddedSpeed.text(snapshot.speed))×"
        // A remote cluster runs on real time: no seed, no speed; its source line names the nodes.
        let place = snapshot.mode != "embedded" ? "\(snapshot.source) · t=\(ConsoleRenderer.time(snapshot.nowNanos))"
            : "seed \(snapshot.seed) · t=\(ConsoleRenderer.time(snapshot.nowNanos)) · \(speed)"
        let engine = snapshot.engine == .raft || snapshot.engine.isForeign ? "" : " \(snapshot.engine == .both ? "raft+paxos" : "paxos")"
        var left = " conclave · \(snapshot.mode)\(engine)\(state.readOnly ? " (read-only)" : "") · \(place)"
        let health: (text: String, isAlert: Bool)
        switch (snapshot.engine, snapshot.paxos) {
        case (.etcd, _), (.redis, _):
            if let foreign = snapshot.foreign {
                left += " · " + foreignSummary(snapshot, foreign)
                health = foreign.health
            } else {
                health = ("not heard from yet", true)
            }
        case (.paxos, let paxos?):
            left += " · " + paxosSummary(paxos)
            health = paxos.health(partitioned: !snapshot.network.groups.isEmpty)
        case (.both, let paxos?):
            // Each engine's leader is in its own half of view 1; the title bar has room for health.
            let paxosHealth = paxos.health(partitioned: !snapshot.network.groups.isEmpty)
            health = ("raft \(snapshot.health) · paxos \(paxosHealth.text)", snapshot.health != .healthy || paxosHealth.isAlert)
        default:
            left += " · " + raftSummary(snapshot) + " · \(ConsoleRenderer.rate(snapshot.messagesPerSecond)) msg/s"
            health = ("\(snapshot.health)", snapshot.health != .healthy)
        }
        frame.put(left, x: 0, y: 0, role: .header)
        let shown = " \(health.text) "
        let x = frame.width - TextWidth.columns(shown)
        if x > TextWidth.columns(left) {
            frame.put(shown, x: x, y: 0, role: health.isAlert ? .alert : .header)
        }
    }

    static func raftSummary(_ snapshot: ClusterSnapshot) -> String {
        "leader \(snapshot.leader.map { "node \($0.id)" } ?? "none") · term \(snapshot.term)"
    }

    static func foreignSummary(_ snapshot: ClusterSnapshot, _ foreign: ForeignEngineSnapshot) -> String {
        let held = snapshot.locks.filter { !$0.holders.isEmpty }.count
        guard foreign.kind == .etcd else { return "\(held) lock\(held == 1 ? "" : "s") held" }
        let leader = foreign.endpoints.first { $0.isLeader && $0.answers }
        return "leader \(leader.map { $0.name.isEmpty ? $0.member : $0.name } ?? "none") · raft term \(snapshot.term) · \(held) lock\(held == 1 ? "" : "s") held"
    }

    static func paxosSummary(_ paxos: PaxosSnapshot) -> String {
        "leader \(paxos.leader.map { "node \($0.id)" } ?? "none") · ballot \(paxos.highestBallot) · \(paxos.chosenCount) chosen"
    }

    /// What a source cannot show, said in place of the view: absent, never faked.
    static func absent(_ frame: inout Frame, in rect: Rect, title: String, _ lines: [String]) {
        frame.box(rect, title: title, focused: true)
        let inner = rect.inset(1)
        for (offset, line) in lines.enumerated() where offset < inner.height {
            frame.put(line, x: inner.x + 1, y: inner.y + offset, role: .dim, maxX: inner.maxX)
        }
    }

    static func tabs(_ frame: inout Frame, _ state: ConsoleState) {
        var x = 0
        // Below 100 columns the tabs drop their padding and the space after the number so all
        // nine fit in 80.
        let compact = frame.width < 100
        let engine = state.snapshot.engine
        for view in ViewID.allCases {
            let title = view.title(on: engine)
            let label = compact ? "\(view.rawValue)\(title)" : " \(view.rawValue) \(title) "
            let role: Role = view == state.view ? .tabActive : view.unavailability(on: engine) == nil ? .tab : .dim
            x = frame.put(label, x: x, y: 1, role: role) + 1
        }
        if !state.filter.isEmpty || state.overlay == .filter {
            frame.put(" filter: \(state.filter)\(state.overlay == .filter ? "▏" : "") ", x: x + 1, y: 1, role: .hint)
        }
    }

    static func eventLog(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let lines = state.log.matching(state.filter)
        let inner = rect.inset(1)
        let scroll = min(state.logScroll, max(0, lines.count - 1))
        let end = lines.count - scroll  // counted from the oldest matching line, as the title shows it
        let first = max(0, end - inner.height)
        let shown = lines.dropFirst(first).prefix(end - first)
        let position = scroll == 0 ? "" : " · lines \(first + 1)–\(end) of \(lines.count), End follows"
        frame.box(rect, title: "events" + (state.filter.isEmpty ? "" : " matching '\(state.filter)'") + " (\(lines.count))" + position)
        for (offset, event) in shown.enumerated() {
            let role: Role = event.kind == .fault ? .logFault : event.kind == .election ? .logElection : .logInfo
            let stamp = TextWidth.pad(ConsoleRenderer.time(event.nanos), 9, right: true)
            frame.put(stamp, x: inner.x, y: inner.y + offset, role: .dim)
            frame.put(TextWidth.pad(event.kind.rawValue, 9), x: inner.x + 10, y: inner.y + offset, role: role)
            frame.put(event.text, x: inner.x + 20, y: inner.y + offset, role: role, maxX: inner.maxX)
        }
    }

    static func footer(_ frame: inout Frame, _ state: ConsoleState) {
        let y = frame.height - 1
        switch state.overlay {
        case .palette:
            let end = frame.put(":" + state.palette.text, x: 0, y: y, role: .palette)
            frame.put("▏", x: end, y: y, role: .palette)
            if !state.palette.candidates.isEmpty {
                frame.put("  " + state.palette.candidates.joined(separator: " "), x: end + 2, y: y, role: .hint)
            }
            return
        case .filter:
            frame.put("/" + state.filter + "▏  (Enter keeps it, Esc clears; ~ for a regex)", x: 0, y: y, role: .palette)
            return
        default:
            break
        }
        if let message = state.message {
            frame.put(message, x: 0, y: y, role: state.messageIsError ? .alert : .hint)
            return
        }
        // On an existing engine only the keys it can carry out are offered (etcd: moving the leader).
        let keys = state.keymap.bindings.filter { binding in
            binding.view == state.view && (!state.snapshot.engine.isForeign
                || (binding.action == .onSelected(.transfer) && state.snapshot.engine == .etcd))
        }.map { "\($0.key) \($0.help)" }
        let common = state.snapshot.engine.isForeign
            ? ["? help", ": command (lock acquire|release NAME, put, " + (state.snapshot.engine == .etcd ? "revoke, transfer)" : "…)"), "/ filter", "q quit"]
            : ["? help", ": command", "/ filter", "Space pause", ". step", "q quit"]
        frame.put((common + keys).joined(separator: " · "), x: 0, y: y, role: .footer)
    }

    /// The help overlay, generated from the keymap (and the palette's command list).
    static func help(_ frame: inout Frame, _ state: ConsoleState) {
        var lines: [(String, Role)] = [("Keys (\(state.view.title) view)" + (state.readOnly ? " — read-only: cluster-changing keys removed" : ""), .title)]
        for binding in state.keymap.bindings where binding.view == nil || binding.view == state.view {
            let line = "  " + TextWidth.pad("\(binding.key)", 6) + binding.help + (binding.isDangerous && state.confirmDangerous ? " (asks)" : "")
            lines.append((line, binding.isDangerous ? .hint : .text))
        }
        lines.append(("", .text))
        lines.append(("Commands (:)", .title))
        for (_, usage) in PaletteParser.usage { lines.append(("  :" + usage, .text)) }
        let width = min(frame.width - 4, 116)
        let height = min(frame.height - 2, lines.count + 2)
        let rect = Rect(x: (frame.width - width) / 2, y: 1, width: width, height: height)
        frame.fill(rect)
        let rows = height - 2
        // Two columns when everything fits in them at a readable width; otherwise one column that
        // scrolls (↓/↑, PgDn/PgUp, Home/End), its position in the title.
        let longest = lines.map { TextWidth.columns($0.0) }.max() ?? 0
        let twoColumns = lines.count > rows && lines.count <= 2 * rows && (width - 2) / 2 >= min(longest + 1, 56)
        let columns = twoColumns ? 2 : 1
        let scroll = columns == 1 ? min(state.helpScroll, max(0, lines.count - rows)) : 0
        var title = "help — ? or Esc closes"
        if columns == 1 && lines.count > rows {
            title += " · lines \(scroll + 1)–\(scroll + rows) of \(lines.count), ↓/↑ PgDn/PgUp scroll"
        }
        frame.box(rect, title: title, focused: true)
        let columnWidth = (width - 2) / columns
        for (index, (line, role)) in lines.dropFirst(scroll).prefix(rows * columns).enumerated() {
            let column = index / rows
            frame.put(line, x: rect.x + 1 + column * columnWidth, y: rect.y + 1 + index % rows, role: role,
                      maxX: rect.x + 1 + (column + 1) * columnWidth - 1)
        }
    }

    static func confirm(_ frame: inout Frame, _ text: String) {
        let line = " \(text)? y to confirm, any other key cancels "
        let width = min(frame.width - 2, TextWidth.columns(line) + 2)
        let rect = Rect(x: (frame.width - width) / 2, y: frame.height / 2 - 1, width: width, height: 3)
        frame.fill(rect)
        frame.box(rect, title: "confirm", focused: true)
        frame.put(line, x: rect.x + 1, y: rect.y + 1, role: .alert, maxX: rect.maxX - 1)
    }

    static func narration(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        frame.box(rect, title: state.narrationTitle.isEmpty ? "narration" : state.narrationTitle, focused: true)
        for (offset, line) in state.narration.suffix(rect.height - 2).enumerated() {
            frame.put(line, x: rect.x + 2, y: rect.y + 1 + offset, role: .narration, maxX: rect.maxX - 1)
        }
    }
}

enum EmbeddedSpeed {
    static func text(_ speed: Double) -> String {
        speed >= 1 && speed == speed.rounded() ? "\(Int(speed))" : String(format2: speed)
    }
}
