/// The checker's answer for a whole history: the worst verdict over its keys, and each key's report.
public struct CheckReport: Sendable, CustomStringConvertible {
    /// Ordered from best to worst: `notLinearizable` beats `unknown` beats `linearizable`.
    public enum Verdict: String, Sendable {
        case linearizable
        case notLinearizable = "not linearizable"
        case unknown

        var severity: Int {
            switch self {
            case .linearizable: 0
            case .unknown: 1
            case .notLinearizable: 2
            }
        }
    }

    public var verdict: Verdict
    /// One report per key, sorted by key.
    public var keys: [KeyReport]

    public init(keys: [KeyReport]) {
        self.keys = keys
        verdict = keys.map(\.verdict).max { $0.severity < $1.severity } ?? .linearizable
    }

    /// One line of totals, then, unless the history is linearizable, the explanation of each key that
    /// failed and then of each key that could not be decided.
    public var description: String {
        let operationCount = keys.reduce(0) { $0 + $1.operationCount }
        let statesExplored = keys.reduce(0) { $0 + $1.statesExplored }
        let keyCount = keys.count == 1 ? "1 key" : "\(keys.count) keys"
        var lines = ["\(verdict.rawValue): \(operationCount) operations on \(keyCount), \(statesExplored) states explored"]
        for verdict in [Verdict.notLinearizable, .unknown] {
            for key in keys where key.verdict == verdict {
                lines.append("key \"\(key.key)\" is \(verdict.rawValue): \(key.explanation)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The checker's answer for one key.
public struct KeyReport: Sendable {
    public var key: String
    public var verdict: CheckReport.Verdict
    /// The key's operations in the history, including those the checker drops.
    public var operationCount: Int
    /// Distinct configurations (placed operations, model state) the search reached.
    public var statesExplored: Int
    /// Why: for a failure, the operation that could not be placed and the longest linearizable prefix.
    public var explanation: String

    public init(key: String, verdict: CheckReport.Verdict, operationCount: Int, statesExplored: Int, explanation: String) {
        self.key = key
        self.verdict = verdict
        self.operationCount = operationCount
        self.statesExplored = statesExplored
        self.explanation = explanation
    }
}
