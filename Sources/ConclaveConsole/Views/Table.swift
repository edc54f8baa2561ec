/// A table of text columns with a header, a selected row, and clipping: what most views draw.
struct Table {
    var columns: [(title: String, width: Int, right: Bool)]

    func drawHeader(_ frame: inout Frame, x: Int, y: Int, maxX: Int) {
        var column = x
        for (title, width, right) in columns {
            frame.put(TextWidth.pad(title, width, right: right), x: column, y: y, role: .dim, maxX: maxX)
            column += width + 1
        }
    }

    /// Draws one row; `roles` may give a role per cell (else `.text`). Returns the column after it.
    @discardableResult
    func drawRow(_ frame: inout Frame, _ cells: [String], roles: [Role] = [], x: Int, y: Int, maxX: Int, selected: Bool) -> Int {
        var column = x
        for (index, (_, width, right)) in columns.enumerated() where index < cells.count {
            let role = selected ? Role.highlight : (index < roles.count ? roles[index] : .text)
            frame.put(TextWidth.pad(cells[index], width, right: right), x: column, y: y, role: role, maxX: maxX)
            if selected && column + width < maxX { frame.put(" ", x: column + width, y: y, role: .highlight, maxX: maxX) }
            column += width + 1
        }
        return column
    }

    var width: Int { columns.reduce(0) { $0 + $1.width + 1 } }
}

/// The first visible row so that `selected` stays on screen in `visible` rows.
func scrollOffset(selected: Int, count: Int, visible: Int) -> Int {
    guard count > visible, visible > 0 else { return 0 }
    return min(max(0, selected - visible + 1), count - visible)
}
