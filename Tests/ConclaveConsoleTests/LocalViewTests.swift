import Testing
@testable import ConclaveConsole

/// The Local view: the lab's settings keys, what the host is asked to measure, and the drawing.
struct LocalViewTests {
    static func figures(_ strategy: String, operations: Double, lost: Int = 0, settings: LocalLabSettings = LocalLabSettings(),
                        p99: UInt64 = 1_000) -> LocalLabFigures {
        LocalLabFigures(strategy: strategy, title: "\(strategy) lock", note: "why \(strategy) costs", settings: settings,
                        operationsPerSecond: operations, wastedShare: 0.5, p50Nanos: 100, p99Nanos: p99, failedPerSuccess: 2,
                        fairness: 0.75, lostUpdates: lost, perThread: [5, 1, 3])
    }

    @Test("showing the Local view asks the host to measure; leaving it, by any key, asks it to stop")
    func demand() {
        var state = ConsoleState()
        #expect(ConsoleApp.update(&state, .key(.character("9"))) == [.lab(LocalLabSettings())])
        #expect(ConsoleApp.update(&state, .key(.character("?"))) == [])
        _ = ConsoleApp.update(&state, .key(.escape))
        #expect(ConsoleApp.update(&state, .key(.tab)) == [.lab(nil)])
        #expect(state.view == .cluster)
        #expect(ConsoleApp.update(&state, .key(.backTab)) == [.lab(LocalLabSettings())])
    }

    @Test("[ ] step threads through 1…64 and < > the critical section; each change is sent, the ends stay put")
    func keys() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.character("9")))
        #expect(ConsoleApp.update(&state, .key(.character("]"))) == [.lab(LocalLabSettings(threads: 16))])
        for _ in 0..<5 { _ = ConsoleApp.update(&state, .key(.character("]"))) }
        #expect(state.local.settings.threads == 64)
        for _ in 0..<10 { _ = ConsoleApp.update(&state, .key(.character("["))) }
        #expect(state.local.settings.threads == 1)
        #expect(ConsoleApp.update(&state, .key(.character("["))) == [])
        #expect(ConsoleApp.update(&state, .key(.character(">"))) == [.lab(LocalLabSettings(threads: 1, criticalNanos: 1_000))])
        for _ in 0..<9 { _ = ConsoleApp.update(&state, .key(.character("<"))) }
        #expect(state.local.settings.criticalNanos == 0)
        // Outside the Local view the keys are not the lab's.
        _ = ConsoleApp.update(&state, .key(.character("1")))
        #expect(ConsoleApp.update(&state, .key(.character("]"))) == [])
        #expect(state.local.settings.threads == 1)
    }

    @Test("figures replace their strategy's row in arrival order; each strategy's p99 history is bounded")
    func absorb() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .localLab(Self.figures("mutex", operations: 10)))
        _ = ConsoleApp.update(&state, .localLab(Self.figures("spin", operations: 20)))
        for run in 0..<(LocalLabState.historyMax + 5) {
            _ = ConsoleApp.update(&state, .localLab(Self.figures("mutex", operations: 30, p99: UInt64(run))))
        }
        #expect(state.local.figures.map(\.strategy) == ["mutex", "spin"])
        #expect(state.local.figures[0].operationsPerSecond == 30)
        #expect(state.local.p99History["mutex"]?.count == LocalLabState.historyMax)
        #expect(state.local.p99History["mutex"]?.last == Double(LocalLabState.historyMax + 4))
        #expect(state.local.p99History["spin"] == [1_000])
    }

    @Test("the view draws a row per strategy with its counter check, and the selected one's note")
    func drawn() {
        var state = ConsoleState()
        _ = ConsoleApp.update(&state, .key(.character("9")))
        let empty = ConsoleRenderer.render(state, size: Size(width: 120, height: 40)).text
        #expect(empty.contains("waiting for the first measurement"))
        _ = ConsoleApp.update(&state, .localLab(Self.figures("mutex", operations: 2_000_000)))
        _ = ConsoleApp.update(&state, .localLab(Self.figures("unlocked", operations: 3_000_000, lost: 42)))
        _ = ConsoleApp.update(&state, .key(.down))
        let text = ConsoleRenderer.render(state, size: Size(width: 120, height: 40)).text
        #expect(text.contains("8 threads · critical 100 ns"))
        #expect(text.contains("mutex lock"))
        #expect(text.contains("LOST 42"))
        #expect(text.contains("unlocked lock: why unlocked costs"))
        #expect(text.contains("0.75"))
        // At 80 columns all nine tabs still fit.
        let narrow = ConsoleRenderer.render(state, size: Size(width: 80, height: 24)).text
        #expect(narrow.split(separator: "\n")[1].contains("9Local"))
    }
}
