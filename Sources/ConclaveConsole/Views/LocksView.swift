/// View 2: every lock with its holders, fencing tokens, lease, queue and statistics; a detail pane
/// for the selected lock with its holder timeline and waiters in order.
enum LocksView {
    static let table = Table(columns: [
        ("lock", 14, false), ("kind", 7, false), ("holder", 9, false), ("token", 7, true), ("holds", 5, true),
        ("lease left", 14, false), ("waiters", 7, true), ("wait p50", 8, true), ("p99", 7, true), ("acq/s", 6, true), ("ref/s", 6, true),
    ])

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let snapshot = state.snapshot
        if snapshot.engine.isForeign { return drawEngine(&frame, state, in: rect) }
        // Unfiltered, the table is drawn straight from the snapshot: no copy of 10,000 rows per frame.
        let locks = state.filter.isEmpty ? snapshot.locks : snapshot.locks.filter { ConsoleFilter.matches(state.filter, $0.name) }
        let detailHeight = min(8, rect.height / 3)
        let listRect = Rect(x: rect.x, y: rect.y, width: rect.width, height: rect.height - detailHeight)
        let contention = snapshot.contention
        // Fair queue against spinning try-lock, per second: attempts are work, grants are progress.
        // Right of the title, in the longest form that fits without covering it.
        let rate = ConsoleRenderer.rate
        let fair = (grants: rate(contention.fairGrants), attempts: rate(contention.fairAttempts))
        let spin = (grants: rate(contention.spinGrants), attempts: rate(contention.spinAttempts))
        let spinning = "spinning (\(snapshot.workload.spinPercent)% of clients)"
        let forms = [
            "fair: \(fair.grants) grants / \(fair.attempts) attempts · \(spinning): \(spin.grants) grants / \(spin.attempts) attempts per s",
            "fair \(fair.grants)/\(fair.attempts) · \(spinning) \(spin.grants)/\(spin.attempts) grants/attempts per s",
            "fair \(fair.grants)/\(fair.attempts) · \(spinning) \(spin.grants)/\(spin.attempts)",
            "fair \(fair.grants)/\(fair.attempts) · spin \(snapshot.workload.spinPercent)% \(spin.grants)/\(spin.attempts)",
        ]
        // The summary teaches (the lock-contention demo reads it); the title's tail gives way first.
        let short = "locks (\(locks.count) of \(snapshot.locks.count)) · \(snapshot.sessions) sessions"
        let titles = [short + " · tokens only grow", short]
        func fits(_ title: String, _ summary: String) -> Bool {
            let titleEnd = listRect.x + 2 + TextWidth.columns(" " + TextWidth.truncate(title, to: listRect.width - 6) + " ")
            return listRect.maxX - 2 - TextWidth.columns(summary) - 2 > titleEnd
        }
        let choice = forms.lazy.compactMap { summary in titles.first { fits($0, summary) }.map { ($0, summary) } }.first
        frame.box(listRect, title: choice?.0 ?? titles[0], focused: true)
        if let summary = choice?.1 {
            frame.put(" " + summary + " ", x: listRect.maxX - 2 - TextWidth.columns(summary) - 2, y: listRect.y,
                      role: contention.spinAttempts > 4 * max(1, contention.spinGrants) ? .alert : .hint)
        }
        let inner = listRect.inset(1)
        table.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        let selected = min(state.selected(in: .locks), max(0, locks.count - 1))
        let visible = inner.height - 1
        let first = scrollOffset(selected: selected, count: locks.count, visible: visible)
        for (offset, lock) in locks.dropFirst(first).prefix(visible).enumerated() {
            drawRow(&frame, lock, x: inner.x + 1, y: inner.y + 1 + offset, maxX: inner.maxX, selected: first + offset == selected)
        }
        if locks.isEmpty {
            frame.put(snapshot.locks.isEmpty ? "no locks yet: the workload takes some within a second" : "no lock matches the filter",
                      x: inner.x + 1, y: inner.y + 2, role: .dim)
        }
        let detail = Rect(x: rect.x, y: listRect.maxY, width: rect.width, height: detailHeight)
        drawDetail(&frame, locks.indices.contains(selected) ? locks[selected] : nil, in: detail)
        let waits = state.trends.lockWaitMillis
        let detailInner = detail.inset(1)
        if detailInner.height > 4 {
            let label = "wait p50, worst lock, per s: \(waits.last.map { "\(Int($0))ms" } ?? "-") "
            frame.put(label, x: detailInner.x + 1, y: detailInner.y + 4, role: .dim, maxX: detailInner.maxX)
            let x = detailInner.x + 1 + TextWidth.columns(label)
            frame.sparkline(waits, x: x, y: detailInner.y + 4, width: max(1, detailInner.maxX - x - 1), role: .lockWaiting)
        }
    }

    static func drawRow(_ frame: inout Frame, _ lock: LockSnapshot, x: Int, y: Int, maxX: Int, selected: Bool) {
        let holder = lock.holders.first
        let holderText = lock.holders.isEmpty ? "free" : lock.holders.map { "s\($0.session)" }.joined(separator: ",")
        let token: String = holder.map { "\($0.token)" } ?? "-"
        let holds: String = holder.map { "\($0.holdCount)" } ?? "-"
        let p50: String = lock.waitP50Millis.map { "\($0)ms" } ?? "-"
        let p99: String = lock.waitP99Millis.map { "\($0)ms" } ?? "-"
        var cells: [String] = [lock.name, lock.kind?.description ?? "-", holderText, token, holds, "", "\(lock.waiters.count)", p50, p99]
        cells.append(ConsoleRenderer.rate(lock.acquiresPerSecond))
        cells.append(ConsoleRenderer.rate(lock.refusalsPerSecond))
        let roles: [Role] = [.text, .dim, lock.holders.isEmpty ? .lockFree : .lockHeld, .lockHeld, .text, .text,
                             lock.waiters.isEmpty ? .dim : .lockWaiting]
        table.drawRow(&frame, cells, roles: roles, x: x, y: y, maxX: maxX, selected: selected)
        // The lease column is a draining bar with the milliseconds left.
        let leaseX = x + table.columns[0..<5].reduce(0) { $0 + $1.width + 1 }
        if let holder, let left = holder.leaseLeftMillis, let length = holder.leaseMillis, length > 0 {
            frame.bar(x: leaseX, y: y, width: 7, fraction: Double(left) / Double(length))
            frame.put(TextWidth.pad("\(left)ms", 7, right: true), x: leaseX + 7, y: y, role: .dim, maxX: maxX)
        }
    }

    /// The newest tokens that fit in `columns`, oldest first and newest last; older ones elided
    /// at the left (`… → 41 → 42`), so the token just granted is always in view.
    static func tokenTimeline(_ tokens: [UInt64], columns: Int) -> String {
        guard !tokens.isEmpty else { return "none granted yet" }
        var shown: [String] = []
        var width = 0
        for token in tokens.reversed() {
            let text = String(token)
            let added = text.count + (shown.isEmpty ? 0 : 3)
            let elision = shown.count + 1 < tokens.count ? 4 : 0  // "… → " before the oldest shown
            guard width + added + elision <= columns || shown.isEmpty else { break }
            shown.append(text)
            width += added
        }
        let line = shown.reversed().joined(separator: " → ")
        return shown.count < tokens.count ? "… → " + line : line
    }

    static func drawDetail(_ frame: inout Frame, _ lock: LockSnapshot?, in rect: Rect) {
        guard rect.height >= 3 else { return }
        frame.box(rect, title: lock.map { "\($0.name): holder timeline (fencing tokens, newest last) and queue" } ?? "no lock selected")
        guard let lock else { return }
        let inner = rect.inset(1)
        frame.put("tokens: " + tokenTimeline(lock.holderTimeline, columns: inner.width - 1 - 8), x: inner.x + 1, y: inner.y,
                  role: .lockHeld, maxX: inner.maxX)
        let holders = lock.holders.map { "session \($0.session) token \($0.token) held \($0.heldMillis)ms ×\($0.holdCount)" }
        frame.put("holding: " + (holders.isEmpty ? "nobody" : holders.joined(separator: "; ")), x: inner.x + 1, y: inner.y + 1, maxX: inner.maxX)
        let queue = lock.waiters.enumerated().map { "\($0.offset + 1). s\($0.element)" }.joined(separator: "  ")
        if inner.height > 2 {
            frame.put("queue:   " + (queue.isEmpty ? "empty" : queue), x: inner.x + 1, y: inner.y + 2,
                      role: queue.isEmpty ? .dim : .lockWaiting, maxX: inner.maxX)
        }
        if inner.height > 3 {
            frame.put("acquires \(lock.acquires) · refusals \(lock.refusals) · last token \(lock.lastToken)", x: inner.x + 1, y: inner.y + 3,
                      role: .dim, maxX: inner.maxX)
        }
    }
}
