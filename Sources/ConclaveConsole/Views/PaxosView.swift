/// View 1 on the Paxos engine: each node as proposer (phase, ballot, values waiting, how often it
/// was preempted) and acceptor (its promised ballot, one for every slot), then per slot what each
/// acceptor accepted (ballot and value) and the value chosen; beside them the messages as they are
/// delivered — in step mode (`.`), one prepare / promise / accept / accepted at a time.
enum PaxosView {
    static let nodeTable = Table(columns: [("node", 4, false), ("state", 8, false), ("phase", 9, false), ("ballot", 8, false),
                                           ("leader", 6, true), ("promised", 8, true), ("chosen≤", 7, true), ("waiting", 7, true),
                                           ("preempt", 7, true)])
    static let slotWidth = 6
    static let chosenWidthMin = 20
    static let messagesWidthMax = 44

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        guard let paxos = state.snapshot.paxos, !paxos.nodes.isEmpty else {
            frame.put("no Paxos nodes yet", x: rect.x + 2, y: rect.y + 1, role: .dim)
            return
        }
        let messagesWidth = min(messagesWidthMax, rect.width * 2 / 5)
        let left = Rect(x: rect.x, y: rect.y, width: rect.width - messagesWidth, height: rect.height)
        let nodesHeight = min(left.height / 2, paxos.nodes.count + 4)
        drawNodes(&frame, state, paxos, in: Rect(x: left.x, y: left.y, width: left.width, height: nodesHeight))
        drawSlots(&frame, paxos, in: Rect(x: left.x, y: left.y + nodesHeight, width: left.width, height: left.height - nodesHeight))
        drawMessages(&frame, state.snapshot, paxos, in: Rect(x: left.maxX, y: rect.y, width: messagesWidth, height: rect.height))
    }

    static func role(of node: PaxosNodeSnapshot) -> Role {
        switch (node.health, node.phase) {
        case (.crashed, _), (.unreachable, _): return .nodeDown
        case (.paused, _): return .nodePaused
        case (_, "leading"): return .nodeLeader
        case (_, "preparing"): return .nodeCandidate
        default: return .nodeFollower
        }
    }

    static func policy(_ paxos: PaxosSnapshot) -> String {
        (paxos.distinguishedProposer ? "distinguished proposer" : "duelling proposers (no leader)")
            + " · backoff \(paxos.randomizedBackoff ? "on" : "off") · \(paxos.chosenCount) chosen, "
            + "\(ConsoleRenderer.rate(paxos.chosenPerSecond))/s · \(paxos.valuesWaiting) waiting"
    }

    static func drawNodes(_ frame: inout Frame, _ state: ConsoleState, _ paxos: PaxosSnapshot, in rect: Rect) {
        frame.box(rect, title: "proposers · acceptors — \(paxos.faultTolerance)", focused: true)
        let inner = rect.inset(1)
        guard inner.height > 0 else { return }
        if let violation = paxos.violations.first {
            frame.put("SAFETY: " + violation, x: inner.x + 1, y: inner.y, role: .alert, maxX: inner.maxX)
        } else {
            frame.put(policy(paxos), x: inner.x + 1, y: inner.y, role: paxos.waitingForMillis ?? 0 >= 1_000 ? .alert : .hint, maxX: inner.maxX)
        }
        guard inner.height > 1 else { return }
        nodeTable.drawHeader(&frame, x: inner.x + 1, y: inner.y + 1, maxX: inner.maxX)
        let selected = state.selected(in: .cluster)
        for (index, node) in paxos.nodes.enumerated() where 2 + index < inner.height {
            let health: String
            switch node.health {
            case .crashed: health = "CRASHED"
            case .paused: health = "PAUSED"
            case .unreachable: health = "silent"
            case .up: health = node.partitionGroup > 0 ? "up · g\(node.partitionGroup)" : "up"
            }
            let cells = ["\(node.id)\(node.phase == "leading" ? " ★" : "")", health, node.phase, node.ballot,
                         node.leader == 0 ? "-" : "\(node.leader)", node.promised, "\(node.chosenThrough)", "\(node.valuesWaiting)",
                         "\(node.preemptions)"]
            let nodeRole = role(of: node)
            nodeTable.drawRow(&frame, cells, roles: [nodeRole, node.partitionGroup > 0 ? .linkCut : nodeRole, nodeRole],
                              x: inner.x + 1, y: inner.y + 2 + index, maxX: inner.maxX, selected: index == selected)
        }
    }

    /// The newest slots that fit, newest last: per acceptor "ballot value" (✓ in the chosen
    /// value's ballot), then the chosen value.
    static func drawSlots(_ frame: inout Frame, _ paxos: PaxosSnapshot, in rect: Rect) {
        frame.box(rect, title: "slots: what each acceptor accepted (ballot value) · ✓ the chosen value")
        let inner = rect.inset(1)
        guard inner.height > 1 else { return }
        // Wide enough for "12.3 #45✓" with five acceptors in 80 columns; wider with fewer.
        let acceptorWidth = max(6, min(14, (inner.width - 2 - slotWidth - chosenWidthMin) / max(1, paxos.nodes.count) - 1))
        var header = TextWidth.pad("slot", slotWidth, right: true) + " "
        for node in paxos.nodes { header += TextWidth.pad("acc \(node.id)", acceptorWidth) + " " }
        frame.put(header + "chosen", x: inner.x + 1, y: inner.y, role: .dim, maxX: inner.maxX)
        guard !paxos.slots.isEmpty else {
            frame.put("no value accepted yet", x: inner.x + 1, y: inner.y + 1, role: .dim, maxX: inner.maxX)
            return
        }
        for (offset, slot) in paxos.slots.suffix(inner.height - 1).enumerated() {
            let y = inner.y + 1 + offset
            var x = frame.put(TextWidth.pad("\(slot.slot)", slotWidth, right: true), x: inner.x + 1, y: y, role: .text, maxX: inner.maxX) + 1
            for cell in slot.accepted {
                // Too narrow for the value too (side by side): the ballot, and ✓ if chosen.
                let text = cell.map { "\($0.ballot)\(acceptorWidth < 8 ? "" : " \($0.valueID)")\($0.isChosen ? "✓" : "")" } ?? "·"
                let cellRole: Role = cell == nil ? .dim : cell!.isChosen ? .linkOK : .lockWaiting
                frame.put(TextWidth.pad(text, acceptorWidth), x: x, y: y, role: cellRole, maxX: inner.maxX)
                x += acceptorWidth + 1
            }
            frame.put(slot.chosen ?? "(not chosen)", x: x, y: y, role: slot.chosen == nil ? .dim : .text, maxX: inner.maxX)
        }
    }

    static func messageRole(_ kind: String) -> Role {
        switch kind {
        case "prepare", "promise": return .nodeCandidate
        case "accept", "accepted": return .linkOK
        case "nack": return .alert
        case "chosen": return .nodeLeader
        default: return .dim
        }
    }

    static func drawMessages(_ frame: inout Frame, _ snapshot: ClusterSnapshot, _ paxos: PaxosSnapshot, in rect: Rect) {
        let title = snapshot.isPaused ? "messages · paused: . delivers one" : "messages delivered, newest last"
        frame.box(rect, title: title)
        let inner = rect.inset(1)
        guard inner.height > 2 else { return }
        let rows = inner.height - 2
        for (offset, line) in paxos.messages.suffix(rows).enumerated() {
            let isStep = snapshot.lastStep == line.text && offset == min(rows, paxos.messages.count) - 1
            frame.put((isStep ? "▸ " : "  ") + line.text, x: inner.x, y: inner.y + offset, role: isStep ? .highlight : messageRole(line.kind),
                      maxX: inner.maxX)
        }
        let rates = "\(ConsoleRenderer.rate(paxos.messagesPerSecond)) msg/s · highest ballot \(paxos.highestBallot)"
        frame.put(rates, x: inner.x + 1, y: inner.maxY - 1, role: .dim, maxX: inner.maxX)
    }
}
