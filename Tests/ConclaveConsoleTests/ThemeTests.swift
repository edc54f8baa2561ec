import Foundation
import Testing
@testable import ConclaveConsole

@Suite struct ThemeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("every built-in theme parses and styles every role", arguments: Theme.builtinNames)
    func builtins(name: String) throws {
        let theme = try #require(Theme.builtin(name))
        #expect(theme.name == name)
        #expect(Set(theme.styles.keys) == Set(Role.allCases))
    }

    @Test("the compiled-in themes are the files in themes/ (run scripts/gen-builtin-themes)", arguments: Theme.builtinNames)
    func filesMatch(name: String) throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("themes/\(name).toml"), encoding: .utf8)
        #expect(file.trimmingCharacters(in: .newlines) == BuiltinThemes.text[name]?.trimmingCharacters(in: .newlines))
    }

    @Test("a bad theme names file, line and key", arguments: [
        ("[roles]\n\"node.leeder\" = \"red\"", 2, "node.leeder", "unknown role"),
        ("name = \"x\"\n[roles]\n\"node.leader\" = \"purplish bold\"", 3, "node.leader", "unknown colour 'purplish'"),
        ("[roles]\n\"node.down\" = 5", 2, "node.down", "value must be a quoted string"),
        ("[roles]\n\"node.down\" = red", 2, "", "not valid TOML"),
        ("[colours]", 1, "colours", "unknown table"),
        ("[roles]\n\"lock.held\" = \"red on\"", 2, "lock.held", "'on' needs a background"),
        ("[palette]\nleader = \"#12345\"", 2, "leader", "unknown colour"),
        ("[roles]\njust words", 2, "", "not valid TOML"),
        ("name = 5", 1, "name", "value must be a quoted string"),
        ("colour = \"red\"", 1, "colour", "unknown top-level key; accepted: name"),
    ])
    func errors(text: String, line: Int, key: String, reason: String) {
        #expect {
            try ThemeParser.parse(text, file: "my.toml")
        } throws: { error in
            guard let error = error as? ThemeError else { return false }
            return error.file == "my.toml" && error.line == line && error.key == key && error.description.contains(reason)
        }
    }

    @Test("palette names, attributes and backgrounds")
    func styles() throws {
        let theme = try ThemeParser.parse("""
            # comment
            [palette]
            ok = "#00ff00"  # trailing comment
            [roles]
            "node.leader" = "ok on black bold underline"
            "node.down" = "color196 reverse"
            """, file: "t.toml")
        let leader = theme.style(.nodeLeader)
        #expect(leader.foreground == .rgb(0, 255, 0))
        #expect(leader.background == .ansi(0))
        #expect(leader.bold && leader.underline && !leader.reverse)
        #expect(theme.style(.nodeDown).foreground == .indexed(196))
    }

    @Test("colours come down to 256, 16 and none")
    func downgrade() {
        let red = Color.rgb(255, 0, 0)
        #expect(red.downgraded(to: .indexed256) == .indexed(196))
        #expect(red.downgraded(to: .sixteen) == .ansi(9))
        #expect(red.downgraded(to: .none) == .terminalDefault)
        #expect(Color.rgb(128, 128, 128).downgraded(to: .indexed256) == .indexed(244))
        #expect(Color.indexed(34).downgraded(to: .sixteen) == .ansi(2))
        #expect(ColorDepth.from(colors: 256, noColor: true) == .none)
        #expect(ColorDepth.from(colors: 8, noColor: false) == .sixteen)
        #expect(ColorDepth.from(colors: 256, noColor: false) == .indexed256)
        let plain = Theme.builtin("default")!.downgraded(to: .none)
        #expect(plain.style(.nodeLeader).bold)
        #expect(plain.style(.nodeLeader).foreground == .terminalDefault)
    }
}
