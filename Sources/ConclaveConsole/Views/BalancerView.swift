/// View 7: picks per backend for each strategy on the same request stream, as histograms, with
/// Pearson's chi-square against uniform: the naive shuffle's heavy first backend stands out.
enum BalancerView {
    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let balancers = state.snapshot.balancers
        if state.snapshot.mode == "remote" {
            return Chrome.absent(&frame, in: rect, title: "balancers: a console-local teaching model (embedded mode only)", [
                "The balancer playground runs on the embedded cluster's demo workload; real nodes have no balancer to show.",
                "Run `conclave` without --connect to compare round robin, random, least-loaded and the naive shuffle.",
            ])
        }
        frame.box(rect, title: "balancers: picks per node on the workload's requests · χ² vs uniform (p = 0.001)", focused: true)
        let inner = rect.inset(1)
        guard let backends = balancers.first?.picks.count, backends > 0 else { return }
        let rowsPer = backends + 1
        let columns = max(1, min(2, inner.width / 60))
        let columnWidth = inner.width / columns
        for (index, balancer) in balancers.enumerated() {
            let x = inner.x + 1 + (index % columns) * columnWidth
            let y = inner.y + (index / columns) * (rowsPer + 1)
            guard y + rowsPer <= inner.maxY else { break }
            let uniform = balancer.chiSquare <= balancer.critical
            frame.put(balancer.strategy, x: x, y: y, role: .title)
            frame.put("χ² \(String(format1: balancer.chiSquare)) " + (uniform ? "≤ \(String(format1: balancer.critical)) uniform" : "> \(String(format1: balancer.critical)) NOT uniform"),
                      x: x + 17, y: y, role: uniform ? .dim : .alert, maxX: x + columnWidth - 1)
            let top = max(1, balancer.picks.max() ?? 1)
            let total = max(1, balancer.picks.reduce(0, +))
            let barWidth = max(5, columnWidth - 24)
            for (backend, picks) in balancer.picks.enumerated() {
                frame.put("node \(backend + 1)", x: x + 1, y: y + 1 + backend, role: .dim)
                frame.bar(x: x + 8, y: y + 1 + backend, width: barWidth, fraction: Double(picks) / Double(top))
                frame.put(TextWidth.pad("\(picks * 100 / total)%", 4, right: true) + " \(picks)", x: x + 9 + barWidth, y: y + 1 + backend,
                          role: .text, maxX: x + columnWidth - 1)
            }
        }
    }
}
