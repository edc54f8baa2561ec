/// A skin: a style per role. Themes are files (themes/*.toml); the built-in ones are compiled in
/// from the same text, and a test keeps the two identical.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var styles: [Role: Style]

    public init(name: String, styles: [Role: Style]) {
        self.name = name
        self.styles = styles
    }

    /// The style of `role`; a role the theme leaves out looks like plain text.
    public func style(_ role: Role) -> Style { styles[role] ?? styles[.text] ?? Style() }

    /// The same theme shown in at most `depth` colours. With none, roles keep their attributes
    /// (bold, reverse, underline), so the monochrome screen stays readable.
    public func downgraded(to depth: ColorDepth) -> Theme {
        Theme(name: name, styles: styles.mapValues { $0.downgraded(to: depth) })
    }

    public static let builtinNames = ["default", "dark", "light", "high-contrast", "monochrome"]

    /// A built-in theme by name.
    public static func builtin(_ name: String) -> Theme? {
        guard let text = BuiltinThemes.text[name] else { return nil }
        do {
            return try ThemeParser.parse(text, file: "themes/\(name).toml")
        } catch {
            preconditionFailure("built-in theme \(name) does not parse: \(error)")
        }
    }

    public static var fallback: Theme { builtin("default")! }
}
