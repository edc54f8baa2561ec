import ArgumentParser
import ConclaveConsole
import ConclaveTerminal
import Foundation

/// What `console` and `demo` share: opening the ncurses terminal (NO_COLOR respected, a clear
/// error without a tty) and reading a `--size WIDTHxHEIGHT`.
enum TerminalSupport {
    static func openTerminal() throws -> CursesTerminal {
        do {
            return try CursesTerminal(noColor: ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false)
        } catch {
            FileHandle.standardError.write(Data("conclave: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func size(_ text: String, minimum: Size) throws -> Size {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (minimum.width...1_000).contains(parts[0]), (minimum.height...500).contains(parts[1]) else {
            throw ValidationError("--size must be WIDTHxHEIGHT, width \(minimum.width)…1000 and height \(minimum.height)…500, got '\(text)'")
        }
        return Size(width: parts[0], height: parts[1])
    }
}
