/// What changed between two frames, as runs of cells per row, so a backend writes only those.
///
/// A size change (or no previous frame) is a full repaint. O(width × height), one pass, no allocation
/// beyond the runs themselves.
public struct FrameDiff: Equatable, Sendable {
    /// A stretch of changed cells on one row.
    public struct Run: Equatable, Sendable {
        public var x: Int
        public var y: Int
        public var cells: [Cell]
    }

    public var runs: [Run]
    public var isFullRepaint: Bool

    public var changedCells: Int { runs.reduce(0) { $0 + $1.cells.count } }

    public init(from previous: Frame?, to next: Frame) {
        guard let previous, previous.size == next.size else {
            isFullRepaint = true
            runs = (0..<next.height).map { row in
                Run(x: 0, y: row, cells: Array(next.cells[(row * next.width)..<((row + 1) * next.width)]))
            }
            return
        }
        isFullRepaint = false
        runs = []
        let width = next.width
        previous.cells.withUnsafeBufferPointer { old in
            next.cells.withUnsafeBufferPointer { new in
                for row in 0..<next.height {
                    let base = row * width
                    var column = 0
                    while column < width {
                        guard old[base + column] != new[base + column] else {
                            column += 1
                            continue
                        }
                        // A changed continuation repaints from its wide glyph.
                        var start = column
                        if new[base + start].isContinuation && start > 0 { start -= 1 }
                        var end = column + 1
                        while end < width && old[base + end] != new[base + end] { end += 1 }
                        if end < width && new[base + end].isContinuation { end += 1 }
                        runs.append(Run(x: start, y: row, cells: Array(new[(base + start)..<(base + end)])))
                        column = end
                    }
                }
            }
        }
    }
}
