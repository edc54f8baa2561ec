/// View 8: config keys with revisions and history depth, KV values, and the watch stream.
enum KVView {
    static let configTable = Table(columns: [("key", 20, false), ("rev", 6, true), ("versions", 8, true), ("value", 20, false)])
    static let kvTable = Table(columns: [("key", 20, false), ("value", 24, false)])

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        let snapshot = state.snapshot
        let leftWidth = min(rect.width / 2 + 4, configTable.width + 3)
        let topHeight = rect.height * 3 / 5
        let configs = snapshot.config.filter { ConsoleFilter.matches(state.filter, $0.key) }
        let configRect = Rect(x: rect.x, y: rect.y, width: leftWidth, height: topHeight)
        frame.box(configRect, title: snapshot.foreign == nil ? "config (\(configs.count) keys, last 32 versions each)"
                                                               : "keys the watch saw (\(configs.count)) · changes kept", focused: true)
        var inner = configRect.inset(1)
        configTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        let selected = min(state.selected(in: .kv), max(0, configs.count - 1))
        for (offset, entry) in configs.prefix(inner.height - 1).enumerated() {
            configTable.drawRow(&frame, [entry.key, "\(entry.revision)", "\(entry.versions)", entry.value ?? "(deleted)"],
                                x: inner.x + 1, y: inner.y + 1 + offset, maxX: inner.maxX, selected: offset == selected)
        }
        let values = snapshot.kv.filter { ConsoleFilter.matches(state.filter, $0.key) }
        let kvRect = Rect(x: configRect.maxX, y: rect.y, width: rect.width - leftWidth, height: topHeight)
        frame.box(kvRect, title: snapshot.foreign == nil ? "KV (\(values.count) keys)" : ":put KEY VALUE writes a key")
        inner = kvRect.inset(1)
        kvTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        for (offset, pair) in values.prefix(inner.height - 1).enumerated() {
            kvTable.drawRow(&frame, [pair.key, pair.value], x: inner.x + 1, y: inner.y + 1 + offset, maxX: inner.maxX, selected: false)
        }
        if values.isEmpty { frame.put(snapshot.foreign == nil ? "no KV keys (the console workload writes config)" : "(etcd: keys are shown as the watch streams them)", x: inner.x + 1, y: inner.y + 1, role: .dim, maxX: inner.maxX) }
        let watchRect = Rect(x: rect.x, y: rect.y + topHeight, width: rect.width, height: rect.height - topHeight)
        let watched = snapshot.configEvents.filter { ConsoleFilter.matches(state.filter, $0.key) }
        let watchTitle = snapshot.foreign.map { foreign in
            "watch '\(foreign.watchPrefix ?? "")' on etcd: events as they stream (newest last)" + (foreign.watchProblem.map { " · \($0)" } ?? "")
        } ?? "watch config/ from revision 0: events as they stream (newest last)"
        frame.box(watchRect, title: watchTitle)
        inner = watchRect.inset(1)
        for (offset, event) in watched.suffix(inner.height).enumerated() {
            frame.put("rev \(TextWidth.pad("\(event.revision)", 6, right: true))  \(TextWidth.pad(event.key, 20))  " + (event.value.map { "= \($0)" } ?? "deleted"),
                      x: inner.x + 1, y: inner.y + offset, maxX: inner.maxX)
        }
    }
}
