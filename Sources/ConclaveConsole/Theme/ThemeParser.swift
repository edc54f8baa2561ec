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

/// Reads the TOML subset themes are written in: comments, `[palette]` and `[roles]` tables,
/// `key = "value"` lines (keys bare or quoted), and a top-level `name`.
///
/// A palette entry names a colour (`green = "#50fa7b"`); a role's value is a style:
/// `"FG [on BG] [bold] [dim] [underline] [reverse]"`, where a colour is a palette name, an ANSI name
/// (`red`, `brightred`), `default`, `#rrggbb` or `color0`…`color255`.
public enum ThemeParser {
    public static let linesMax = 2_000
    public static let acceptedColors = "a palette name, black…white, brightblack…brightwhite, default, #rrggbb or color0…color255"
    static let attributes = "bold, dim, underline, reverse"

    public static func parse(_ text: String, file: String) throws(ThemeError) -> Theme {
        var name = ""
        var palette: [String: Color] = [:]
        var styles: [Role: Style] = [:]
        var table = ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count <= linesMax else {
            throw ThemeError(file: file, line: linesMax + 1, key: "", reason: "a theme has at most \(linesMax) lines")
        }
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            let line = stripComment(String(rawLine)).trimmingSpaces
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ThemeError(file: file, line: number, key: "", reason: "a table header ends with ']'") }
                table = String(line.dropFirst().dropLast()).trimmingSpaces
                guard table == "palette" || table == "roles" else {
                    throw ThemeError(file: file, line: number, key: table, reason: "unknown table; accepted: [palette], [roles]")
                }
                continue
            }
            let (key, value) = try keyValue(line, file: file, line: number)
            switch table {
            case "":
                guard key == "name" else { throw ThemeError(file: file, line: number, key: key, reason: "unknown top-level key; accepted: name") }
                name = value
            case "palette":
                palette[key] = try color(value, palette: [:], file: file, line: number, key: key)
            default:
                guard let role = Role.byThemeKey[key] else {
                    throw ThemeError(file: file, line: number, key: key,
                                     reason: "unknown role; accepted: \(Role.allCases.map(\.themeKey).joined(separator: ", "))")
                }
                styles[role] = try style(value, palette: palette, file: file, line: number, key: key)
            }
        }
        return Theme(name: name.isEmpty ? file : name, styles: styles)
    }

    static func stripComment(_ line: String) -> String {
        var inQuotes = false
        var result = ""
        for character in line {
            if character == "\"" { inQuotes.toggle() }
            if character == "#" && !inQuotes { break }
            result.append(character)
        }
        return result
    }

    static func keyValue(_ line: String, file: String, line number: Int) throws(ThemeError) -> (String, String) {
        guard let equals = line.firstIndex(of: "=") else {
            throw ThemeError(file: file, line: number, key: "", reason: "expected key = \"value\", got '\(line)'")
        }
        var key = String(line[..<equals]).trimmingSpaces
        if key.count >= 2, key.hasPrefix("\""), key.hasSuffix("\"") { key = String(key.dropFirst().dropLast()) }
        let raw = String(line[line.index(after: equals)...]).trimmingSpaces
        guard !key.isEmpty else { throw ThemeError(file: file, line: number, key: "", reason: "missing key before '='") }
        guard raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") else {
            throw ThemeError(file: file, line: number, key: key, reason: "value must be a quoted string, got '\(raw)'")
        }
        return (key, String(raw.dropFirst().dropLast()))
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
