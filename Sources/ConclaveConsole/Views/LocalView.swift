/// View 9: locks inside this process, on real threads, as the host measured them: a row per
/// strategy with throughput and wasted-CPU bars, then the selected strategy's per-thread shares,
/// its p99 over the last runs and why it costs what it costs.
enum LocalView {
    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let local = state.local
        let settings = local.settings
        frame.box(rect, title: "local: locks in this process on real threads · \(settings.threads) threads · critical \(nanos(settings.criticalNanos))"
                  + " · think \(nanos(settings.thinkNanos))", focused: true)
        let inner = rect.inset(1)
        frame.put("[ ] threads · < > critical section · ↑↓ strategy · rows measured at other settings are dim",
                  x: inner.x + 1, y: inner.maxY - 1, role: .hint, maxX: inner.maxX)
        guard !local.figures.isEmpty else {
            frame.put("waiting for the first measurement: the live console runs each strategy for 250 ms in turn, all of this",
                      x: inner.x + 1, y: inner.y, role: .dim, maxX: inner.maxX)
            frame.put("process's threads on one lock (headless runs and demos do not measure)", x: inner.x + 1, y: inner.y + 1, role: .dim,
                      maxX: inner.maxX)
            return
        }
        let barWidth = max(4, (inner.width - 88) / 2)
        let table = Table(columns: [("strategy", 34, false), ("ops/s", 7, true), ("", barWidth, false), ("wasted", 6, true),
                                    ("", barWidth, false), ("p99", 9, true), ("Jain", 5, true), ("counter", 16, false)])
        table.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        let selected = min(state.selected(in: .local), local.figures.count - 1)
        let rowsShown = max(0, min(local.figures.count, inner.height - 6))
        let top = max(1, local.figures.map(\.operationsPerSecond).max() ?? 1)
        for (row, figures) in local.figures.prefix(rowsShown).enumerated() {
            let y = inner.y + 1 + row
            let current = figures.settings == settings
            let counter = figures.lostUpdates == 0 ? "ok" : "LOST \(figures.lostUpdates)"
            let cells = [figures.title, ConsoleRenderer.rate(figures.operationsPerSecond), "", "\(Int((figures.wastedShare * 100).rounded()))%", "",
                         nanos(figures.p99Nanos), hundredths(figures.fairness), counter]
            let roles: [Role] = [current ? .text : .dim, .text, .text, figures.wastedShare > 0.9 ? .alert : .text, .text, .text,
                                 figures.fairness < 0.5 ? .alert : .text, figures.lostUpdates == 0 ? .dim : .alert]
            table.drawRow(&frame, cells, roles: roles, x: inner.x + 1, y: y, maxX: inner.maxX, selected: row == selected)
            frame.bar(x: inner.x + 1 + 43, y: y, width: barWidth, fraction: figures.operationsPerSecond / top)
            frame.bar(x: inner.x + 1 + 43 + barWidth + 8, y: y, width: barWidth, fraction: figures.wastedShare,
                      fill: figures.wastedShare > 0.9 ? .limiterRefused : .barFill)
        }
        drawDetail(&frame, state, local.figures[selected], x: inner.x + 1, y: inner.y + 2 + rowsShown, maxX: inner.maxX)
    }

    /// The selected strategy: why, who got the lock (a column per thread), and p99 over runs.
    static func drawDetail(_ frame: inout Frame, _ state: ConsoleState, _ figures: LocalLabFigures, x: Int, y: Int, maxX: Int) {
        frame.put("\(figures.title): \(figures.note)", x: x, y: y, role: .title, maxX: maxX)
        frame.put("share per thread", x: x, y: y + 1, role: .dim)
        frame.sparkline(figures.perThread.map(Double.init), x: x + 18, y: y + 1, width: figures.perThread.count, role: .lockHeld)
        frame.put("fails/op \(String(format1: figures.failedPerSuccess)) · p50 \(nanos(figures.p50Nanos))", x: x + 20 + figures.perThread.count,
                  y: y + 1, role: .dim, maxX: maxX)
        frame.put("p99 over runs", x: x, y: y + 2, role: .dim)
        let history = state.local.p99History[figures.strategy] ?? []
        frame.sparkline(history, x: x + 18, y: y + 2, width: min(history.count, max(0, maxX - x - 18)), role: .lockWaiting)
    }

    /// "0.95": two decimals.
    static func hundredths(_ value: Double) -> String {
        let scaled = Int((value * 100).rounded())
        return "\(scaled / 100).\(scaled % 100 < 10 ? "0" : "")\(scaled % 100)"
    }

    /// "100 ns", "1.5 µs", "12 ms".
    static func nanos(_ value: UInt64) -> String {
        switch value {
        case 1_000_000_000...: return "\(String(format1: Double(value) / 1e9)) s"
        case 1_000_000...: return "\(String(format1: Double(value) / 1e6)) ms"
        case 1_000...: return "\(String(format1: Double(value) / 1e3)) µs"
        default: return "\(value) ns"
        }
    }
}
