/// View 1 on the engine `both`: Raft on the left, Multi-Paxos on the right, the same nodes under
/// the same operator faults — who leads, who can still commit or choose, who is cut off.
enum SideBySideView {
    static let raftTable = Table(columns: [("node", 6, false), ("role", 13, false), ("state", 11, false), ("term", 5, true),
                                           ("commit", 7, true)])
    static let paxosTable = Table(columns: [("node", 6, false), ("phase", 10, false), ("state", 11, false), ("ballot", 7, true),
                                            ("chosen≤", 7, true), ("preempted", 9, true)])

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let snapshot = state.snapshot
        guard let paxos = snapshot.paxos else {
            frame.put("no Paxos cluster in this snapshot", x: rect.x + 2, y: rect.y + 1, role: .dim)
            return
        }
        frame.put("same faults on both · " + snapshot.network.summary, x: rect.x + 1, y: rect.y,
                  role: snapshot.network.isWhole ? .dim : .linkCut, maxX: rect.maxX)
        let half = rect.width / 2
        let nodesHeight = min((rect.height - 1) / 2, max(snapshot.nodes.count, paxos.nodes.count) + 5)
        let top = rect.y + 1
        drawRaft(&frame, snapshot, in: Rect(x: rect.x, y: top, width: half, height: nodesHeight))
        drawPaxos(&frame, paxos, in: Rect(x: rect.x + half, y: top, width: rect.width - half, height: nodesHeight))
        let lower = top + nodesHeight
        guard rect.maxY - lower >= 3 else { return }
        ClusterView.drawTimeline(&frame, snapshot, in: Rect(x: rect.x, y: lower, width: half, height: rect.maxY - lower))
        PaxosView.drawSlots(&frame, paxos, in: Rect(x: rect.x + half, y: lower, width: rect.width - half, height: rect.maxY - lower))
    }

    static func state(_ health: NodeSnapshot.Health, group: Int) -> String {
        switch health {
        case .crashed: return "CRASHED"
        case .paused: return "PAUSED"
        case .unreachable: return "silent"
        case .up: return group > 0 ? "up · g\(group)" : "up"
        }
    }

    static func drawRaft(_ frame: inout Frame, _ snapshot: ClusterSnapshot, in rect: Rect) {
        frame.box(rect, title: "Raft · " + Chrome.raftSummary(snapshot), focused: true)
        let inner = rect.inset(1)
        raftTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        for (index, node) in snapshot.nodes.enumerated() where 1 + index < inner.height {
            let role = ClusterView.role(of: node)
            let label = node.health == .crashed ? "down" : node.role.rawValue
            raftTable.drawRow(&frame, ["\(node.id)\(role == .nodeLeader ? " ★" : "")", label, state(node.health, group: node.partitionGroup),
                                       "\(node.term)", "\(node.commit)"], roles: [role, role, node.partitionGroup > 0 ? .linkCut : role],
                              x: inner.x + 1, y: inner.y + 1 + index, maxX: inner.maxX, selected: false)
        }
        let y = inner.y + snapshot.nodes.count + 2
        let commit = snapshot.nodes.map(\.commit).max() ?? 0
        if y < inner.maxY {
            frame.put("committed through \(commit): a leader needs a majority of acks", x: inner.x + 1, y: y, role: .dim, maxX: inner.maxX)
        }
    }

    static func drawPaxos(_ frame: inout Frame, _ paxos: PaxosSnapshot, in rect: Rect) {
        frame.box(rect, title: "Multi-Paxos · " + Chrome.paxosSummary(paxos), focused: true)
        let inner = rect.inset(1)
        paxosTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        for (index, node) in paxos.nodes.enumerated() where 1 + index < inner.height {
            let role = PaxosView.role(of: node)
            paxosTable.drawRow(&frame, ["\(node.id)\(role == .nodeLeader ? " ★" : "")", node.phase, state(node.health, group: node.partitionGroup),
                                        node.ballot, "\(node.chosenThrough)", "\(node.preemptions)"],
                               roles: [role, role, node.partitionGroup > 0 ? .linkCut : role],
                               x: inner.x + 1, y: inner.y + 1 + index, maxX: inner.maxX, selected: false)
        }
        let y = inner.y + paxos.nodes.count + 2
        if y < inner.maxY {
            frame.put(PaxosView.policy(paxos), x: inner.x + 1, y: y, role: .dim, maxX: inner.maxX)
        }
        if y + 1 < inner.maxY {
            frame.put("a value is chosen when a majority accepts it in one ballot", x: inner.x + 1, y: y + 1, role: .dim, maxX: inner.maxX)
        }
    }
}
