import ConclaveConsole

/// What a backend reports.
public enum TerminalInput: Equatable, Sendable {
    case key(Key)
    case resize(Size)
}

/// A place frames are shown and keys come from: ncurses on a tty, memory in tests. The only seam
/// between the console and the outside world (STYLE.md: protocols only at real seams).
public protocol Terminal: AnyObject {
    var size: Size { get }
    /// The next key or resize, waiting at most `timeoutMillis` (0: do not wait); nil when none came.
    func read(timeoutMillis: Int) -> TerminalInput?
    /// Writes the changed runs of cells, styled by `theme`, and makes them visible.
    func write(_ diff: FrameDiff, theme: Theme)
    /// Restores the terminal. Safe to call more than once.
    func close()
}

/// Keeps the frame last shown and writes only what changed: a full repaint only on the first frame,
/// a resize or a theme change.
public final class Screen {
    public private(set) var previous: Frame?
    public private(set) var cellsWritten = 0
    private var themeName: String?

    public init() {}

    /// Shows `frame`; returns how many cells were written.
    @discardableResult
    public func present(_ frame: Frame, on terminal: Terminal, theme: Theme) -> Int {
        let base = themeName == theme.name ? previous : nil
        let diff = FrameDiff(from: base, to: frame)
        if !diff.runs.isEmpty { terminal.write(diff, theme: theme) }
        previous = frame
        themeName = theme.name
        cellsWritten += diff.changedCells
        return diff.changedCells
    }

    /// Forgets the last frame, so the next one repaints everything (after a resize).
    public func invalidate() { previous = nil }
}
