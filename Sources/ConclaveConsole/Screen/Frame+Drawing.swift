/// Boxes, bars and sparklines: the few shapes every view is made of.
extension Frame {
    /// A box with a title on its top edge; the border takes `focus` when `focused`.
    public mutating func box(_ rect: Rect, title: String = "", focused: Bool = false) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let role: Role = focused ? .focus : .border
        put("┌" + String(repeating: "─", count: rect.width - 2) + "┐", x: rect.x, y: rect.y, role: role)
        for row in (rect.y + 1)..<(rect.maxY - 1) {
            put("│", x: rect.x, y: row, role: role)
            put("│", x: rect.maxX - 1, y: row, role: role)
        }
        put("└" + String(repeating: "─", count: rect.width - 2) + "┘", x: rect.x, y: rect.maxY - 1, role: role)
        if !title.isEmpty, rect.width > 6 {
            put(" " + TextWidth.truncate(title, to: rect.width - 6) + " ", x: rect.x + 2, y: rect.y, role: focused ? .focus : .title)
        }
    }

    /// A horizontal bar `width` cells wide, `fraction` of it filled.
    public mutating func bar(x: Int, y: Int, width: Int, fraction: Double, fill: Role = .barFill) {
        guard width > 0 else { return }
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((clamped * Double(width)).rounded())
        put(String(repeating: "█", count: filled), x: x, y: y, role: fill)
        put(String(repeating: "░", count: width - filled), x: x + filled, y: y, role: .barEmpty)
    }

    /// A sparkline of `values` scaled to their maximum, newest on the right, `width` cells wide.
    public mutating func sparkline(_ values: [Double], x: Int, y: Int, width: Int, role: Role) {
        let levels: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let shown = values.suffix(width)
        let top = max(shown.max() ?? 0, 1e-9)
        var column = x + width - shown.count
        for value in shown {
            let level = value <= 0 ? 0 : min(levels.count - 1, Int((value / top) * Double(levels.count - 1) + 0.5))
            put(String(levels[level]), x: column, y: y, role: value <= 0 ? .dim : role)
            column += 1
        }
    }
}
