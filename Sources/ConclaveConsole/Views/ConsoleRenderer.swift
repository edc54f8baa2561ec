/// Draws the console: `render(state, size) -> Frame`. A pure function of its arguments; roles, not
/// colours, go into the frame (the backend applies the theme), so one frame serves every theme.
public enum ConsoleRenderer {
    public static let minimumSize = Size(width: 80, height: 24)

    public static func render(_ state: ConsoleState, size: Size) -> Frame {
        var frame = Frame(size: size)
        guard size.width >= minimumSize.width, size.height >= minimumSize.height else {
            drawResizeMe(&frame)
            return frame
        }
        let narrationHeight = state.narration.isEmpty ? 0 : min(8, state.narration.count + 2)
        let logHeight = max(5, size.height / 5)
        let bodyTop = 2
        let bodyBottom = size.height - 1 - logHeight - narrationHeight
        Chrome.header(&frame, state)
        Chrome.tabs(&frame, state)
        let body = Rect(x: 0, y: bodyTop, width: size.width, height: bodyBottom - bodyTop)
        drawView(&frame, state, in: body)
        if narrationHeight > 0 {
            Chrome.narration(&frame, state, in: Rect(x: 0, y: bodyBottom, width: size.width, height: narrationHeight))
        }
        Chrome.eventLog(&frame, state, in: Rect(x: 0, y: size.height - 1 - logHeight, width: size.width, height: logHeight))
        Chrome.footer(&frame, state)
        switch state.overlay {
        case .help: Chrome.help(&frame, state)
        case .confirm(_, let text): Chrome.confirm(&frame, text)
        default: break
        }
        return frame
    }

    static func drawView(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        if let reason = state.view.unavailability(on: state.snapshot.engine) {
            Chrome.absent(&frame, in: rect, title: state.view.title, [reason])
            return
        }
        switch (state.view, state.snapshot.engine) {
        case (.cluster, .paxos): PaxosView.draw(&frame, state, in: rect)
        case (.cluster, .both): SideBySideView.draw(&frame, state, in: rect)
        case (.cluster, .etcd), (.cluster, .redis): EngineView.draw(&frame, state, in: rect)
        default: drawRaftView(&frame, state, in: rect)
        }
    }

    static func drawRaftView(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        switch state.view {
        case .cluster: ClusterView.draw(&frame, state, in: rect)
        case .locks: LocksView.draw(&frame, state, in: rect)
        case .scheduler: SchedulerView.draw(&frame, state, in: rect)
        case .ids: IDsView.draw(&frame, state, in: rect)
        case .limits: LimitsView.draw(&frame, state, in: rect)
        case .breakers: BreakersView.draw(&frame, state, in: rect)
        case .balancer: BalancerView.draw(&frame, state, in: rect)
        case .kv: KVView.draw(&frame, state, in: rect)
        case .local: LocalView.draw(&frame, state, in: rect)
        }
    }

    static func drawResizeMe(_ frame: inout Frame) {
        let lines = ["conclave needs at least \(minimumSize.width)×\(minimumSize.height)",
                     "this terminal is \(frame.width)×\(frame.height)", "resize me (q quits)"]
        for (offset, line) in lines.enumerated() {
            let y = frame.height / 2 - 1 + offset
            let x = max(0, (frame.width - TextWidth.columns(line)) / 2)
            frame.put(line, x: x, y: y, role: offset == 2 ? .alert : .text)
        }
    }

    /// Virtual time as "12.3s" or "4m05.2s".
    static func time(_ nanos: UInt64) -> String {
        let tenths = nanos / 100_000_000
        let seconds = tenths / 10
        if seconds < 60 { return "\(seconds).\(tenths % 10)s" }
        let rest = seconds % 60
        return "\(seconds / 60)m\(rest < 10 ? "0" : "")\(rest).\(tenths % 10)s"
    }

    static func rate(_ value: Double) -> String {
        if value >= 1_000 { return "\(Int(value / 1_000))k" }
        if value >= 10 || value == value.rounded() { return "\(Int(value.rounded()))" }
        return String(format1: value)
    }
}

extension String {
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths < 0 ? "-" : "")\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }
}
