import Testing
@testable import ConclaveConsole

/// The update function alone, on a bare state: filters, key scripts, and the bounds on histories.
@Suite struct ConsoleStateTests {
    static func type(_ text: String, into state: inout ConsoleState) -> [ConsoleCommand] {
        text.flatMap { ConsoleApp.update(&state, .key(.character($0))) }
    }

    @Test("the filter matches substrings case-insensitively, regexes after ~, and reports a bad regex")
    func filter() {
        #expect(ConsoleFilter.matches("LOCK-1", "lock-10"))
        #expect(!ConsoleFilter.matches("lock-2", "lock-10"))
        #expect(ConsoleFilter.apply("~^lock-[13]$", to: ["lock-1", "lock-2", "lock-3", "lock-13"]) == ["lock-1", "lock-3"])
        #expect(ConsoleFilter.problem("~[unclosed")?.contains("bad regex '[unclosed'") == true)
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.character("/")))
        _ = Self.type("~[x", into: &state)
        _ = ConsoleApp.update(&state, .key(.enter))
        #expect(state.messageIsError)
        #expect(state.message?.contains("a leading ~ means regex") == true)
        _ = ConsoleApp.update(&state, .key(.escape))
        #expect(state.filter.isEmpty)
    }

    @Test("a key script: spaces separate groups, <Space> is the key, <Name> keys parse, bad names are refused")
    func keyScript() throws {
        #expect(try HeadlessRun.parse("2 :k<Enter>") == [.key(.character("2")), .space, .key(.character(":")), .key(.character("k")), .key(.enter)])
        #expect(try HeadlessRun.parse("<Space><lt><C-c><F2>") == [.key(.character(" ")), .key(.character("<")), .key(.control("c")), .key(.function(2))])
        #expect(throws: KeyParseError(name: "Entr")) { try HeadlessRun.parse("<Entr>") }
    }

    @Test("palette history keeps the last 100 lines")
    func historyBound() {
        var state = ConsoleState()
        for number in 0..<(PaletteInput.historyMax + 20) {
            _ = ConsoleApp.update(&state, .key(.character(":")))
            _ = Self.type("speed \(number % 50 + 1)", into: &state)
            _ = ConsoleApp.update(&state, .key(.enter))
        }
        #expect(state.palette.history.count == PaletteInput.historyMax)
        #expect(state.palette.history.last == "speed \((PaletteInput.historyMax + 19) % 50 + 1)")
    }

    @Test("typed palette text is capped at 200 characters")
    func paletteTextBound() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.character(":")))
        _ = Self.type(String(repeating: "a", count: 300), into: &state)
        #expect(state.palette.text.count == 200)
    }

    @Test("the event log and leader timeline stay bounded however much happens")
    func clusterHistoriesBounded() throws {
        let cluster = try EmbeddedCluster(seed: 11)
        cluster.advance(until: 1_000_000_000)
        for round in 0..<(ClusterSnapshot.eventsMax / 2 + 10) {
            _ = cluster.apply(.workload(.rate, round % 2 == 0 ? 10 : 11))
            _ = cluster.apply(.kill(.id(99)))  // refused: still a log line
        }
        let snapshot = cluster.snapshot()
        #expect(snapshot.events.count == ClusterSnapshot.eventsMax)
        #expect(snapshot.events.last?.text.contains("no node 99") == true)
        #expect(snapshot.leaderTimeline.count <= ClusterSnapshot.timelineMax)
    }

    @Test("switching views wraps around with Tab and Shift-Tab")
    func viewCycle() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.backTab))
        #expect(state.view == .local)
        _ = ConsoleApp.update(&state, .key(.tab))
        #expect(state.view == .cluster)
    }

    @Test("q and Ctrl-C quit; a key inside the palette is text, not a binding")
    func quitting() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.character(":")))
        #expect(ConsoleApp.update(&state, .key(.character("q"))) == [])
        #expect(state.palette.text == "q")
        #expect(ConsoleApp.update(&state, .key(.control("c"))) == [.quit])
        var other = ConsoleState()
        #expect(ConsoleApp.update(&other, .key(.character("q"))) == [.quit])
    }

    @Test("messages per pair: none cross a partition, the majority's leader talks to its followers")
    func pairRates() throws {
        let cluster = try EmbeddedCluster(seed: 7)
        cluster.advance(until: 2_000_000_000)
        _ = cluster.apply(.partition([[.id(1), .id(2)], [.id(3), .id(4), .id(5)]]))
        cluster.advance(until: 5_000_000_000)
        let links = cluster.snapshot().links
        for source in 0..<2 {
            for target in 2..<5 {
                #expect(links[source][target].messagesPerSecond == 0)
                #expect(links[target][source].messagesPerSecond == 0)
            }
        }
        let leader = try #require(cluster.snapshot().leader)
        #expect(leader.id >= 3)
        let row = Int(leader.id) - 1
        for target in 2..<5 where target != row { #expect(links[row][target].messagesPerSecond > 50) }
    }
}
