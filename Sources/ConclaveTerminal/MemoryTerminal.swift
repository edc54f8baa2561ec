import ConclaveConsole

/// A terminal in memory: frames are written into a grid of cells, keys come from a queue. For
/// tests of key handling and of the diffing screen; no tty, no ncurses.
public final class MemoryTerminal: Terminal {
    public private(set) var size: Size
    public private(set) var screen: Frame
    public private(set) var writes = 0
    public private(set) var cellsWritten = 0
    public private(set) var isClosed = false
    private var inputs: [TerminalInput] = []

    public init(size: Size) {
        self.size = size
        screen = Frame(size: size)
    }

    public func enqueue(_ keys: [Key]) { inputs += keys.map { .key($0) } }

    /// Simulates the user resizing the window.
    public func resize(to newSize: Size) {
        size = newSize
        screen = Frame(size: newSize)
        inputs.append(.resize(newSize))
    }

    public func read(timeoutMillis: Int) -> TerminalInput? {
        inputs.isEmpty ? nil : inputs.removeFirst()
    }

    public func write(_ diff: FrameDiff, theme: Theme) {
        writes += 1
        for run in diff.runs where run.y < screen.height {
            for (offset, cell) in run.cells.enumerated() where run.x + offset < screen.width {
                screen[run.x + offset, run.y] = cell
                cellsWritten += 1
            }
        }
    }

    public func close() { isClosed = true }

    public var text: String { screen.text }
}
