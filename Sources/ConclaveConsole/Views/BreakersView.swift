import ConclaveResilience

/// View 6: a breaker per node on the workload's calls: its state diagram with the current state
/// lit, failure rate against the threshold, half-open probes, and the transition log with reasons.
enum BreakersView {
    static let states: [CircuitBreakerState] = [.closed, .open, .halfOpen, .forcedOpen, .disabled]

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let breakers = state.snapshot.breakers
        if state.snapshot.mode == "remote" && breakers.isEmpty {
            return Chrome.absent(&frame, in: rect, title: "circuit breakers: none reported", [
                "The nodes report no breaker state: a daemon's delay-task callbacks are logged only, so no callback",
                "breaker exists yet, and the console's breakers belong to the embedded cluster's demo workload.",
            ])
        }
        let listHeight = min(rect.height - 6, breakers.count + 3)
        let list = Rect(x: rect.x, y: rect.y, width: rect.width, height: listHeight)
        frame.box(list, title: state.snapshot.mode == "remote" ? "the console's routing breakers, one per node (o force open · d disable · c reset)"
                  : "circuit breakers, one per node (o force open · d disable · c reset)", focused: true)
        let inner = list.inset(1)
        let selected = min(state.selected(in: .breakers), max(0, breakers.count - 1))
        let nameWidth = max(10, (breakers.map { TextWidth.columns($0.name) }.max() ?? 0) + 3)
        for (offset, breaker) in breakers.prefix(inner.height).enumerated() {
            let y = inner.y + offset
            var x = frame.put(TextWidth.pad((offset == selected ? "▸ " : "  ") + breaker.name, nameWidth), x: inner.x, y: y,
                              role: offset == selected ? .focus : .text)
            for state in states {
                let lit = state == breaker.state
                let role: Role
                switch state {
                case _ where !lit: role = .dim
                case .closed: role = .breakerClosed
                case .halfOpen: role = .breakerHalfOpen
                case .disabled: role = .hint
                case .open, .forcedOpen: role = .breakerOpen
                }
                let name = state.rawValue
                x = frame.put(lit ? "[\(name)]" : " \(name) ", x: x, y: y, role: role, maxX: inner.maxX)
            }
            x += 2
            let rate = breaker.failureRatePercent
            frame.put("fail " + (rate.map { TextWidth.pad("\(Int($0.rounded()))%", 4, right: true) } ?? "  - "), x: x, y: y, maxX: inner.maxX)
            let barWidth = 12
            frame.bar(x: x + 10, y: y, width: barWidth, fraction: (rate ?? 0) / 100, fill: (rate ?? 0) >= breaker.thresholdPercent ? .breakerOpen : .barFill)
            let mark = x + 10 + Int(Double(barWidth) * breaker.thresholdPercent / 100)
            frame.put("│", x: mark, y: y, role: .hint, maxX: inner.maxX)
            frame.put("≥\(Int(breaker.thresholdPercent))% trips · calls \(breaker.calls) · probes \(breaker.probesIssued)/\(breaker.probesAllowed) · refused \(breaker.notPermitted)",
                      x: x + 11 + barWidth, y: y, role: .dim, maxX: inner.maxX)
        }
        let log = Rect(x: rect.x, y: list.maxY, width: rect.width, height: rect.maxY - list.maxY)
        guard breakers.indices.contains(selected), log.height >= 3 else { return }
        let breaker = breakers[selected]
        frame.box(log, title: "\(breaker.name): transitions, newest last")
        let logInner = log.inset(1)
        if breaker.transitions.isEmpty { frame.put("none yet — kill a node (x) and watch its breaker trip", x: logInner.x + 1, y: logInner.y, role: .dim) }
        for (offset, line) in breaker.transitions.suffix(logInner.height).enumerated() {
            frame.put(line, x: logInner.x + 1, y: logInner.y + offset, maxX: logInner.maxX)
        }
    }
}
