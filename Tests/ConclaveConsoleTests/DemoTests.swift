import Foundation
import Testing
@testable import ConclaveConsole

@Suite struct DemoTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("demos")
    static let names = ["lock-contention", "fencing", "split-brain", "election", "biased-shuffle", "breaker-trip", "clock-rollback",
                         "local-vs-distributed", "duelling-proposers", "paxos-vs-raft"]

    @Test("each demo parses and plays to its end with every expect holding", arguments: names)
    func plays(name: String) throws {
        let url = Self.directory.appendingPathComponent("\(name).demo")
        let script = try DemoScript.parse(try String(contentsOf: url, encoding: .utf8), name: name, file: url.path)
        #expect(script.steps.contains { if case .expect = $0.step { true } else { false } })
        let player = try DemoPlayer(script: script, size: Size(width: 120, height: 40))
        let captures = player.runToEnd()
        #expect(player.failures == [])
        #expect(captures.count == script.steps.filter { if case .pause = $0.step { true } else { false } }.count + 1)
        #expect(captures.last?.frame.text.contains(script.title) == true)
    }

    @Test("a lab step sets the Local view's threads and hands each strategy to the host, in order")
    func labStep() throws {
        let script = try DemoScript.parse("title t\nview 9\nlab channel,async 16 200ms\nexpect 16 threads", name: "lab", file: "lab.demo")
        let player = try DemoPlayer(script: script, size: Size(width: 120, height: 40))
        var asked: [(String, Int, UInt64)] = []
        _ = player.runToEnd { strategy, settings, millis in
            asked.append((strategy, settings.threads, millis))
            return LocalLabFigures(strategy: strategy, title: "the \(strategy) lock", note: "", settings: settings, operationsPerSecond: 1,
                                   wastedShare: 0, p50Nanos: 1, p99Nanos: 1, failedPerSuccess: 0, fairness: 1, lostUpdates: 0, perThread: [1])
        }
        #expect(asked.map(\.0) == ["channel", "async"])
        #expect(asked.allSatisfy { $0.1 == 16 && $0.2 == 200 })
        #expect(player.failures == [])
        #expect(player.session.state.local.figures.map(\.title) == ["the channel lock", "the async lock"])
    }

    @Test("a failing expect is reported with file and line")
    func failingExpect() throws {
        let script = try DemoScript.parse("title t\nrun 1s\nexpect no such text anywhere", name: "mine", file: "mine.demo")
        let player = try DemoPlayer(script: script, size: Size(width: 100, height: 30))
        _ = player.runToEnd()
        #expect(player.failures == ["mine:3: expected the screen to show 'no such text anywhere'"])
    }

    @Test("bad demo files name the line and what is accepted", arguments: [
        ("title x\nwait 3s", 2, "unknown step 'wait'; accepted: title, seed"),
        ("run soon", 1, "run needs a duration like 500ms or 3s"),
        ("do kill nine", 1, "do kill nine: 'nine' is not a node"),
        ("view 12", 1, "view must be 1…9"),
        ("seed -1", 1, "seed must be a whole number"),
        ("\n\nkeys <Nope>", 3, "unknown key <Nope>"),
        ("expect", 1, "'expect' needs text to look for"),
        ("lab spin 65 1s", 1, "lab needs STRATEGIES THREADS DURATION"),
        ("lab spin 8 20s", 1, "threads 1…64, 10ms…10s"),
        ("lab spin", 1, "got 'spin'"),
    ])
    func errors(text: String, line: Int, reason: String) {
        #expect {
            try DemoScript.parse(text, name: "bad", file: "bad.demo")
        } throws: { error in
            guard let error = error as? DemoError else { return false }
            return error.line == line && error.file == "bad.demo" && error.reason.contains(reason)
        }
    }
}
