import TOMLKit

/// A bad theme file: which file, which line, which key, and what is accepted.
public struct ThemeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var key: String
    public var reason: String

    public var description: String {
        "\(file):\(line): \(key.isEmpty ? "" : "key '\(key)': ")\(reason)"
    }
}

/// Reads a theme file with a real TOML parser (TOMLKit): a top-level `name`, a `[palette]` table
/// and a `[roles]` table, every value a string.
///
/// A palette entry names a colour (`green = "#50fa7b"`); a role's value is a style:
/// `"FG [on BG] [bold] [dim] [underline] [reverse]"`, where a colour is a palette name, an ANSI name
/// (`red`, `brightred`), `default`, `#rrggbb` or `color0`…`color255`. Errors name the file, the line
/// (TOML's own position for syntax errors; the key's line for a bad value) and the key.
public enum ThemeParser {
    public static let linesMax = 2_000
    public static let acceptedColors = "a palette name, black…white, brightblack…brightwhite, default, #rrggbb or color0…color255"
    static let attributes = "bold, dim, underline, reverse"

    public static func parse(_ text: String, file: String) throws(ThemeError) -> Theme {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count <= linesMax else {
            throw ThemeError(file: file, line: linesMax + 1, key: "", reason: "a theme has at most \(linesMax) lines")
        }
        let document = try parseTOML(text, file: file)
        let locate = KeyLocator(lines: lines)
        for key in document.keys.sorted() where !["name", "palette", "roles"].contains(key) {
            let isTable = document[key]?.table != nil
            throw ThemeError(file: file, line: locate.line(ofTable: key) ?? locate.line(of: key, in: nil), key: key,
                             reason: isTable ? "unknown table; accepted: [palette], [roles]" : "unknown top-level key; accepted: name")
        }
        let name = try string(document, "name", table: nil, file: file, locate: locate) ?? ""
        var palette: [String: Color] = [:]
        for key in try tableKeys(document, "palette", file: file, locate: locate) {
            let value = try string(document["palette"]!.table!, key, table: "palette", file: file, locate: locate)!
            palette[key.lowercased()] = try color(value, palette: [:], file: file, line: locate.line(of: key, in: "palette"), key: key)
        }
        var styles: [Role: Style] = [:]
        for key in try tableKeys(document, "roles", file: file, locate: locate) {
            let line = locate.line(of: key, in: "roles")
            guard let role = Role.byThemeKey[key] else {
                throw ThemeError(file: file, line: line, key: key,
                                 reason: "unknown role; accepted: \(Role.allCases.map(\.themeKey).joined(separator: ", "))")
            }
            let value = try string(document["roles"]!.table!, key, table: "roles", file: file, locate: locate)!
            styles[role] = try style(value, palette: palette, file: file, line: line, key: key)
        }
        return Theme(name: name.isEmpty ? file : name, styles: styles)
    }

    private static func parseTOML(_ text: String, file: String) throws(ThemeError) -> TOMLTable {
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ThemeError(file: file, line: error.source.begin.line, key: "", reason: "not valid TOML: \(error.description)")
        } catch {
            throw ThemeError(file: file, line: 1, key: "", reason: "not valid TOML: \(error)")
        }
    }

    /// The keys of `[name]`, sorted; none when the table is absent.
    private static func tableKeys(_ document: TOMLTable, _ name: String, file: String, locate: KeyLocator) throws(ThemeError) -> [String] {
        guard let value = document[name] else { return [] }
        guard value.table != nil else {
            throw ThemeError(file: file, line: locate.line(of: name, in: nil), key: name, reason: "must be a table ([\(name)])")
        }
        return value.table!.keys.sorted()
    }

    private static func string(_ table: TOMLTable, _ key: String, table name: String?, file: String, locate: KeyLocator) throws(ThemeError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else {
            throw ThemeError(file: file, line: locate.line(of: key, in: name), key: key, reason: "value must be a quoted string")
        }
        return string
    }

    static func style(_ value: String, palette: [String: Color], file: String, line: Int, key: String) throws(ThemeError) -> Style {
        var style = Style()
        var words = value.split(separator: " ").map { $0.lowercased() }
        var setForeground = false
        while !words.isEmpty {
            let word = words.removeFirst()
            switch word {
            case "bold": style.bold = true
            case "dim": style.dim = true
            case "underline": style.underline = true
            case "reverse": style.reverse = true
            case "on":
                guard !words.isEmpty else { throw ThemeError(file: file, line: line, key: key, reason: "'on' needs a background colour") }
                style.background = try color(words.removeFirst(), palette: palette, file: file, line: line, key: key)
            default:
                guard !setForeground else {
                    throw ThemeError(file: file, line: line, key: key,
                                     reason: "'\(word)' is not an attribute (\(attributes)) and the foreground is already set")
                }
                style.foreground = try color(word, palette: palette, file: file, line: line, key: key)
                setForeground = true
            }
        }
        return style
    }

    static func color(_ word: String, palette: [String: Color], file: String, line: Int, key: String) throws(ThemeError) -> Color {
        let lower = word.lowercased()
        if let named = palette[lower] { return named }
        if lower == "default" { return .terminalDefault }
        if let index = Color.ansiNames.firstIndex(of: lower) { return .ansi(UInt8(index)) }
        if lower.hasPrefix("bright"), let index = Color.ansiNames.firstIndex(of: String(lower.dropFirst(6))) {
            return .ansi(UInt8(index + 8))
        }
        if lower.hasPrefix("color"), let index = UInt8(lower.dropFirst(5)) { return .indexed(index) }
        if lower.hasPrefix("#"), lower.count == 7, let value = UInt32(lower.dropFirst(), radix: 16) {
            return .rgb(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
        }
        throw ThemeError(file: file, line: line, key: key, reason: "unknown colour '\(word)'; accepted: \(acceptedColors)")
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Finds the line a key stands on (TOMLKit keeps no positions for values), for error messages.
struct KeyLocator {
    let lines: [String]

    /// The 1-based line of `[name]`.
    func line(ofTable name: String) -> Int? {
        lines.firstIndex { $0.trimmingSpaces.hasPrefix("[\(name)") }.map { $0 + 1 }
    }

    /// The 1-based line of `key = …` inside `[table]` (nil: top level), bare or quoted; 1 if not found.
    func line(of key: String, in table: String?) -> Int {
        var current: String?
        for (offset, raw) in lines.enumerated() {
            let line = raw.trimmingSpaces
            if line.hasPrefix("[") {
                current = String(line.dropFirst().prefix { $0 != "]" }).trimmingSpaces
                continue
            }
            guard current == table else { continue }
            if line.hasPrefix("\"\(key)\"") || line.hasPrefix("'\(key)'") || line.hasPrefix(key + " ") || line.hasPrefix(key + "=") {
                return offset + 1
            }
        }
        return 1
    }
}
