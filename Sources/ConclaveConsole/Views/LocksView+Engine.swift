/// View 2 on an existing engine: each lock with its holder as the engine names it (etcd: the
/// lease; Redis: the owner token), its fencing token where the engine has one (etcd's create
/// revision), the TTL left, the waiters in order and, on several Redis instances, Redlock's view.
extension LocksView {
    static let engineTable = Table(columns: [
        ("lock", 24, false), ("holder", 24, false), ("token", 7, true), ("TTL left", 15, false), ("waiters", 7, true),
        ("instances", 40, false),
    ])

    static func drawEngine(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let snapshot = state.snapshot
        let foreign = snapshot.foreign
        let locks = state.filter.isEmpty ? snapshot.locks : snapshot.locks.filter { ConsoleFilter.matches(state.filter, $0.name) }
        let detailHeight = min(8, rect.height / 3)
        let listRect = Rect(x: rect.x, y: rect.y, width: rect.width, height: rect.height - detailHeight)
        let fencing = snapshot.engine == .etcd ? "token = create revision (fencing)" : "no fencing token on Redis"
        frame.box(listRect, title: "locks (\(locks.count) of \(snapshot.locks.count)) · \(fencing) · :lock acquire|release NAME", focused: true)
        let inner = listRect.inset(1)
        engineTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        let selected = min(state.selected(in: .locks), max(0, locks.count - 1))
        let visible = inner.height - 1
        let first = scrollOffset(selected: selected, count: locks.count, visible: visible)
        for (offset, lock) in locks.dropFirst(first).prefix(visible).enumerated() {
            let y = inner.y + 1 + offset
            let holder = lock.holders.first
            let token = snapshot.engine == .etcd ? holder.map { "\($0.token)" } ?? "-" : "none"
            engineTable.drawRow(&frame, [lock.name, holder?.owner ?? "free", token, "", "\(lock.waiterOwners.count)", lock.placement ?? ""],
                                roles: [.text, holder == nil ? .lockFree : .lockHeld, .lockHeld, .text,
                                        lock.waiterOwners.isEmpty ? .dim : .lockWaiting, lock.placement?.contains("no majority") == true ? .alert : .dim],
                                x: inner.x + 1, y: y, maxX: inner.maxX, selected: first + offset == selected)
            let leaseX = inner.x + 1 + engineTable.columns[0..<3].reduce(0) { $0 + $1.width + 1 }
            if let holder, let left = holder.leaseLeftMillis {
                frame.bar(x: leaseX, y: y, width: 7, fraction: Double(left) / Double(max(1, holder.leaseMillis ?? left)))
                frame.put(TextWidth.pad(ConsoleRenderer.time(left * 1_000_000), 7, right: true), x: leaseX + 7, y: y, role: .dim, maxX: inner.maxX)
            }
        }
        if locks.isEmpty {
            let why = snapshot.locks.isEmpty ? "no locks: none among \(foreign?.lockScope ?? "the keys read")" : "no lock matches the filter"
            frame.put(why, x: inner.x + 1, y: inner.y + 2, role: .dim, maxX: inner.maxX)
        }
        if let problem = foreign?.lockProblem {
            frame.put(problem, x: inner.x + 1, y: inner.maxY - 1, role: .alert, maxX: inner.maxX)
        } else if !locks.isEmpty, let scope = foreign?.lockScope {
            frame.put("showing " + scope, x: inner.x + 1, y: inner.maxY - 1, role: .dim, maxX: inner.maxX)
        }
        drawEngineDetail(&frame, locks.indices.contains(selected) ? locks[selected] : nil, engine: snapshot.engine,
                         in: Rect(x: rect.x, y: listRect.maxY, width: rect.width, height: detailHeight))
    }

    static func drawEngineDetail(_ frame: inout Frame, _ lock: LockSnapshot?, engine: ConsensusEngine, in rect: Rect) {
        guard rect.height >= 3 else { return }
        frame.box(rect, title: lock.map { "\($0.name): holder and queue, first in line first" } ?? "no lock selected")
        guard let lock else { return }
        let inner = rect.inset(1)
        let holding = lock.holders.first.map { holder in
            (holder.owner ?? "?") + (engine == .etcd ? " · create revision \(holder.token)" : "")
                + (holder.leaseLeftMillis.map { " · TTL left \(ConsoleRenderer.time($0 * 1_000_000))" } ?? "")
        } ?? "nobody"
        frame.put("holding: " + holding, x: inner.x + 1, y: inner.y, role: .lockHeld, maxX: inner.maxX)
        let queue = lock.waiterOwners.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "  ")
        if inner.height > 1 {
            frame.put("queue:   " + (queue.isEmpty ? "empty" : queue), x: inner.x + 1, y: inner.y + 1,
                      role: queue.isEmpty ? .dim : .lockWaiting, maxX: inner.maxX)
        }
        if inner.height > 2 {
            let recipe = engine == .etcd
                ? "etcd's mutex recipe: each waiter watches only the key just ahead of it; release deletes the holder's key (create revision checked)"
                : "release runs an owner-checked delete for the owner shown (GET = owner → DEL), on every instance holding it"
            frame.put(recipe, x: inner.x + 1, y: inner.y + 2, role: .dim, maxX: inner.maxX)
        }
    }
}
