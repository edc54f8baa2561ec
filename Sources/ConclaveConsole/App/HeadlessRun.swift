/// A scripted run without a terminal: keys fed at intervals of virtual time, frames captured after
/// each group of keys and at the end. Deterministic from the seed; used by `--headless`, tests and
/// the README's captured frames.
public struct HeadlessRun {
    /// One step of a key script: a key, or a literal space, which types a space while the palette
    /// or filter is open and otherwise separates groups (time passes between groups).
    public enum Item: Equatable, Sendable {
        case key(Key)
        case space
    }

    public struct Capture: Equatable, Sendable {
        public var nanos: UInt64
        public var after: String
        public var frame: Frame
    }

    public static let keysMax = 10_000

    /// Parses `--keys`: characters, `<Name>` keys, spaces as separators (`<Space>` is the key).
    public static func parse(_ text: String) throws(KeyParseError) -> [Item] {
        var items: [Item] = []
        var pending = ""
        func flush() throws(KeyParseError) {
            items += try Key.parse(pending).map { Item.key($0) }
            pending = ""
        }
        for character in text {
            if character == " " {
                try flush()
                items.append(.space)
            } else {
                pending.append(character)
            }
        }
        try flush()
        guard items.count <= keysMax else { throw KeyParseError(name: "(more than \(keysMax) keys)") }
        return items
    }

    /// Runs `items` against `session`: first `interval` of time, then each group followed by
    /// `interval`, then on to `runNanos` in total. Returns a capture after each group and at the end.
    public static func run(_ session: ConsoleSession, items: [Item], intervalNanos: UInt64, runNanos: UInt64,
                           size: Size) -> [Capture] {
        var captures: [Capture] = []
        let start = session.cluster.nowNanos
        session.advance(byNanos: intervalNanos)
        var group = ""
        func endGroup() {
            guard !group.isEmpty else { return }
            session.advance(byNanos: intervalNanos)
            captures.append(Capture(nanos: session.cluster.nowNanos, after: group, frame: session.render(size: size)))
            group = ""
        }
        for item in items {
            if session.state.isQuitting { break }
            switch item {
            case .space where session.state.isEditingText:
                session.send(.character(" "))
                group += " "
            case .space:
                endGroup()
            case .key(let key):
                session.send(key)
                group += key.scriptText
            }
        }
        endGroup()
        let end = start + runNanos
        if session.cluster.nowNanos < end && !session.state.isQuitting {
            // Paused time does not move; the run still ends.
            session.cluster.advance(until: end)
            session.refresh()
        }
        captures.append(Capture(nanos: session.cluster.nowNanos, after: "end of run", frame: session.render(size: size)))
        return captures
    }

    /// Captures as a dump file: a header line per frame, then the frame's text.
    public static func dump(_ captures: [Capture]) -> String {
        captures.enumerated().map { index, capture in
            "--- frame \(index + 1) · t=\(ConsoleRenderer.time(capture.nanos)) · after \(capture.after)\n" + capture.frame.text
        }.joined(separator: "\n") + "\n"
    }
}

extension Key {
    /// How the key is written in a key script.
    var scriptText: String {
        switch self {
        case .character(" "): return "<Space>"
        case .character("<"): return "<lt>"
        case .character(let character): return String(character)
        default: return "<\(self)>"
        }
    }
}
