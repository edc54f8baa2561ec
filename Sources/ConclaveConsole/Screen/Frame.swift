/// A grid of styled cells that views draw into; backends only ever see frames.
///
/// Drawing clips at the edges (a view may draw past them without harm), and a wide glyph that would
/// straddle the right edge becomes a space, so every row is always exactly `width` columns.
public struct Frame: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    /// The largest frame the console draws; anything bigger is clipped to it.
    public static let sizeMax = Size(width: 1_000, height: 500)

    public init(size: Size) {
        width = max(0, min(size.width, Self.sizeMax.width))
        height = max(0, min(size.height, Self.sizeMax.height))
        cells = Array(repeating: .blank, count: width * height)
    }

    public var size: Size { Size(width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `text` from column `x` on row `y`, clipped to `maxX` (exclusive) and the frame; clipped
    /// text ends with `…` in its last cell (unless only spaces were cut), so a cut is never mistaken
    /// for the whole. Returns the column after the last glyph written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: Role = .text, maxX: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let limit = min(maxX ?? width, width)
        var column = x
        let scalars = text.unicodeScalars
        for index in scalars.indices {
            let scalar = scalars[index]
            let cost = TextWidth.columns(scalar)
            if cost == 0 { continue }
            if column + cost > limit {
                // Only padding cut off is not a cut.
                if scalars[index...].contains(where: { $0 != " " }) { markCut(before: column, from: x, y: y, role: role) }
                break
            }
            if column >= 0 {
                self[column, y] = Cell(scalar, role: role)
                if cost == 2 { self[column + 1, y] = Cell(" ", role: role, isContinuation: true) }
            }
            column += cost
        }
        return column
    }

    /// The last cell written (before `column`, not before `start`) becomes `…`; a wide glyph's
    /// two cells become `…` and a space.
    private mutating func markCut(before column: Int, from start: Int, y: Int, role: Role) {
        var last = column - 1
        guard last >= max(0, start), last < width else { return }
        if self[last, y].isContinuation, last - 1 >= max(0, start) {
            self[last, y] = Cell(" ", role: role)
            last -= 1
        }
        self[last, y] = Cell("…", role: role)
    }

    /// Sets the role of `count` cells from (x, y) without changing their glyphs.
    public mutating func paint(x: Int, y: Int, count: Int, role: Role) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<max(max(0, x), min(width, x + count)) { self[column, y].role = role }
    }

    /// Fills a rectangle with one glyph.
    public mutating func fill(_ rect: Rect, with scalar: Unicode.Scalar = " ", role: Role = .text) {
        let clipped = rect.intersection(Rect(x: 0, y: 0, width: width, height: height))
        for row in clipped.y..<clipped.maxY {
            for column in clipped.x..<clipped.maxX { self[column, row] = Cell(scalar, role: role) }
        }
    }

    /// The frame as plain text, one line per row, trailing spaces kept (golden files compare it).
    public var text: String {
        (0..<height).map(line).joined(separator: "\n")
    }

    /// One line of the frame as plain text.
    public func line(_ row: Int) -> String {
        var line = String.UnicodeScalarView()
        for column in 0..<width where !self[column, row].isContinuation { line.append(self[column, row].scalar) }
        return String(line)
    }
}

public struct Size: Equatable, Hashable, Sendable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

public struct Rect: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    public func intersection(_ other: Rect) -> Rect {
        let left = max(x, other.x), top = max(y, other.y)
        return Rect(x: left, y: top, width: min(maxX, other.maxX) - left, height: min(maxY, other.maxY) - top)
    }

    /// The rectangle less `amount` on every side.
    public func inset(_ amount: Int) -> Rect {
        Rect(x: x + amount, y: y + amount, width: width - 2 * amount, height: height - 2 * amount)
    }
}
