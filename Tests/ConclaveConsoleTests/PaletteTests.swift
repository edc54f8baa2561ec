import Testing
@testable import ConclaveConsole

@Suite struct PaletteTests {
    @Test("commands parse to controls", arguments: [
        ("kill 3", PaletteCommand.control(.kill(.id(3)))),
        ("kill leader", .control(.kill(.leader))),
        ("restart all", .control(.restartAll)),
        ("partition 1,2 | 3,4,5", .control(.partition([[.id(1), .id(2)], [.id(3), .id(4), .id(5)]]))),
        ("partition leader|2", .control(.partition([[.leader], [.id(2)]]))),
        ("drop 10%", .control(.drop(percent: 10))),
        ("delay 50ms", .control(.delay(millis: 50))),
        ("pause 2 1.5s", .control(.pause(.id(2), millis: 1_500))),
        ("skew 4 -2000", .control(.skew(.id(4), millis: -2_000))),
        ("lock acquire orders --client 7 --ttl 5s", .control(.lockAcquire(name: "orders", client: 7, ttlMillis: 5_000))),
        ("lock release orders", .control(.lockRelease(name: "orders", client: 1))),
        ("lock write orders stock=40 --client 2", .control(.lockWrite(name: "orders", key: "stock", value: "40", client: 2))),
        ("expire 3", .control(.expireSession(client: 3))),
        ("contention 80", .control(.workload(.contention, 80))),
        ("speed 0.5x", .control(.time(.speed(0.5)))),
        ("step", .control(.time(.step))),
        ("breaker node-2 open", .control(.breaker(name: "node-2", .open))),
        ("view locks", .showView(.locks)),
        ("  KILL   2 ", .control(.kill(.id(2)))),
    ])
    func parses(line: String, expected: PaletteCommand) throws {
        #expect(try PaletteParser.parse(line) == expected)
    }

    @Test("bad commands say what was expected", arguments: [
        ("kill", "kill takes 1 argument, got 0; usage: :kill NODE|leader"),
        ("kill three", "'three' is not a node: give a node number (1, 2, …) or 'leader'"),
        ("kill 0", "'0' is not a node"),
        ("partition 1,2 |", "partition needs groups of nodes separated by '|'"),
        ("drop 150", "'150' is not a percentage 0…100"),
        ("pause 2 soon", "'soon' is not a duration like 500ms, 3s, 2m"),
        ("speed 500", "speed: '500' is not a number in 0.01…100"),
        ("lock grab x", "lock needs acquire, release or write and a lock name"),
        ("lock write orders stock", "lock write needs KEY=VALUE after the lock name"),
        ("lock acquire x --tll 5s", "unknown option '--tll'; accepted: --client C, --ttl DURATION"),
        ("lock acquire x --ttl", "--ttl needs a value"),
        ("kil 3", "unknown command 'kil'; did you mean kill?"),
        ("", "empty command"),
        ("breaker node-1 explode", "'explode' is not open, disable or reset"),
        ("view 10", "view: '10' is not 1…9 or a view name"),
    ])
    func errors(line: String, message: String) {
        #expect {
            try PaletteParser.parse(line)
        } throws: { error in
            (error as? PaletteError)?.message.contains(message) == true
        }
    }

    @Test("Tab completes the command name to the longest shared prefix")
    func completion() {
        #expect(PaletteParser.complete("ki").completed == "kill ")
        let re = PaletteParser.complete("re")
        #expect(re.candidates == ["restart", "remove", "revoke"])
        #expect(re.completed == "re")
        #expect(PaletteParser.complete("lock a").completed == "lock acquire ")
        #expect(PaletteParser.complete("zzz").candidates.isEmpty)
    }
}
