/// View 3: the 4-ary heap as a tree (top levels, deadlines relative to now), the timing wheel's rings
/// with slot counts and cursor, partition ownership per node (primary upper case, replica lower
/// case), lateness.
///
/// Once the distributed scheduler holds tasks, the heap is a node's heap of wake-ups, ownership and
/// lateness come from the replicated task table; the wheel is the console's mirror of the same
/// deadlines. Before that (or with no tasks), everything comes from the console's own queues.
enum SchedulerView {
    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let scheduler = state.snapshot.scheduler
        let topHeight = rect.height / 2
        let leftWidth = rect.width / 2
        let heapRect = Rect(x: rect.x, y: rect.y, width: leftWidth, height: topHeight)
        if let distributed = scheduler.distributed, let shown = distributed.heap(at: state.selection[.scheduler]),
           case .tree(let arity, let levels) = shown.heap.layout {
            var nodeHeap = scheduler
            nodeHeap.heapArity = arity
            nodeHeap.heapLevels = levels
            nodeHeap.heapCount = shown.heap.count
            nodeHeap.nowMillis = shown.heap.nowMillis
            drawHeap(&frame, nodeHeap, title: "node \(shown.node): \(arity)-ary heap, \(shown.heap.count) wake-ups", in: heapRect)
        } else {
            drawHeap(&frame, scheduler, title: "\(scheduler.heapArity)-ary heap: \(scheduler.heapCount) delay tasks (top levels)", in: heapRect)
        }
        let wheelRect = Rect(x: rect.x + leftWidth, y: rect.y, width: rect.width - leftWidth, height: topHeight)
        if state.snapshot.mode == "remote" {
            Chrome.absent(&frame, in: wheelRect, title: "timing wheel: embedded only", [
                "The wheel is the embedded console's mirror of its tasks.",
                "A node keeps its wake-ups in the heap at left.",
            ])
        } else {
            drawWheel(&frame, scheduler, in: wheelRect)
        }
        drawPartitions(&frame, state.snapshot, in: Rect(x: rect.x, y: rect.y + topHeight, width: leftWidth, height: rect.height - topHeight))
        drawLateness(&frame, scheduler, in: Rect(x: rect.x + leftWidth, y: rect.y + topHeight, width: rect.width - leftWidth, height: rect.height - topHeight))
    }

    static func relative(_ deadline: UInt64, _ now: UInt64) -> String {
        let millis = Int64(bitPattern: deadline &- now)
        return millis >= 1_000 ? "+\(String(format1: Double(millis) / 1_000))s" : "+\(max(0, millis))ms"
    }

    /// The heap as a tree: each level's nodes share the width equally, a child under its
    /// parent's span, and one connector row per level joins each parent (┴) to its children
    /// (┌ ┬ ┐). Levels are drawn while a node's span fits its label; what is deeper is counted.
    static func drawHeap(_ frame: inout Frame, _ scheduler: SchedulerSnapshot, title: String, in rect: Rect) {
        frame.box(rect, title: title, focused: true)
        let inner = rect.inset(1)
        let rows = heapRows(scheduler.heapLevels, arity: scheduler.heapArity, width: inner.width - 2, height: inner.height - 1)
        for (index, row) in rows.enumerated() {
            let y = inner.y + index
            if row.isConnector {
                frame.put(row.text, x: inner.x + 1, y: y, role: .dim, maxX: inner.maxX)
            } else {
                for (x, deadline) in row.labels {
                    frame.put(relative(deadline, scheduler.nowMillis), x: inner.x + 1 + x, y: y, role: index == 0 ? .title : .text, maxX: inner.maxX)
                }
            }
        }
        let shownLevels = rows.filter { !$0.isConnector }.count
        let hidden = scheduler.heapLevels.dropFirst(shownLevels).reduce(0) { $0 + $1.count }
        if hidden > 0 || scheduler.heapCount > scheduler.heapLevels.reduce(0, { $0 + $1.count }) {
            let below = max(hidden, scheduler.heapCount - scheduler.heapLevels.prefix(shownLevels).reduce(0) { $0 + $1.count })
            frame.put("… \(below) more wake-ups in deeper levels", x: inner.x + 1, y: inner.y + rows.count, role: .dim, maxX: inner.maxX)
        }
    }

    struct HeapRow: Equatable {
        var isConnector: Bool
        /// Label rows: each node's deadline at its column.
        var labels: [(x: Int, deadline: UInt64)]
        /// Connector rows: the line itself.
        var text: String

        static func == (left: HeapRow, right: HeapRow) -> Bool {
            left.isConnector == right.isConnector && left.text == right.text
                && left.labels.map(\.x) == right.labels.map(\.x) && left.labels.map(\.deadline) == right.labels.map(\.deadline)
        }
    }

    /// The box-drawing character joining the lines that leave a cell up, down, left and right.
    static func junction(up: Bool, down: Bool, left: Bool, right: Bool) -> Character {
        switch (up, down, left, right) {
        case (true, true, true, true): return "┼"
        case (true, true, true, false): return "┤"
        case (true, true, false, true): return "├"
        case (true, true, false, false), (false, true, false, false), (true, false, false, false): return "│"
        case (false, true, true, true): return "┬"
        case (false, true, false, true): return "┌"
        case (false, true, true, false): return "┐"
        case (true, false, true, true): return "┴"
        case (true, false, false, true): return "└"
        case (true, false, true, false): return "┘"
        default: return "─"
        }
    }

    /// The rows of the tree for `levels` (in heap order: level L's node i has children i·arity …
    /// i·arity + arity − 1 in level L + 1) in `width` columns and at most `height` rows.
    static func heapRows(_ levels: [[UInt64]], arity: Int, width: Int, height: Int) -> [HeapRow] {
        let labelWidth = 6
        let arity = max(2, arity)
        var rows: [HeapRow] = []
        var span = Double(width)
        for (level, deadlines) in levels.enumerated() {
            guard span >= Double(labelWidth), rows.count < height else { break }
            func center(_ index: Int, _ span: Double) -> Int { Int(Double(index) * span + span / 2) }
            if level > 0 {
                // Joins each parent of the level above to its children here.
                var line = Array(repeating: Character(" "), count: width)
                let parentSpan = span * Double(arity)
                for parent in 0..<levels[level - 1].count {
                    let children = (parent * arity)..<min((parent + 1) * arity, deadlines.count)
                    guard let first = children.first, let last = children.last else { continue }
                    let top = center(parent, parentSpan)
                    let below = Set(children.map { center($0, span) })
                    let low = min(center(first, span), top), high = max(center(last, span), top)
                    for x in low...high where x < width {
                        line[x] = junction(up: x == top, down: below.contains(x), left: x > low, right: x < high)
                    }
                }
                rows.append(HeapRow(isConnector: true, labels: [], text: String(line)))
                guard rows.count < height else { break }
            }
            let labels = deadlines.enumerated().map { index, deadline in
                (x: max(0, center(index, span) - labelWidth / 2 + 1), deadline: deadline)
            }
            rows.append(HeapRow(isConnector: false, labels: labels, text: ""))
            span /= Double(arity)
        }
        if rows.last?.isConnector == true { rows.removeLast() }
        return rows
    }

    static func drawWheel(_ frame: inout Frame, _ scheduler: SchedulerSnapshot, in rect: Rect) {
        frame.box(rect, title: "wheel (console mirror): \(scheduler.wheelCount) tasks, ▲ cursor")
        let inner = rect.inset(1)
        var y = inner.y
        for ring in scheduler.wheelRings {
            guard y + 2 < inner.maxY else { break }
            frame.put("\(ring.slotMillis)ms × \(ring.slotCount) slots · \(ring.count) tasks", x: inner.x + 1, y: y, role: .dim, maxX: inner.maxX)
            var x = inner.x + 1
            for count in ring.slotCounts.prefix(inner.width - 2) {
                let glyph = count == 0 ? "·" : count < 10 ? "\(count)" : "#"
                x = frame.put(glyph, x: x, y: y + 1, role: count == 0 ? .dim : .barFill)
            }
            frame.put("▲", x: inner.x + 1, y: y + 2, role: .hint)
            y += 3
        }
    }

    static func drawPartitions(_ frame: inout Frame, _ snapshot: ClusterSnapshot, in rect: Rect) {
        let scheduler = snapshot.scheduler
        if let distributed = scheduler.distributed {
            drawOwners(&frame, distributed, nodes: snapshot.nodes, in: rect)
            return
        }
        frame.box(rect, title: "partition ownership (P primary, r replica) over live nodes")
        let inner = rect.inset(1)
        let nodes = snapshot.nodes.map(\.id)
        var header = "part "
        for node in nodes { header += TextWidth.pad("n\(node)", 4, right: true) }
        frame.put(header, x: inner.x + 1, y: inner.y, role: .dim, maxX: inner.maxX)
        let perColumn = max(1, inner.height - 1)
        let columnWidth = 6 + 4 * nodes.count
        for (partition, owners) in scheduler.partitions.enumerated() {
            let column = partition / perColumn
            let x = inner.x + 1 + column * (columnWidth + 2)
            guard x + columnWidth <= inner.maxX else { break }
            var line = TextWidth.pad("p\(partition)", 5)
            for node in nodes { line += TextWidth.pad(node == owners.primary ? "P" : node == owners.replica ? "r" : "·", 4, right: true) }
            frame.put(line, x: x, y: inner.y + 1 + partition % perColumn, maxX: inner.maxX)
        }
    }

    static func drawLateness(_ frame: inout Frame, _ scheduler: SchedulerSnapshot, in rect: Rect) {
        if let distributed = scheduler.distributed {
            frame.box(rect, title: "due→claimed ms · \(distributed.pending) pending · \(distributed.fired) fired · \(distributed.late) late")
            drawHistogram(&frame, distributed.latenessBuckets, labels: distributed.latenessLabels, in: rect.inset(1))
        } else {
            frame.box(rect, title: "lateness of fired tasks (ms past deadline) · \(scheduler.fired) fired")
            drawHistogram(&frame, scheduler.latenessBuckets, labels: SchedulerSnapshot.latenessLabels, in: rect.inset(1))
        }
    }

    static func drawHistogram(_ frame: inout Frame, _ buckets: [Int], labels: [String], in inner: Rect) {
        let top = max(1, buckets.max() ?? 1)
        for (index, count) in buckets.enumerated() where index < inner.height && index < labels.count {
            frame.put(TextWidth.pad(labels[index], 7, right: true), x: inner.x + 1, y: inner.y + index, role: .dim)
            frame.bar(x: inner.x + 9, y: inner.y + index, width: max(4, inner.width - 19), fraction: Double(count) / Double(top))
            frame.put("\(count)", x: inner.maxX - 8, y: inner.y + index, maxX: inner.maxX)
        }
    }

    /// Per node, the partitions it owns as letters: primary upper case, replica lower case.
    static func drawOwners(_ frame: inout Frame, _ distributed: SchedulerSnapshot.Distributed, nodes: [NodeSnapshot], in rect: Rect) {
        frame.box(rect, title: "ownership: PRIMARY upper, replica lower")
        let inner = rect.inset(1)
        for (row, node) in nodes.enumerated() where row < inner.height {
            var letters: [String] = []
            for (partition, owners) in distributed.owners.enumerated() {
                let letter = String(UnicodeScalar(UInt8(65 + partition % 26)))
                if owners.first == node.id { letters.append(letter) } else if owners.contains(node.id) { letters.append(letter.lowercased()) }
            }
            let fired = row < distributed.firedByNode.count ? distributed.firedByNode[row] : 0
            let y = inner.y + row
            frame.put(TextWidth.pad("node \(node.id)", 8), x: inner.x + 1, y: y, role: ClusterView.role(of: node))
            frame.put(TextWidth.pad(letters.isEmpty ? "—" : letters.joined(separator: " "), 26), x: inner.x + 10, y: y, maxX: inner.maxX)
            frame.put("fired \(fired)", x: inner.x + 37, y: y, role: .dim, maxX: inner.maxX)
        }
    }
}
