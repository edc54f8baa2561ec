import Testing
import ConclaveConsole
@testable import ConclaveTerminal

/// Key handling end to end on the in-memory terminal: keys from the terminal into the console,
/// controls into the embedded cluster, frames back through the diffing screen.
@Suite struct TerminalTests {
    static let size = Size(width: 120, height: 40)

    /// Pumps every queued key through the session, drawing after each, as the live loop does.
    static func pump(_ terminal: MemoryTerminal, _ session: ConsoleSession, _ screen: Screen) {
        screen.present(session.render(size: terminal.size), on: terminal, theme: .fallback)
        while let input = terminal.read(timeoutMillis: 0) {
            switch input {
            case .key(let key): session.send(key)
            case .resize: screen.invalidate()
            }
            screen.present(session.render(size: terminal.size), on: terminal, theme: .fallback)
        }
    }

    static func started(readOnly: Bool = false, confirm: Bool = false) throws -> (MemoryTerminal, ConsoleSession, Screen) {
        let session = ConsoleSession(cluster: try EmbeddedCluster(seed: 3), readOnly: readOnly, confirmDangerous: confirm)
        session.advance(byNanos: 2_000_000_000)
        return (MemoryTerminal(size: size), session, Screen())
    }

    @Test("number keys and Tab switch views; the screen shows the tab")
    func switchViews() throws {
        let (terminal, session, screen) = try Self.started()
        terminal.enqueue([.character("2")])
        Self.pump(terminal, session, screen)
        #expect(session.state.view == .locks)
        #expect(terminal.text.contains("locks ("))
        terminal.enqueue([.tab, .tab])
        Self.pump(terminal, session, screen)
        #expect(session.state.view == .ids)
        terminal.enqueue([.backTab])
        Self.pump(terminal, session, screen)
        #expect(session.state.view == .scheduler)
    }

