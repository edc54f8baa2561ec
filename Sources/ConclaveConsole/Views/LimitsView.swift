/// View 5: each limiter on the workload's request stream: a gauge of what is left, and allowed /
/// refused per 100 ms as sparklines.
enum LimitsView {
    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let limiters = state.snapshot.limiters
        guard !limiters.isEmpty else { return }
        let height = max(5, min(7, rect.height / limiters.count))
        for (index, limiter) in limiters.enumerated() {
            let box = Rect(x: rect.x, y: rect.y + index * height, width: rect.width, height: height)
            guard box.maxY <= rect.maxY else { break }
            frame.box(box, title: "\(limiter.name) · \(limiter.kind)", focused: index == 0)
            let inner = box.inset(1)
            let total = limiter.allowed + limiter.refused
            let refusedShare = total == 0 ? 0 : Double(limiter.refused) * 100 / Double(total)
            if limiter.capacity > 0 {
                frame.put(TextWidth.pad("left \(limiter.available)/\(limiter.capacity)", 14), x: inner.x + 1, y: inner.y)
                frame.bar(x: inner.x + 16, y: inner.y, width: max(4, inner.width / 3),
                          fraction: Double(limiter.available) / Double(max(1, limiter.capacity)))
            } else {
                frame.put("left: not reported", x: inner.x + 1, y: inner.y, role: .dim)  // a replicated throttle reports counts only
            }
            frame.put("allowed \(limiter.allowed) · refused \(limiter.refused) (\(String(format1: refusedShare))%)",
                      x: inner.x + 18 + inner.width / 3, y: inner.y, role: .dim, maxX: inner.maxX)
            let sparkWidth = inner.width - 12
            frame.put("allowed", x: inner.x + 1, y: inner.y + 1, role: .limiterAllowed)
            frame.sparkline(limiter.allowedHistory, x: inner.x + 10, y: inner.y + 1, width: sparkWidth, role: .limiterAllowed)
            if inner.height > 2 {
                frame.put("refused", x: inner.x + 1, y: inner.y + 2, role: .limiterRefused)
                frame.sparkline(limiter.refusedHistory, x: inner.x + 10, y: inner.y + 2, width: sparkWidth, role: .limiterRefused)
            }
        }
    }
}
