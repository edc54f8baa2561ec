import CNCurses
import ConclaveConsole
import Foundation

/// The ncurses backend: wide characters (`mvadd_wch` with `setcchar`), a colour pair per role in
/// 256, 16 or no colours, `KEY_RESIZE`, and the terminal restored by `close()` — which the caller
/// runs on quit, on SIGINT/SIGTERM and on every error path.
public final class CursesTerminal: Terminal {
    public private(set) var size: Size
    public let depth: ColorDepth
    private var isOpen = true
    private var pairedTheme: String?

    // Attribute bits from ncurses.h: NCURSES_BITS(1U, n) = 1 << (n + NCURSES_ATTR_SHIFT), shift 8.
    static let underline: UInt32 = 1 << (9 + 8)
    static let reverse: UInt32 = 1 << (10 + 8)
    static let dim: UInt32 = 1 << (12 + 8)
    static let bold: UInt32 = 1 << (13 + 8)

    /// Opens the terminal. Fails with a clear message when stdin/stdout is not a tty.
    public init(noColor: Bool) throws(TerminalError) {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw .notATerminal }
        setlocale(LC_ALL, "")
        guard initscr() != nil else { throw .cannotStart("initscr failed (is TERM set?)") }
        cbreak()
        noecho()
        nonl()
        keypad(stdscr, true)
        curs_set(0)
        set_escdelay(25)
        var colors = 0
        if !noColor && has_colors() {
            start_color()
            use_default_colors()
            colors = Int(COLORS)
        }
        depth = ColorDepth.from(colors: colors, noColor: noColor)
        size = Size(width: Int(getmaxx(stdscr)), height: Int(getmaxy(stdscr)))
        Self.restoreOnCrash()
    }

    /// A crash (a Swift trap is SIGILL or SIGTRAP, a bad access SIGSEGV or SIGBUS, abort SIGABRT)
    /// would leave the tty in raw mode: restore it first, then die of the same signal. endwin is not
    /// async-signal-safe; on the way down, a usable terminal is worth the risk.
    static func restoreOnCrash() {
        for signalNumber in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
            signal(signalNumber) { received in
                endwin()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    public func read(timeoutMillis: Int) -> TerminalInput? {
        wtimeout(stdscr, Int32(timeoutMillis))
        var character: wint_t = 0
        let result = wget_wch(stdscr, &character)
        if result == ERR { return nil }
        if result == KEY_CODE_YES {
            let code = Int32(character)
            if code == KEY_RESIZE {
                size = Size(width: Int(getmaxx(stdscr)), height: Int(getmaxy(stdscr)))
                return .resize(size)
            }
            return .key(Self.key(forCode: code))
        }
        return .key(Self.key(forCharacter: UInt32(character)))
    }

    static func key(forCode code: Int32) -> Key {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_NPAGE: return .pageDown
        case KEY_PPAGE: return .pageUp
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_ENTER: return .enter
        case KEY_F0 + 1...KEY_F0 + 12: return .function(Int(code - KEY_F0))
        default: return .unknown(code)
        }
    }

    static func key(forCharacter value: UInt32) -> Key {
        switch value {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .control(Character(Unicode.Scalar(value + 96)!))
        default:
            guard let scalar = Unicode.Scalar(value) else { return .unknown(Int32(bitPattern: value)) }
            return .character(Character(scalar))
        }
    }

    public func write(_ diff: FrameDiff, theme: Theme) {
        guard isOpen else { return }
        let shown = theme.downgraded(to: depth)
        if pairedTheme != theme.name { definePairs(shown) }
        for run in diff.runs {
            var x = run.x
            for cell in run.cells {
                defer { x += 1 }
                if cell.isContinuation { continue }
                draw(cell, x: x, y: run.y, style: shown.style(cell.role))
            }
        }
        wnoutrefresh(stdscr)
        doupdate()
    }

    private func draw(_ cell: Cell, x: Int, y: Int, style: Style) {
        var attributes: UInt32 = 0
        if style.bold { attributes |= Self.bold }
        if style.dim { attributes |= Self.dim }
        if style.underline { attributes |= Self.underline }
        if style.reverse { attributes |= Self.reverse }
        var characters: [wchar_t] = [wchar_t(bitPattern: cell.scalar.value), 0]
        var complex = cchar_t()
        let pair = depth == .none ? 0 : Int16(cell.role.rawValue) + 1
        setcchar(&complex, &characters, attr_t(attributes), pair, nil)
        mvadd_wch(Int32(y), Int32(x), &complex)
    }

    /// One colour pair per role: pair n+1 for role n, so a cell's pair is its role.
    private func definePairs(_ theme: Theme) {
        pairedTheme = theme.name
        guard depth != .none else { return }
        for role in Role.allCases where Int32(role.rawValue) + 1 < COLOR_PAIRS {
            let style = theme.style(role)
            init_pair(Int16(role.rawValue) + 1, Self.number(style.foreground), Self.number(style.background))
        }
        // Blank cells take the text role's background.
        bkgdset(chtype(UInt32(Role.text.rawValue + 1) << 8))
    }

    static func number(_ color: Color) -> Int16 {
        switch color {
        case .terminalDefault: return -1
        case .ansi(let index): return Int16(index) < Int16(COLORS) ? Int16(index) : Int16(index % 8)
        case .indexed(let index): return Int16(index)
        case .rgb: return -1  // already downgraded by the caller
        }
    }

    public func close() {
        guard isOpen else { return }
        isOpen = false
        curs_set(1)
        endwin()
    }

    deinit { close() }
}

public enum TerminalError: Error, Equatable, Sendable, CustomStringConvertible {
    case notATerminal
    case cannotStart(String)

    public var description: String {
        switch self {
        case .notATerminal:
            return "conclave console needs a terminal (stdin and stdout must be a tty); "
                + "for scripts and CI use --headless, e.g. conclave console --headless --seed 1 --run 10s --keys \"2\" --dump frames.txt"
        case .cannotStart(let reason): return "cannot start the terminal: \(reason)"
        }
    }
}
