import ArgumentParser
import ConclaveConsole
import ConclaveTerminal
import Dispatch
import Foundation

/// `conclave demo NAME`: a scripted scenario from demos/NAME.demo (or any .demo file) with a
/// narration pane and pause points; `--list` names them; `--headless` plays it in virtual time and
/// prints a frame per pause point, failing when an `expect` line does not hold.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Play a scripted scenario (lock-contention, fencing, split-brain, election, …) with narration."
    )

    @Argument(help: "A demo name (see --list) or the path of a .demo file.")
    var name: String?

    @Flag(help: "List the demos and what they show.")
    var list = false

    @Flag(help: "Play without a terminal, in virtual time; print a frame per pause point.")
    var headless = false

    @Option(help: "Headless: the frame size, WIDTHxHEIGHT.")
    var size = "120x40"

    @Option(help: "Headless: write the frames to this file (default: standard output).")
    var dump: String?

    @Option(help: "Theme: \(Theme.builtinNames.joined(separator: ", ")), or a path to a .toml theme file.")
    var theme: String?

    func validate() throws {
        if !list && name == nil { throw ValidationError("name a demo (conclave demo --list shows them) or pass --list") }
    }

    func run() throws {
        if list {
            for (demoName, path) in DemoLibrary.all() {
                let title = (try? DemoLibrary.load(path, name: demoName).title) ?? "(does not parse)"
                print(demoName.padding(toLength: 16, withPad: " ", startingAt: 0) + title)
            }
            return
        }
        let script = try DemoLibrary.resolve(name!)
        if headless {
            try playHeadless(script)
            return
        }
        let terminal = try TerminalSupport.openTerminal()
        let chosen = ThemeLoader.load(theme)
        let player = try DemoPlayer(script: script, size: terminal.size)
        LiveDemo(player: player, terminal: terminal, theme: chosen.theme).run()
    }

    private func playHeadless(_ script: DemoScript) throws {
        let player = try DemoPlayer(script: script, size: try TerminalSupport.size(size, minimum: ConsoleRenderer.minimumSize))
        let text = HeadlessRun.dump(player.runToEnd(measure: DemoLab.measure))
        if let dump { try text.write(toFile: dump, atomically: true, encoding: .utf8) } else { print(text, terminator: "") }
        if !player.failures.isEmpty {
            FileHandle.standardError.write(Data((player.failures.joined(separator: "\n") + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// Where demos live: demos/ in the working directory, else beside the package the binary was
/// built in (found by walking up from the executable).
enum DemoLibrary {
    static func directory() -> URL? {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("demos")]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent("demos"))
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("election.demo").path) }
    }

    static func all() -> [(String, String)] {
        guard let directory = directory(),
              let files = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return files.filter { $0.hasSuffix(".demo") }.sorted().map { (String($0.dropLast(5)), directory.appendingPathComponent($0).path) }
    }

    static func load(_ path: String, name: String) throws -> DemoScript {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("cannot read demo file \(path)")
        }
        let script: DemoScript
        do {
            script = try DemoScript.parse(text, name: name, file: path)
        } catch {
            throw ValidationError("bad demo: \(error.description)")
        }
        if let problem = DemoLab.problem(script, file: path) { throw ValidationError("bad demo: \(problem)") }
        return script
    }

    static func resolve(_ name: String) throws -> DemoScript {
        if name.contains("/") || name.hasSuffix(".demo") {
            return try load(name, name: URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent)
        }
        guard let (_, path) = all().first(where: { $0.0 == name }) else {
            throw ValidationError("no demo '\(name)'; demos: \(all().map(\.0).joined(separator: ", ")) (or a path to a .demo file)")
        }
        return try load(path, name: name)
    }
}

/// The live demo on the UI thread: `run` steps animate at wall speed, pause points wait for Space
/// or Enter (other keys still drive the console: views, help, palette), q quits. A `lab` step
/// measures on real threads while the UI thread waits, the screen saying so.
final class LiveDemo {
    let player: DemoPlayer
    let terminal: CursesTerminal
    let theme: Theme
    let screen = Screen()
    let signals = SignalFlag()

    init(player: DemoPlayer, terminal: CursesTerminal, theme: Theme) {
        self.player = player
        self.terminal = terminal
        self.theme = theme
    }

    /// Runs a `lab` step's strategies one by one, drawing the screen before each with a banner.
    func measure(_ strategies: [String], _ settings: LocalLabSettings, _ millis: UInt64) {
        for strategy in strategies {
            var frame = ConsoleRenderer.render(player.session.state, size: terminal.size)
            frame.put(" measuring \(strategy), \(settings.threads) threads, \(millis) ms on real threads… ", x: 0, y: frame.height - 1,
                      role: .alert)
            screen.present(frame, on: terminal, theme: theme)
            if let figures = DemoLab.measure(strategy, settings, millis) { player.session.measured(figures) }
        }
    }

    func run() {
        signals.install()
        defer { terminal.close() }
        var pausedAt: String?
        var remainingMillis: UInt64 = 0
        var last = DispatchTime.now().uptimeNanoseconds
        while !player.session.state.isQuitting && !signals.isRaised {
            if pausedAt == nil && remainingMillis == 0 {
                if player.isFinished { pausedAt = "the demo is over — q quits" } else {
                    switch player.next() {
                    case .nothing: break
                    case .time(let millis): remainingMillis = millis
                    case .pause(let text): pausedAt = text
                    case .lab(let strategies, let settings, let millis):
                        measure(strategies, settings, millis)
                    }
                }
                if pausedAt == nil && remainingMillis == 0 { continue }
            }
            var frame = ConsoleRenderer.render(player.session.state, size: terminal.size)
            if let pausedAt { frame.put(" ⏸ \(pausedAt) ", x: 0, y: frame.height - 1, role: .alert) }
            screen.present(frame, on: terminal, theme: theme)
            let input = terminal.read(timeoutMillis: 33)
            let now = DispatchTime.now().uptimeNanoseconds
            if remainingMillis > 0 {
                let step = min(remainingMillis, (now - last) / 1_000_000)
                player.session.advance(byNanos: step * 1_000_000)
                remainingMillis -= step
            }
            last = now
            switch input {
            case .key(.character(" ")) where pausedAt != nil, .key(.enter) where pausedAt != nil && !player.session.state.isEditingText:
                pausedAt = nil
            case .key(let key):
                player.session.send(key)
            case .resize:
                screen.invalidate()
            case nil:
                break
            }
        }
    }
}
