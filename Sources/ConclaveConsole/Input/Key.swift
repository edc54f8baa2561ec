/// A key press, as backends report it and keymaps name it.
public enum Key: Hashable, Sendable, CustomStringConvertible {
    case character(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, pageUp, pageDown, home, end
    case function(Int)
    case control(Character)
    /// A key the backend could not name (its raw code), ignored with a hint.
    case unknown(Int32)

    /// Names for `<Name>` in key strings (`--keys "2 :kill 1<Enter>"`) and for the help overlay.
    static let names: [(String, Key)] = [
        ("Enter", .enter), ("Esc", .escape), ("Tab", .tab), ("S-Tab", .backTab), ("BS", .backspace), ("Del", .delete),
        ("Up", .up), ("Down", .down), ("Left", .left), ("Right", .right), ("PgUp", .pageUp), ("PgDn", .pageDown),
        ("Home", .home), ("End", .end), ("Space", .character(" ")), ("lt", .character("<")),
    ]

    public var description: String {
        switch self {
        case .character(" "): return "Space"
        case .character(let character): return String(character)
        case .function(let number): return "F\(number)"
        case .control(let character): return "C-\(character)"
        case .unknown(let code): return "key \(code)"
        default: return Self.names.first { $0.1 == self }?.0 ?? "?"
        }
    }

    /// Parses a key string: plain characters stand for themselves, `<Name>` for named keys
    /// (`<Enter>`, `<Esc>`, `<Tab>`, `<Up>`, `<Space>`, `<lt>` for '<', `<C-c>`, `<F1>`).
    public static func parse(_ text: String) throws(KeyParseError) -> [Key] {
        var keys: [Key] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "<", let close = text[index...].firstIndex(of: ">"), close > text.index(after: index) else {
                keys.append(.character(character))
                index = text.index(after: index)
                continue
            }
            let name = String(text[text.index(after: index)..<close])
            keys.append(try named(name))
            index = text.index(after: close)
        }
        return keys
    }

    static func named(_ name: String) throws(KeyParseError) -> Key {
        if let key = names.first(where: { $0.0.lowercased() == name.lowercased() })?.1 { return key }
        if name.hasPrefix("C-"), name.count == 3 { return .control(name.last!) }
        if name.hasPrefix("F"), let number = Int(name.dropFirst()), (1...12).contains(number) { return .function(number) }
        throw KeyParseError(name: name)
    }
}

public struct KeyParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var description: String {
        "unknown key <\(name)>; accepted: " + Key.names.map { "<\($0.0)>" }.joined(separator: " ") + " <C-x> <F1>…<F12>"
    }
}
