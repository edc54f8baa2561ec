/// A colour as a theme names it, and how it comes down to what a terminal can show.
public enum Color: Equatable, Hashable, Sendable {
    /// The terminal's own foreground or background.
    case terminalDefault
    /// One of the 16 ANSI colours (0–7 normal, 8–15 bright).
    case ansi(UInt8)
    /// An entry of the 256-colour palette.
    case indexed(UInt8)
    case rgb(UInt8, UInt8, UInt8)

    static let ansiNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// The colour in at most `depth` colours: RGB to the 6×6×6 cube or grey ramp, then to the
    /// nearest of the 16 ANSI colours; with no colour at all, the terminal default.
    public func downgraded(to depth: ColorDepth) -> Color {
        switch (self, depth) {
        case (.terminalDefault, _), (_, .none): return .terminalDefault
        case (.ansi, _): return self
        case (.indexed(let index), .sixteen): return .ansi(Self.ansi(fromIndex: index))
        case (.indexed, .indexed256): return self
        case (.rgb(let red, let green, let blue), .indexed256): return .indexed(Self.index(red, green, blue))
        case (.rgb(let red, let green, let blue), .sixteen): return .ansi(Self.ansi(fromIndex: Self.index(red, green, blue)))
        }
    }

    /// The 256-palette index of an RGB colour: the nearer of the cube and the grey ramp.
    static func index(_ red: UInt8, _ green: UInt8, _ blue: UInt8) -> UInt8 {
        func level(_ value: UInt8) -> Int { value < 48 ? 0 : value < 115 ? 1 : (Int(value) - 35) / 40 }
        let cube = 16 + 36 * level(red) + 6 * level(green) + level(blue)
        let average = (Int(red) + Int(green) + Int(blue)) / 3
        if red == green && green == blue {
            if average < 8 { return 16 }
            if average > 238 { return 231 }
            return UInt8(232 + (average - 8) / 10)
        }
        return UInt8(cube)
    }

    /// The nearest ANSI colour to a 256-palette entry.
    static func ansi(fromIndex index: UInt8) -> UInt8 {
        if index < 16 { return index }
        if index >= 232 { return index < 244 ? (index < 238 ? 0 : 8) : (index < 250 ? 7 : 15) }
        let cube = Int(index) - 16
        let (red, green, blue) = (cube / 36, (cube / 6) % 6, cube % 6)
        let bright = max(red, green, blue) >= 4
        let bits = (red >= 2 ? 1 : 0) | (green >= 2 ? 2 : 0) | (blue >= 2 ? 4 : 0)
        return UInt8(bits) + (bright && bits != 0 ? 8 : 0)
    }
}

/// How many colours the terminal shows.
public enum ColorDepth: String, Sendable, CaseIterable {
    case none, sixteen = "16", indexed256 = "256"

    /// From the number of colours the terminal reports (`COLORS` in curses) and NO_COLOR.
    public static func from(colors: Int, noColor: Bool) -> ColorDepth {
        if noColor || colors < 8 { return .none }
        return colors >= 256 ? .indexed256 : .sixteen
    }
}

/// How a role looks: colours and attributes.
public struct Style: Equatable, Hashable, Sendable {
    public var foreground: Color = .terminalDefault
    public var background: Color = .terminalDefault
    public var bold = false
    public var dim = false
    public var underline = false
    public var reverse = false

    public init(foreground: Color = .terminalDefault, background: Color = .terminalDefault,
                bold: Bool = false, dim: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.dim = dim
        self.underline = underline
        self.reverse = reverse
    }

    public func downgraded(to depth: ColorDepth) -> Style {
        var style = self
        style.foreground = foreground.downgraded(to: depth)
        style.background = background.downgraded(to: depth)
        return style
    }
}
