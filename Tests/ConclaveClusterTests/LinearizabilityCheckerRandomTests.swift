import ConclaveCluster
import Testing

@Suite struct LinearizabilityCheckerRandomTests {
    static let seeds: [UInt64] = Array(1...40)

    @Test("a history generated from a sequential run passes", arguments: RandomHistory.Model.allCases, seeds)
    func generatedHistoryPasses(model: RandomHistory.Model, seed: UInt64) {
        let report = LinearizabilityChecker().check(RandomHistory.generate(model, seed: seed))
        #expect(report.verdict == .linearizable, "\(model) seed \(seed): \(report)")
    }

    /// For a register, a get in the middle now reads a value never written; for a lock, a grant in the
    /// middle now carries token 0, which no grant can have (tokens start above 0 and grow).
    @Test("one answer changed to an impossible one makes a generated history fail, and the report names it",
          arguments: RandomHistory.Model.allCases, seeds)
    func brokenHistoryFails(model: RandomHistory.Model, seed: UInt64) throws {
        var history = RandomHistory.generate(model, seed: seed)
        let isTarget: (HistoryOperation) -> Bool = switch model {
        case .register: { $0.kind == .get && $0.returnTime != nil }
        case .lock: { $0.token != nil }
        }
        let targets = history.indices.filter { isTarget(history[$0]) }
        let victim = try #require(targets.dropFirst(targets.count / 2).first)
        switch model {
        case .register: history[victim].output = "never written"
        case .lock: history[victim].token = 0
        }
        let report = LinearizabilityChecker().check(history)
        #expect(report.verdict == .notLinearizable, "\(model) seed \(seed)")
        #expect(report.description.contains("#\(victim + 1) "), "the report names the changed operation: \(report)")
    }

    @Test("many keys are checked apart: interleaved histories of ten keys pass, in any input order")
    func interleavedKeysPass() {
        var history: [HistoryOperation] = []
        for keyNumber in 0..<10 {
            let model: RandomHistory.Model = keyNumber.isMultiple(of: 2) ? .register : .lock
            history += RandomHistory.generate(model, seed: UInt64(keyNumber), key: "key\(keyNumber)", clientCount: 10, count: 300)
        }
        let forward = LinearizabilityChecker().check(history)
        #expect(forward.verdict == .linearizable, "\(forward)")
        #expect(forward.keys.map(\.key) == (0..<10).map { "key\($0)" })
        let backward = LinearizabilityChecker().check(history.reversed())
        #expect(backward.verdict == .linearizable, "\(backward)")
    }
}
