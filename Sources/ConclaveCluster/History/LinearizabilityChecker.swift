/// Decides whether a history of KV and lock operations is linearizable (`../shared/HISTORY.md`).
///
/// Each key is checked on its own (linearizability is compositional: the history is linearizable iff
/// every key's sub-history is), against a register for `put`/`get`/`cas`/`delete`/`fenced-put` or a
/// lock with fencing tokens for `acquire`/`release`/`expire`/`revoke`/`cancel` (HISTORY.md's mutex, or
/// the general `LockModel` for a key that uses README's additions), by `LinearizationSearch`. Before
/// the search, `HistoryRules` checks what no order can excuse (a fenced write with another lock's
/// token accepted, a cancelled wait granted). The verdict is the worst over keys. A key that mixes KV
/// and lock operations fits neither model and is reported not linearizable, with that reason, rather
/// than rejected as a whole: the other keys still get checked.
///
/// Deterministic: no clock and no per-process hashing reaches the result; the only budget is
/// `maxStatesPerKey`, and a key that exceeds it is `unknown`, never a pass.
public struct LinearizabilityChecker {
    /// How many distinct configurations the search may explore on one key before it gives up.
    public let maxStatesPerKey: Int

    /// How many operations a failure report lists at most, so that reports stay readable.
    static let reportedOperationsMax = 8

    public init(maxStatesPerKey: Int = 2_000_000) {
        precondition((1...1_000_000_000).contains(maxStatesPerKey), "maxStatesPerKey must be in 1...1_000_000_000")
        self.maxStatesPerKey = maxStatesPerKey
    }

    /// Checks `operations`, in any order, key by key in key order; with `stoppingAtFirstFailure`, keys
    /// after the first one not proven linearizable are left out of the report (the run has failed, and
    /// proving more keys wrong only costs time). Complexity: per key, O(states explored × operations in
    /// flight at once), the states bounded by `maxStatesPerKey`; in the common case about linear.
    public func check(_ operations: [HistoryOperation], stoppingAtFirstFailure: Bool = false) -> CheckReport {
        var indicesByKey: [String: [Int]] = [:]
        for (index, operation) in operations.enumerated() {
            indicesByKey[operation.key, default: []].append(index)
        }
        let rules = HistoryRules(operations)
        var reports: [KeyReport] = []
        for key in indicesByKey.keys.sorted() {
            reports.append(check(key: key, indices: indicesByKey[key]!, in: operations, rules: rules))
            if stoppingAtFirstFailure && reports.last?.verdict != .linearizable { break }
        }
        return CheckReport(keys: reports)
    }

    private func check(key: String, indices: [Int], in operations: [HistoryOperation], rules: HistoryRules) -> KeyReport {
        if let mixed = mixedModelExplanation(indices: indices, in: operations) {
            return KeyReport(key: key, verdict: .notLinearizable, operationCount: indices.count, statesExplored: 0, explanation: mixed)
        }
        if let broken = rules.violation(indices: indices, in: operations, name: { Self.name($0, in: operations) }) {
            return KeyReport(key: key, verdict: .notLinearizable, operationCount: indices.count, statesExplored: 0, explanation: broken)
        }
        let history = KeyHistory(key: key, indices: indices, in: operations, rules: rules)
        var search = LinearizationSearch(operations: history.operations, locks: history.lockModel, stateLimit: maxStatesPerKey)
        let result = search.run()
        let verdict: CheckReport.Verdict
        let explanation: String
        switch result.outcome {
        case .linearizable:
            verdict = .linearizable
            explanation = "\(history.operations.count) operations placed in a valid order\(Self.adjustments(of: history))"
        case .notLinearizable:
            verdict = .notLinearizable
            explanation = Self.failureExplanation(result, history: history, in: operations)
        case .budgetExhausted:
            verdict = .unknown
            explanation = "gave up after exploring \(result.statesExplored) states (maxStatesPerKey is \(maxStatesPerKey)); "
                + Self.prefixSummary(result, history: history, in: operations)
        }
        return KeyReport(key: key, verdict: verdict, operationCount: indices.count, statesExplored: result.statesExplored, explanation: explanation)
    }

    /// Why a key with both KV and lock operations fits no model, or `nil` when it holds only one kind.
    private func mixedModelExplanation(indices: [Int], in operations: [HistoryOperation]) -> String? {
        guard let lockIndex = indices.first(where: { operations[$0].kind.isLockOperation }),
              let registerIndex = indices.first(where: { !operations[$0].kind.isLockOperation })
        else { return nil }
        return "the key has both KV operations (first: \(Self.name(registerIndex, in: operations))) and lock operations "
            + "(first: \(Self.name(lockIndex, in: operations))); a key is either a register or a lock, so no model fits it"
    }
}

// MARK: - Explanations

extension LinearizabilityChecker {
    private static func adjustments(of history: KeyHistory) -> String {
        var notes: [String] = []
        if history.unknownOutcomeCount > 0 { notes.append("\(history.unknownOutcomeCount) with unknown outcome") }
        if history.droppedCount > 0 { notes.append("\(history.droppedCount) gets that tell nothing dropped") }
        return notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"
    }

    private static func failureExplanation(
        _ result: LinearizationSearch.Result, history: KeyHistory, in operations: [HistoryOperation]
    ) -> String {
        var text = "no order of its operations respects both real time and the \(history.isLock ? "lock" : "register"); "
        text += prefixSummary(result, history: history, in: operations)
        if let blocking = result.blockingOperation {
            let blockingIndex = history.operations[blocking].historyIndex
            text += ". Then \(name(blockingIndex, in: operations)) could not be placed before it returned"
            let candidates = result.candidates.map { history.operations[$0].historyIndex }
            if !candidates.isEmpty {
                text += "; the other operations called by then were tried before it: " + list(candidates, in: operations)
            }
        }
        return text
    }

    /// The longest linearizable prefix found: its length, its last operations, and the state it leaves.
    private static func prefixSummary(
        _ result: LinearizationSearch.Result, history: KeyHistory, in operations: [HistoryOperation]
    ) -> String {
        let prefix = result.longestPrefix.map { history.operations[$0].historyIndex }
        var text = "the longest linearizable prefix found places \(prefix.count) of \(history.operations.count) operations"
        if !prefix.isEmpty {
            text += ", ending with " + list(Array(prefix.suffix(3)), in: operations)
        }
        return text + "; after it the \(history.isLock ? "lock is" : "key") \(history.describe(result.stateAfterPrefix, locks: result.locks))"
    }

    /// Up to `reportedOperationsMax` operations, then how many more there were.
    private static func list(_ indices: [Int], in operations: [HistoryOperation]) -> String {
        var text = indices.prefix(reportedOperationsMax).map { name($0, in: operations) }.joined(separator: "; ")
        if indices.count > reportedOperationsMax { text += "; and \(indices.count - reportedOperationsMax) more" }
        return text
    }

    /// An operation as `#12 client 4 get "k1" -> "v1" [1201000, 1204000]`: its 1-based position in the
    /// checked history (the line number when a file without blank lines was read) and what it did.
    static func name(_ index: Int, in operations: [HistoryOperation]) -> String {
        "#\(index + 1) \(operations[index])"
    }
}
