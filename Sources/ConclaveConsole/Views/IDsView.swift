/// View 4: Snowflake generators on each node's clock: rate per worker, the latest ID split into its
/// bit fields, clock offsets, what the rollback policy did, and duplicates (which must stay 0).
enum IDsView {
    static let table = Table(columns: [("node", 4, true), ("worker", 6, true), ("issued", 9, true), ("IDs/s", 7, true),
                                       ("clock", 9, true), ("waits", 6, true), ("refused", 7, true), ("last ID", 20, true)])

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let ids = state.snapshot.ids
        let tableHeight = min(rect.height / 2, ids.workers.count + 3)
        let top = Rect(x: rect.x, y: rect.y, width: rect.width, height: max(3, tableHeight))
        frame.box(top, title: "Snowflake generators (worker = node, stamped with the node's clock)", focused: true)
        var inner = top.inset(1)
        table.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        for (offset, worker) in ids.workers.prefix(inner.height - 1).enumerated() {
            let clock = "\(worker.clockOffsetMillis >= 0 ? "+" : "")\(worker.clockOffsetMillis)ms"
            table.drawRow(&frame, ["\(worker.node)", "\(worker.worker)", "\(worker.issued)", ConsoleRenderer.rate(worker.perSecond), clock,
                                   "\(worker.waits)", "\(worker.refusals)", worker.lastID.map(String.init) ?? "-"],
                          roles: [.text, .idWorker, .text, .text, worker.clockOffsetMillis < 0 ? .alert : .text, .hint, .alert],
                          x: inner.x + 1, y: inner.y + 1 + offset, maxX: inner.maxX, selected: false)
        }
        let fieldsRect = Rect(x: rect.x, y: top.maxY, width: rect.width, height: 6)
        frame.box(fieldsRect, title: "latest ID, bit by bit (layout \(ids.layoutBits.map(String.init).joined(separator: "/")))")
        inner = fieldsRect.inset(1)
        if let id = ids.latestID, let fields = ids.latestFields {
            drawBits(&frame, id: id, layout: ids.layoutBits, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
            frame.put("\(id)", x: inner.x + 1, y: inner.y + 2, role: .text)
            var x = inner.x + 1
            let labels: [(String, Role)] = [("timestamp \(fields.timestampMillis) ms", .idTimestamp), ("datacenter \(fields.datacenter)", .idDatacenter),
                                            ("worker \(fields.worker)", .idWorker), ("sequence \(fields.sequence)", .idSequence)]
            for (label, role) in labels { x = frame.put(label, x: x, y: inner.y + 3, role: role, maxX: inner.maxX) + 3 }
        } else {
            frame.put("no ID issued yet", x: inner.x + 1, y: inner.y, role: .dim)
        }
        let eventsRect = Rect(x: rect.x, y: fieldsRect.maxY, width: rect.width, height: rect.maxY - fieldsRect.maxY)
        guard eventsRect.height >= 3 else { return }
        frame.box(eventsRect, title: "clock rollbacks and what the policy did · duplicates seen: \(ids.duplicates)")
        inner = eventsRect.inset(1)
        if ids.rollbackEvents.isEmpty {
            frame.put("none yet — try :skew 2 -2000 (IDs wait out ≤5 ms back steps, refuse beyond; never a duplicate)",
                      x: inner.x + 1, y: inner.y, role: .dim, maxX: inner.maxX)
        }
        for (offset, line) in ids.rollbackEvents.suffix(inner.height).enumerated() {
            frame.put(line, x: inner.x + 1, y: inner.y + offset, role: .hint, maxX: inner.maxX)
        }
    }

    /// The 63 ID bits grouped by field, each field in its own role.
    static func drawBits(_ frame: inout Frame, id: UInt64, layout: [Int], x: Int, y: Int, maxX: Int) {
        let roles: [Role] = [.idTimestamp, .idDatacenter, .idWorker, .idSequence]
        var column = x
        var shift = layout.reduce(0, +)
        for (field, bits) in layout.enumerated() {
            var text = ""
            for _ in 0..<bits {
                shift -= 1
                text += (id >> UInt64(shift)) & 1 == 1 ? "1" : "0"
            }
            column = frame.put(text, x: column, y: y, role: roles[field % roles.count], maxX: maxX) + 1
        }
    }
}
