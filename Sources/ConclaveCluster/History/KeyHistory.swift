/// One key's operations translated for `LinearizationSearch`: sorted by call, strings and clients
/// interned to small integers, outcomes decided (`../shared/HISTORY.md`):
/// - a `get` with unknown outcome or `ok: false` tells nothing and is dropped;
/// - a `put` or `delete` with unknown outcome or `ok: false` (not answered) may or may not have taken
///   effect, so it becomes an operation with unknown outcome;
/// - an `expire` always has unknown outcome.
/// An operation with unknown outcome gets `returnTime == .max` (+infinity); so does, harmlessly, one
/// answered at the very last nanosecond a `UInt64` holds.
struct KeyHistory {
    /// One operation of the key, ready for the search.
    struct Operation {
        var call: UInt64
        /// `.max` when the outcome is unknown.
        var returnTime: UInt64
        var effect: ModelEffect
        /// The operation's position in the history given to the checker.
        var historyIndex: Int

        var hasUnknownOutcome: Bool { returnTime == .max }
    }

    let key: String
    let isLock: Bool
    /// Sorted by `call`, ties by `historyIndex`.
    private(set) var operations: [Operation] = []
    private(set) var droppedCount = 0
    private(set) var unknownOutcomeCount = 0
    private var values = Interner<String>()
    private var clients = Interner<Int>()

    /// Translates `history[index]` for each of `indices`, which must all be operations on `key` and all
    /// of one model (register or lock). Complexity: O(n log n) in the number of operations.
    init(key: String, indices: [Int], in history: [HistoryOperation]) {
        self.key = key
        isLock = indices.first.map { history[$0].kind.isLockOperation } ?? false
        operations.reserveCapacity(indices.count)
        for index in indices {
            let operation = history[index]
            precondition(operation.key == key && operation.kind.isLockOperation == isLock)
            guard let translated = translate(operation, historyIndex: index) else {
                droppedCount += 1
                continue
            }
            if translated.hasUnknownOutcome { unknownOutcomeCount += 1 }
            operations.append(translated)
        }
        operations.sort { ($0.call, $0.historyIndex) < ($1.call, $1.historyIndex) }
    }

    /// `nil` for an operation that tells nothing and is left out.
    private mutating func translate(_ operation: HistoryOperation, historyIndex: Int) -> Operation? {
        let answered = operation.returnTime != nil
        let outcome: Bool? = answered ? operation.ok : nil
        let effect: ModelEffect
        switch operation.kind {
        case .put: effect = .write(value: values.id(of: operation.value))
        case .delete: effect = .write(value: 0)
        case .get:
            guard answered && operation.ok else { return nil }
            effect = .read(value: values.id(of: operation.output))
        case .cas:
            effect = .compareAndSet(expected: values.id(of: operation.expected), value: values.id(of: operation.value), swapped: outcome)
        case .acquire: effect = .acquire(client: clients.id(of: operation.client), token: operation.token, granted: outcome)
        case .release: effect = .release(client: clients.id(of: operation.client), released: outcome)
        case .expire: effect = .expire(holder: clients.id(of: operation.holder))
        }
        // An unanswered write may still land; an expire never has an answer.
        let knownReturn: UInt64? = switch operation.kind {
        case .put, .delete: operation.ok ? operation.returnTime : nil
        case .expire: nil
        case .get, .cas, .acquire, .release: operation.returnTime
        }
        return Operation(call: operation.call, returnTime: knownReturn ?? .max, effect: effect, historyIndex: historyIndex)
    }

    /// The model state in words, e.g. `holds "v7"` or `held by client 4, highest token 41`.
    func describe(_ state: ModelState) -> String {
        if isLock {
            let holder = clients.name(of: state.value).map { "held by client \($0)" } ?? "free"
            return "\(holder), highest token \(state.highestToken)"
        }
        return values.name(of: state.value).map { "holds \"\($0)\"" } ?? "absent"
    }
}

/// Small integers for the values or clients of one key, so that model states compare as integers:
/// 0 stands for none (an absent value, no client), then 1, 2, … in order of first use.
private struct Interner<Name: Hashable> {
    private var ids: [Name: Int32] = [:]
    private var names: [Name] = []

    mutating func id(of name: Name?) -> Int32 {
        guard let name else { return 0 }
        if let id = ids[name] { return id }
        names.append(name)
        let id = Int32(names.count)
        ids[name] = id
        return id
    }

    /// The name of `id`, `nil` for 0.
    func name(of id: Int32) -> Name? {
        id == 0 ? nil : names[Int(id) - 1]
    }
}
