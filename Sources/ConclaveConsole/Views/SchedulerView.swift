/// View 3: the 4-ary heap as a tree (top levels, deadlines relative to now), the timing wheel's rings
/// with slot counts and cursor, partition ownership per node (P primary, r replica), lateness.
///
/// It draws `SchedulerSnapshot`, which the console's timer queues fill today; when the distributed
/// scheduler lands, its data goes into the same value and this view stays as it is.
enum SchedulerView {
    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let scheduler = state.snapshot.scheduler
        let topHeight = rect.height / 2
        let leftWidth = rect.width / 2
        drawHeap(&frame, scheduler, in: Rect(x: rect.x, y: rect.y, width: leftWidth, height: topHeight))
        drawWheel(&frame, scheduler, in: Rect(x: rect.x + leftWidth, y: rect.y, width: rect.width - leftWidth, height: topHeight))
        drawPartitions(&frame, state.snapshot, in: Rect(x: rect.x, y: rect.y + topHeight, width: leftWidth, height: rect.height - topHeight))
        drawLateness(&frame, scheduler, in: Rect(x: rect.x + leftWidth, y: rect.y + topHeight, width: rect.width - leftWidth, height: rect.height - topHeight))
    }

    static func relative(_ deadline: UInt64, _ now: UInt64) -> String {
        let millis = Int64(bitPattern: deadline &- now)
        return millis >= 1_000 ? "+\(String(format1: Double(millis) / 1_000))s" : "+\(max(0, millis))ms"
    }

    static func drawHeap(_ frame: inout Frame, _ scheduler: SchedulerSnapshot, in rect: Rect) {
        frame.box(rect, title: "\(scheduler.heapArity)-ary heap: \(scheduler.heapCount) delay tasks (top levels)", focused: true)
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
        frame.box(rect, title: "hierarchical wheel: \(scheduler.wheelCount) tasks, rings finest first (▲ cursor)")
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
        frame.box(rect, title: "lateness of fired tasks (ms past deadline) · \(scheduler.fired) fired")
        let inner = rect.inset(1)
        let top = max(1, scheduler.latenessBuckets.max() ?? 1)
        for (index, count) in scheduler.latenessBuckets.enumerated() where index < inner.height {
            frame.put(TextWidth.pad(SchedulerSnapshot.latenessLabels[index], 4, right: true), x: inner.x + 1, y: inner.y + index, role: .dim)
            frame.bar(x: inner.x + 6, y: inner.y + index, width: max(4, inner.width - 16), fraction: Double(count) / Double(top))
            frame.put("\(count)", x: inner.maxX - 8, y: inner.y + index, maxX: inner.maxX)
        }
    }
}
