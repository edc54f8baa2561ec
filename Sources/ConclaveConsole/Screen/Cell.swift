/// One terminal cell: a glyph and the role it plays.
///
/// A wide glyph (CJK, most emoji) takes two cells: the first holds it, the second is a
/// `continuation` cell that backends skip. Kept to 8 bytes so a 200×60 frame is 96 KB and a diff is
/// a linear scan.
public struct Cell: Equatable, Sendable {
    public var scalar: Unicode.Scalar
    public var role: Role
    /// True for the right half of a wide glyph.
    public var isContinuation: Bool

    public init(_ scalar: Unicode.Scalar = " ", role: Role = .text, isContinuation: Bool = false) {
        self.scalar = scalar
        self.role = role
        self.isContinuation = isContinuation
    }

    public static let blank = Cell()
}

/// Display width of a scalar in terminal columns: 0 for combining marks and controls, 2 for East
/// Asian wide and fullwidth ranges and emoji, 1 otherwise. A table of ranges, not a full Unicode
/// database: it covers what the console draws and what users type into names.
public enum TextWidth {
    public static func columns(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        if (0x0300...0x036F).contains(value) || (0x200B...0x200F).contains(value) || value == 0xFE0F { return 0 }
        for range in wideRanges where range.contains(value) { return 2 }
        return 1
    }

    public static func columns(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + columns($1) }
    }

    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// Cuts `text` to at most `width` columns, ending with "…" when it was cut.
    public static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard columns(text) > width else { return text }
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let cost = columns(scalar)
            if used + cost > width - 1 { break }
            result.append(scalar)
            used += cost
        }
        return String(result) + "…"
    }

    /// Pads (or cuts) `text` to exactly `width` columns; `right` aligns it to the right.
    public static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let cut = truncate(text, to: width)
        let fill = String(repeating: " ", count: max(0, width - columns(cut)))
        return right ? fill + cut : cut + fill
    }
}