    @Test("x kills the leader and another node takes over")
    func killLeader() throws {
        let (terminal, session, screen) = try Self.started()
        let leader = try #require(session.state.snapshot.leader?.id)
        terminal.enqueue([.character("x")])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.nodes[Int(leader) - 1].health == .crashed)
        #expect(terminal.text.contains("killed node \(leader)"))
        session.advance(byNanos: 3_000_000_000)
        let next = try #require(session.state.snapshot.leader)
        #expect(next.id != leader)
    }

    @Test("an unknown key is ignored with a hint")
    func unknownKey() throws {
        let (terminal, session, screen) = try Self.started()
        let before = session.state.view
        terminal.enqueue([.character("z"), .unknown(999)])
        Self.pump(terminal, session, screen)
        #expect(session.state.view == before)
        #expect(terminal.text.contains("no binding for 'key 999' here — press ? for the keys"))
        #expect(session.state.snapshot.nodes.allSatisfy { $0.health == .up })
    }

    @Test("keys pressed while help is open do not reach the cluster: x behind help kills nothing")
    func helpCapturesKeys() throws {
        let (terminal, session, screen) = try Self.started()
        let leader = try #require(session.state.snapshot.leader?.id)
        terminal.enqueue([.character("?"), .character("x"), .character("2")])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.nodes[Int(leader) - 1].health != .crashed, "x acted behind the help overlay")
        #expect(session.state.view == .cluster && session.state.overlay == .help)
        #expect(session.state.message == "help is open: ↓/↑ PgDn/PgUp scroll, ? or Esc closes it")
        terminal.enqueue([.character("?"), .character("2")])
        Self.pump(terminal, session, screen)
        #expect(session.state.overlay == .none && session.state.view == .locks, "closed, keys act again")
    }

    @Test("help fits 80×24 by scrolling: its title says which lines show; ↓, PgDn and End move through it, every line reachable")
    func helpScrollsAt80x24() throws {
        let session = ConsoleSession(cluster: try EmbeddedCluster(seed: 3))
        let terminal = MemoryTerminal(size: Size(width: 80, height: 24))
        let screen = Screen()
        terminal.enqueue([.character("?")])
        Self.pump(terminal, session, screen)
        #expect(terminal.text.contains("lines 1–20 of"), "the title names the lines in view")
        terminal.enqueue([.down])
        Self.pump(terminal, session, screen)
        #expect(terminal.text.contains("lines 2–21 of"))
        terminal.enqueue([.end])
        Self.pump(terminal, session, screen)
        let last = try #require(PaletteParser.usage.last?.1)
        #expect(terminal.text.contains(":" + last), "End shows the last line of help")
        #expect(!terminal.text.contains("…│"), "no help line is cut at 80 columns")
        terminal.enqueue([.home])
        Self.pump(terminal, session, screen)
        #expect(terminal.text.contains("lines 1–20 of"))
    }

    @Test("? opens help generated from the keymap; Esc closes it")
    func help() throws {
        let (terminal, session, screen) = try Self.started()
        terminal.enqueue([.character("?")])
        Self.pump(terminal, session, screen)
        for binding in Keymap.standard.bindings where binding.view == nil {
            #expect(terminal.text.contains(binding.help), "help lacks '\(binding.help)'")
        }
        terminal.enqueue([.escape])
        Self.pump(terminal, session, screen)
        #expect(session.state.overlay == .none)
        #expect(!terminal.text.contains("help — ? or Esc closes"))
    }

    @Test("read-only mode drops dangerous keys and refuses dangerous commands")
    func readOnly() throws {
        let (terminal, session, screen) = try Self.started(readOnly: true)
        terminal.enqueue([.character("x")] + Array(":kill 1").map { Key.character($0) } + [.enter])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.nodes.allSatisfy { $0.health == .up })
        #expect(terminal.text.contains("read-only: 'kill 1' would change the cluster"))
        #expect(!session.state.keymap.bindings.contains { $0.isDangerous })
    }

    @Test("with confirmation on, a dangerous key waits for y; anything else cancels")
    func confirmation() throws {
        let (terminal, session, screen) = try Self.started(confirm: true)
        terminal.enqueue([.character("x"), .character("n")])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.nodes.allSatisfy { $0.health == .up })
        terminal.enqueue([.character("x")])
        Self.pump(terminal, session, screen)
        #expect(terminal.text.contains("kill the leader? y to confirm"))
        terminal.enqueue([.character("y")])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.nodes.contains { $0.health == .crashed })
    }

    @Test("the palette keeps history (Up recalls) and completes with Tab")
    func paletteHistory() throws {
        let (terminal, session, screen) = try Self.started()
        terminal.enqueue([.character(":")] + Array("dro").map { Key.character($0) } + [.tab] + Array("5").map { Key.character($0) } + [.enter])
        Self.pump(terminal, session, screen)
        #expect(session.state.snapshot.network.dropPercent == 5)
        terminal.enqueue([.character(":"), .up])
        Self.pump(terminal, session, screen)
        #expect(session.state.palette.text == "drop 5")
        #expect(terminal.text.contains(":drop 5"))
        terminal.enqueue([.escape])
        Self.pump(terminal, session, screen)
        #expect(session.state.overlay == .none)
    }

    @Test("only changed cells are written after the first frame; a resize repaints")
    func diffing() throws {
        let (terminal, session, screen) = try Self.started()
        Self.pump(terminal, session, screen)
        let first = terminal.cellsWritten
        #expect(first == Self.size.width * Self.size.height)
        terminal.enqueue([.character("j")])
        Self.pump(terminal, session, screen)
        let changed = terminal.cellsWritten - first
        #expect(changed > 0 && changed < first / 10)
        terminal.resize(to: Size(width: 100, height: 30))
        Self.pump(terminal, session, screen)
        #expect(terminal.cellsWritten - first - changed >= 100 * 30)
        #expect(terminal.text == session.render(size: Size(width: 100, height: 30)).text)
    }

    @Test("the stepped event is shown; time stays paused")
    func step() throws {
        let (terminal, session, screen) = try Self.started()
        terminal.enqueue([.character(".")])
        Self.pump(terminal, session, screen)
        let now = session.cluster.nowNanos
        #expect(session.state.snapshot.isPaused)
        let step = try #require(session.state.snapshot.lastStep)
        #expect(terminal.text.contains("last step: " + String(step.prefix(20))))
        session.advance(byNanos: 1_000_000_000)
        #expect(session.cluster.nowNanos == now)
    }
}
