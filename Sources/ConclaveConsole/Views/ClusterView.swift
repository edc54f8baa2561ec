/// View 1: a card per node, the link matrix and the leader timeline.
enum ClusterView {
    static let cardWidthMin = 24
    static let cardHeight = 8

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let snapshot = state.snapshot
        let nodes = snapshot.nodes
        guard !nodes.isEmpty else {
            frame.put("no nodes yet", x: rect.x + 2, y: rect.y + 1, role: .dim)
            return
        }
        let perRow = max(1, min(nodes.count, rect.width / cardWidthMin))
        let cardWidth = rect.width / perRow
        let rows = (nodes.count + perRow - 1) / perRow
        for (index, node) in nodes.enumerated() {
            let card = Rect(x: rect.x + (index % perRow) * cardWidth, y: rect.y + (index / perRow) * cardHeight,
                            width: cardWidth, height: cardHeight)
            drawCard(&frame, node, snapshot: snapshot, in: card, selected: index == state.selected(in: .cluster))
        }
        let lowerTop = rect.y + rows * cardHeight
        let lower = Rect(x: rect.x, y: lowerTop, width: rect.width, height: rect.maxY - lowerTop)
        guard lower.height >= 3 else { return }
        let matrixWidth = min(lower.width / 2, 12 + 5 * nodes.count + 2)
        let links = Rect(x: lower.x, y: lower.y, width: matrixWidth, height: lower.height)
        let free = drawLinks(&frame, snapshot, in: links)
        drawTrends(&frame, state.trends, in: links, below: free)
        drawTimeline(&frame, snapshot, in: Rect(x: lower.x + matrixWidth, y: lower.y, width: lower.width - matrixWidth, height: lower.height))
    }

    static func role(of node: NodeSnapshot) -> Role {
        switch (node.health, node.role) {
        case (.crashed, _), (.unreachable, _): return .nodeDown
        case (.paused, _): return .nodePaused
        case (_, .leader): return .nodeLeader
        case (_, .candidate), (_, .preCandidate): return .nodeCandidate
        case (_, .learner): return .nodeLearner
        default: return .nodeFollower
        }
    }

    static func drawCard(_ frame: inout Frame, _ node: NodeSnapshot, snapshot: ClusterSnapshot, in card: Rect, selected: Bool) {
        let marker = node.role == .leader && node.health == .up ? "★ " : ""
        frame.box(card, title: "\(selected ? "▸ " : "")node \(node.id)", focused: selected)
        let inner = card.inset(1)
        let x = inner.x + 1
        let width = inner.width - 2
        let nodeRole = role(of: node)
        let state: String
        switch node.health {
        case .crashed: state = "CRASHED"
        case .unreachable: state = "silent \(node.silentMillis / 100 / 10).\(node.silentMillis / 100 % 10)s"
        case .paused: state = "PAUSED \(node.pausedForMillis / 100 / 10).\(node.pausedForMillis / 100 % 10)s"
        case .up: state = (node.partitionGroup > 0 ? "up · group \(node.partitionGroup)" : "up") + disk(node)
        }
        let label = node.health == .crashed ? "down" : node.health == .unreachable ? "unreachable" : node.role.rawValue
        frame.put(TextWidth.pad(marker + label, width), x: x, y: inner.y, role: nodeRole)
        frame.put(state, x: x, y: inner.y + 1, role: node.health == .up ? (node.partitionGroup > 0 ? .linkCut : .text) : nodeRole, maxX: inner.maxX)
        guard node.health != .crashed else {
            frame.put("memory lost,", x: x, y: inner.y + 3, role: .dim, maxX: inner.maxX)
            frame.put("disk kept", x: x, y: inner.y + 4, role: .dim, maxX: inner.maxX)
            return
        }
        guard node.health != .unreachable else {
            frame.put("no report since;", x: x, y: inner.y + 3, role: .dim, maxX: inner.maxX)
            frame.put("reconnecting", x: x, y: inner.y + 4, role: .dim, maxX: inner.maxX)
            return
        }
        frame.put("term \(node.term)  vote \(node.vote == 0 ? "-" : "\(node.vote)")", x: x, y: inner.y + 2, maxX: inner.maxX)
        frame.put("c\(node.commit) a\(node.applied) l\(node.lastIndex)", x: x, y: inner.y + 3, maxX: inner.maxX)
        let top = max(1, snapshot.nodes.map(\.lastIndex).max() ?? 1)
        frame.bar(x: x, y: inner.y + 4, width: width, fraction: Double(node.commit) / Double(top))
        if node.role == .leader {
            frame.put("heartbeats every tick", x: x, y: inner.y + 5, role: .dim, maxX: inner.maxX)
        } else {
            // The election timer drains: full right after hearing from the leader, empty when it fires.
            let left = 1 - Double(node.electionElapsedTicks) / Double(max(1, node.electionTimeoutTicks))
            frame.put("⏱", x: x, y: inner.y + 5, role: .dim)
            frame.bar(x: x + 2, y: inner.y + 5, width: max(1, width - 10), fraction: left, fill: left < 0.3 ? .nodeCandidate : .barFill)
            let skew = node.clockOffsetMillis == 0 ? "" : "\(node.clockOffsetMillis > 0 ? "+" : "")\(node.clockOffsetMillis)ms"
            frame.put(skew, x: inner.maxX - 1 - TextWidth.columns(skew), y: inner.y + 5, role: .hint)
        }
    }

    /// A real node's disk, after its state: its fsync p99 so far, or that it does not sync.
    static func disk(_ node: NodeSnapshot) -> String {
        if node.fsyncOff { return " · NO FSYNC" }
        guard let micros = node.fsyncP99Micros, micros > 0 else { return "" }
        return " · fsync p99 " + (micros < 1_000 ? "\(micros)µs" : "\(micros / 1_000).\(micros / 100 % 10)ms")
    }

    /// Draws the matrix, the network's summary and the leader's progress; returns the first row
    /// left free inside the box.
    @discardableResult
    static func drawLinks(_ frame: inout Frame, _ snapshot: ClusterSnapshot, in rect: Rect) -> Int {
        frame.box(rect, title: "links: msg/s, ✕ cut")
        let nodes = snapshot.nodes
        var y = rect.y + 1
        var header = "from\\to "
        for node in nodes { header += TextWidth.pad("\(node.id)", 5, right: true) }
        frame.put(header, x: rect.x + 2, y: y, role: .dim, maxX: rect.maxX - 1)
        for (row, source) in nodes.enumerated() {
            y += 1
            guard y < rect.maxY - 1 else { break }
            frame.put(TextWidth.pad("\(source.id)\(source.role == .leader && source.health == .up ? " ★" : "")", 8), x: rect.x + 2, y: y,
                      role: role(of: source))
            for (column, _) in nodes.enumerated() {
                let link = snapshot.links.indices.contains(row) && snapshot.links[row].indices.contains(column) ? snapshot.links[row][column] : nil
                let text: String
                let cellRole: Role
                if row == column { (text, cellRole) = ("·", .dim) }
                else if let link, link.isOpen { (text, cellRole) = (ConsoleRenderer.rate(link.messagesPerSecond), .linkOK) }
                else { (text, cellRole) = ("✕", .linkCut) }
                frame.put(TextWidth.pad(text, 5, right: true), x: rect.x + 10 + column * 5, y: y, role: cellRole, maxX: rect.maxX - 1)
            }
        }
        y += 2
        if y < rect.maxY - 1 {
            frame.put(snapshot.network.summary, x: rect.x + 2, y: y, role: snapshot.network.isWhole ? .dim : .linkCut, maxX: rect.maxX - 1)
        }
        if let step = snapshot.lastStep, y + 1 < rect.maxY - 1 {
            frame.put("last step: " + step, x: rect.x + 2, y: y + 1, role: .hint, maxX: rect.maxX - 1)
            y += 1
        }
        // The leader's view of each follower: match / next (and appends in flight).
        guard let row = nodes.firstIndex(where: { $0.role == .leader && $0.health == .up }), snapshot.links.indices.contains(row) else {
            return min(y + 1, rect.maxY - 1)
        }
        let progress = zip(nodes, snapshot.links[row]).compactMap { node, link -> String? in
            guard let match = link.match, let next = link.next else { return nil }
            return "\(node.id): m\(match) n\(next)" + (link.inFlight > 0 ? " +\(link.inFlight)" : "")
        }
        var shown = 0
        for (offset, line) in progress.enumerated() where y + 2 + offset < rect.maxY - 1 {
            frame.put((offset == 0 ? "progress " : "         ") + line, x: rect.x + 2, y: y + 2 + offset, role: .dim, maxX: rect.maxX - 1)
            shown += 1
        }
        return min(y + 2 + shown, rect.maxY - 1)
    }

    /// Commits/s and msg/s over the last minutes, one column a second, newest right, in the rows
    /// of the box from `free` down: a label over a sparkline each when five rows are left (one
    /// apart from what is above), a row each when two are, nothing when fewer — they never cover
    /// the leader's progress (at 120×34 they did).
    static func drawTrends(_ frame: inout Frame, _ trends: Trends, in rect: Rect, below free: Int) {
        let rows: [(String, [Double])] = [("commits/s", trends.commitsPerSecond), ("msg/s", trends.messagesPerSecond)]
        let left = rect.maxY - 1 - free
        let perTrend = left >= 2 * rows.count + 1 ? 2 : left >= rows.count ? 1 : 0
        guard perTrend > 0 else { return }
        var y = rect.maxY - 1 - perTrend * rows.count
        for (label, points) in rows {
            let latest = points.last.map { ConsoleRenderer.rate($0) } ?? "-"
            let x = frame.put("\(label) \(latest)", x: rect.x + 2, y: y, role: .dim, maxX: rect.maxX - 1)
            if perTrend == 2 {
                frame.sparkline(points, x: rect.x + 2, y: y + 1, width: max(1, rect.width - 4), role: .linkOK)
            } else {
                frame.sparkline(points, x: x + 1, y: y, width: max(1, rect.maxX - 2 - (x + 1)), role: .linkOK)
            }
            y += perTrend
        }
    }

    static func drawTimeline(_ frame: inout Frame, _ snapshot: ClusterSnapshot, in rect: Rect) {
        frame.box(rect, title: "leader timeline")
        let inner = rect.inset(1)
        guard inner.height > 0 else { return }
        // A strip: one cell per span, newest right, the leader's number or ✕ for none.
        var x = inner.x + 1
        for span in snapshot.leaderTimeline.suffix(max(1, (inner.width - 2) / 2)) {
            let label = span.leader.map { "\($0)" } ?? "✕"
            x = frame.put(label, x: x, y: inner.y, role: span.leader == nil ? .alert : .nodeLeader) + 1
        }
        for (offset, span) in snapshot.leaderTimeline.suffix(inner.height - 1).reversed().enumerated() {
            let who = span.leader.map { "node \($0) leads" } ?? "no leader"
            frame.put(TextWidth.pad(ConsoleRenderer.time(span.startNanos), 9, right: true) + "  term \(span.term)  " + who,
                      x: inner.x + 1, y: inner.y + 1 + offset, role: offset == 0 ? .text : .dim, maxX: inner.maxX)
        }
    }
}
