import ConclaveCluster
import Testing

@Suite struct CheckReportTests {
    static let lostWrite: [HistoryOperation] = [
        .put(client: 1, "a", from: 0, to: 1),
        .put(client: 2, "b", from: 2, to: 3),
        .get(client: 3, "a", from: 10, to: 11),
    ]

    @Test("a failure names the key, the operation that could not be placed and the longest prefix")
    func failureExplained() throws {
        let report = LinearizabilityChecker().check(Self.lostWrite)
        let key = try #require(report.keys.first)
        #expect(report.verdict == .notLinearizable)
        #expect(key.key == "x" && key.verdict == .notLinearizable && key.operationCount == 3)
        #expect(report.description.hasPrefix("not linearizable: 3 operations on 1 key,"))
        #expect(report.description.contains(#"key "x" is not linearizable"#))
        #expect(key.explanation.contains("the longest linearizable prefix found places 2 of 3 operations"))
        #expect(key.explanation.contains(#"#2 client 2 put "x" = "b" [2, 3]; after it the key holds "b""#))
        #expect(key.explanation.contains(#"Then #3 client 3 get "x" -> "a" [10, 11] could not be placed before it returned"#))
    }

    @Test("the verdict is the worst over keys, and keys are reported in order")
    func worstVerdictWins() {
        let good = HistoryOperation.put(client: 1, key: "b-good", "v", from: 0, to: 1)
        let bad = Self.lostWrite.map { operation in
            var operation = operation
            operation.key = "a-bad"
            return operation
        }
        let report = LinearizabilityChecker().check([good] + bad)
        #expect(report.verdict == .notLinearizable)
        #expect(report.keys.map(\.key) == ["a-bad", "b-good"])
        #expect(report.keys.map(\.verdict) == [.notLinearizable, .linearizable])
        #expect(LinearizabilityChecker().check([]).verdict == .linearizable)
    }

    /// Ten clients that all put at once, then a get that sees the first put: many orders to try.
    static let contended: [HistoryOperation] = (1...10).map {
        .put(client: $0, "v\($0)", from: UInt64($0), to: 100)
    } + [.get(client: 11, "v1", from: 200, to: 201)]

    @Test("running out of states gives unknown, never a pass, even for a linearizable history")
    func budgetExhaustionIsUnknown() throws {
        #expect(LinearizabilityChecker().check(Self.contended).verdict == .linearizable)
        let report = LinearizabilityChecker(maxStatesPerKey: 5).check(Self.contended)
        let key = try #require(report.keys.first)
        #expect(report.verdict == .unknown)
        #expect(key.verdict == .unknown && key.statesExplored == 6)
        #expect(key.explanation.hasPrefix("gave up after exploring 6 states (maxStatesPerKey is 5)"))
        var failing = Self.contended
        failing[10].output = "v0"
        #expect(LinearizabilityChecker(maxStatesPerKey: 5).check(failing).verdict == .unknown)
        #expect(LinearizabilityChecker().check(failing).verdict == .notLinearizable)
    }

    @Test("unknown outweighs linearizable but not a failure on another key")
    func unknownRanksBetween() {
        let other = HistoryOperation.put(client: 20, key: "y", "w", from: 0, to: 1)
        #expect(LinearizabilityChecker(maxStatesPerKey: 5).check(Self.contended + [other]).verdict == .unknown)
        let broken = HistoryOperation.get(client: 21, key: "y", "never", from: 2, to: 3)
        #expect(LinearizabilityChecker(maxStatesPerKey: 5).check(Self.contended + [other, broken]).verdict == .notLinearizable)
    }

    @Test("a key with both KV and lock operations fits no model and is reported as such")
    func mixedKeyRejected() throws {
        let report = LinearizabilityChecker().check([
            .put(client: 1, key: "k", "v", from: 0, to: 1),
            .acquire(client: 2, lock: "k", token: 1, from: 2, to: 3),
        ])
        let key = try #require(report.keys.first)
        #expect(report.verdict == .notLinearizable)
        #expect(key.explanation.contains("the key has both KV operations (first: #1 client 1 put"))
        #expect(key.explanation.contains("lock operations (first: #2 client 2 acquire"))
    }

    @Test("checking is deterministic: the same history gives the same report")
    func deterministic() {
        let history = RandomHistory.generate(.register, seed: 99, clientCount: 8, count: 400)
        #expect(LinearizabilityChecker().check(history).description == LinearizabilityChecker().check(history).description)
    }
}
