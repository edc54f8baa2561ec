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
        if let distributed = scheduler.distributed, let heap = distributed.heap, case .tree(let arity, let levels) = heap.layout {
            var nodeHeap = scheduler
            nodeHeap.heapArity = arity
            nodeHeap.heapLevels = levels
            nodeHeap.heapCount = heap.count
            nodeHeap.nowMillis = heap.nowMillis
            drawHeap(&frame, nodeHeap, title: "node \(distributed.heapNode): \(arity)-ary heap, \(heap.count) wake-ups", in: heapRect)
        } else {
            drawHeap(&frame, scheduler, title: "\(scheduler.heapArity)-ary heap: \(scheduler.heapCount) delay tasks (top levels)", in: heapRect)
        }
        drawWheel(&frame, scheduler, in: Rect(x: rect.x + leftWidth, y: rect.y, width: rect.width - leftWidth, height: topHeight))
        drawPartitions(&frame, state.snapshot, in: Rect(x: rect.x, y: rect.y + topHeight, width: leftWidth, height: rect.height - topHeight))
        drawLateness(&frame, scheduler, in: Rect(x: rect.x + leftWidth, y: rect.y + topHeight, width: rect.width - leftWidth, height: rect.height - topHeight))
    }

    static func relative(_ deadline: UInt64, _ now: UInt64) -> String {
        let millis = Int64(bitPattern: deadline &- now)
        return millis >= 1_000 ? "+\(String(format1: Double(millis) / 1_000))s" : "+\(max(0, millis))ms"
    }

    static func drawHeap(_ frame: inout Frame, _ scheduler: SchedulerSnapshot, title: String, in rect: Rect) {
        frame.box(rect, title: title, focused: true)
        let inner = rect.inset(1)
        for (level, deadlines) in scheduler.heapLevels.prefix(inner.height / 2).enumerated() {
            let y = inner.y + level * 2
            let cell = max(7, inner.width / max(1, deadlines.count))
            let shown = deadlines.prefix(max(1, inner.width / 7))
            let slotWidth = max(7, inner.width / max(1, shown.count))
            for (index, deadline) in shown.enumerated() {
                let text = relative(deadline, scheduler.nowMillis)
                frame.put(TextWidth.pad(text, min(cell, slotWidth), right: false), x: inner.x + index * slotWidth + 1, y: y,
                          role: level == 0 ? .title : .text, maxX: inner.maxX)
            }
            if deadlines.count > shown.count { frame.put("…", x: inner.maxX - 1, y: y, role: .dim) }
            if level + 1 < scheduler.heapLevels.count, y + 1 < inner.maxY {
                frame.put(String(repeating: "╲ ", count: min(shown.count * scheduler.heapArity, inner.width / 2)), x: inner.x + 1, y: y + 1, role: .dim, maxX: inner.maxX)
            }
        }
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
