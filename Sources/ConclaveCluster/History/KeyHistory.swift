/// One key's operations translated for `LinearizationSearch`: sorted by call, strings and clients
/// interned to small integers, outcomes decided (`../shared/HISTORY.md`, and README's "History
/// operations beyond ../shared/HISTORY.md"):
/// - a `get` with unknown outcome or `ok: false` tells nothing and is dropped;
/// - a `put` or `delete` with unknown outcome or `ok: false` (not answered) may or may not have taken
///   effect, so it becomes an operation with unknown outcome;
/// - an `expire` always has unknown outcome;
/// - a refused `fenced-put`, a `cancel`, and a blocking `acquire` that ended refused (or whose wait a
///   `cancel` withdrew while its answer was lost) tell the model nothing and are dropped, and so is
///   a `fenced-put` whose token the history shows granted only on another lock (it can never land);
/// - a `revoke` becomes two operations: its mark (answered like any operation) and the end of its
///   grace (unknown outcome, called with it).
/// A lock key whose history uses any of README's additions is checked with the general `LockModel`;
/// every other lock key keeps the two-integer mutex of HISTORY.md.
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
    /// The general lock model, with the key's configuration (unused for a register or plain mutex).
    private(set) var lockModel = LockModel(configuration: .init())
    let usesGeneralLockModel: Bool
    /// Sorted by `call`, ties by `historyIndex`.
    private(set) var operations: [Operation] = []
    private(set) var droppedCount = 0
    private(set) var unknownOutcomeCount = 0
    private var values = Interner<String>()
    private var clients = Interner<Int>()
    /// The history index of each revoke, by its mark (mark 1 at position 0).
    private var revokeIndices: [Int] = []

    /// Translates `history[index]` for each of `indices`, which must all be operations on `key` and all
    /// of one model (register or lock). Complexity: O(n log n) in the number of operations.
    init(key: String, indices: [Int], in history: [HistoryOperation], rules: HistoryRules) {
        self.key = key
        isLock = indices.first.map { history[$0].kind.isLockOperation } ?? false
        usesGeneralLockModel = isLock && indices.contains { history[$0].needsGeneralLockModel }
        if usesGeneralLockModel { lockModel = LockModel(configuration: Self.configuration(indices: indices, in: history)) }
        let cancelled = Set(HistoryRules.cancelledWaits(indices: indices, in: history).map(\.acquire))
        var translated: [Operation] = []
        translated.reserveCapacity(indices.count)
        for index in indices {
            let operation = history[index]
            precondition(operation.key == key && operation.kind.isLockOperation == isLock)
            let dropped = cancelled.contains(index) && operation.returnTime == nil
                || operation.kind == .fencedPut && rules.isForged(operation)
            let parts = dropped ? [] : translate(operation, historyIndex: index)
            if parts.isEmpty { droppedCount += 1 }
            for part in parts where part.hasUnknownOutcome { unknownOutcomeCount += 1 }
            translated += parts
        }
        // Ties keep translation order, so a revoke's mark comes before the end of its grace.
        operations = translated.enumerated().sorted {
            ($0.element.call, $0.element.historyIndex, $0.offset) < ($1.element.call, $1.element.historyIndex, $1.offset)
        }.map(\.element)
    }

    private static func configuration(indices: [Int], in history: [HistoryOperation]) -> LockModel.Configuration {
        var configuration = LockModel.Configuration()
        for operation in indices.map({ history[$0] }) where operation.kind == .acquire {
            if let capacity = operation.capacity { configuration.capacity = max(configuration.capacity, Int32(capacity)) }
            if operation.waitMillis != nil { configuration.hasWaiters = true }
            if (operation.delayMillis ?? 0) > 0 { configuration.hasLockDelay = true }
        }
        return configuration
    }

    /// The model operations of one history operation: none when it tells nothing.
    private mutating func translate(_ operation: HistoryOperation, historyIndex: Int) -> [Operation] {
        let answered = operation.returnTime != nil
        let outcome: Bool? = answered ? operation.ok : nil
        let effect: ModelEffect
        switch operation.kind {
        case .put: effect = .write(value: values.id(of: operation.value))
        case .delete: effect = .write(value: 0)
        case .get:
            guard answered && operation.ok else { return [] }
            effect = .read(value: values.id(of: operation.output))
        case .cas:
            effect = .compareAndSet(expected: values.id(of: operation.expected), value: values.id(of: operation.value), swapped: outcome)
        case .fencedPut:
            guard outcome != false, let token = operation.token else { return [] }
            effect = .fencedWrite(value: values.id(of: operation.value), token: token)
        case .acquire, .release, .expire:
            guard let lockEffect = lockEffect(of: operation, outcome: outcome) else { return [] }
            effect = lockEffect
        case .revoke:
            return revoke(operation, outcome: outcome, historyIndex: historyIndex)
        case .cancel:
            return []
        }
        // An unanswered write may still land; an expire never has an answer.
        let knownReturn: UInt64? = switch operation.kind {
        case .put, .delete: operation.ok ? operation.returnTime : nil
        case .expire: nil
        case .get, .cas, .acquire, .release, .fencedPut, .revoke, .cancel: operation.returnTime
        }
        return [Operation(call: operation.call, returnTime: knownReturn ?? .max, effect: effect, historyIndex: historyIndex)]
    }

    /// An acquire, release or expire: HISTORY.md's mutex, or the general model's operation.
    private mutating func lockEffect(of operation: HistoryOperation, outcome: Bool?) -> ModelEffect? {
        let client = clients.id(of: operation.kind == .expire ? operation.holder : operation.client)
        guard usesGeneralLockModel else {
            switch operation.kind {
            case .acquire: return .acquire(client: client, token: operation.token, granted: outcome)
            case .release: return .release(client: client, released: outcome)
            default: return .expire(holder: client)
            }
        }
        switch operation.kind {
        case .acquire:
            // A blocking acquire refused was a wait that ended: it took no hold.
            if operation.waitMillis != nil && outcome == false { return nil }
            let mode: LockModel.Mode = switch operation.mode {
            case .shared?: .shared
            case .permits?: .permits(Int32(operation.permits ?? 1))
            case .exclusive?, nil: .exclusive
            }
            return .lock(.acquire(client: client, mode: mode, token: operation.token,
                                  holds: operation.holds.map(Int32.init), granted: outcome))
        case .release: return .lock(.release(client: client, released: outcome))
        default: return .lock(.expire(holder: client))
        }
    }

    /// A revoke's mark, placed like any operation, and the end of its grace, which may come any time
    /// after (or after the history ends). A refused revoke only says nobody held the lock.
    private mutating func revoke(_ operation: HistoryOperation, outcome: Bool?, historyIndex: Int) -> [Operation] {
        revokeIndices.append(historyIndex)
        let mark = Int32(revokeIndices.count)
        let returnTime = operation.returnTime ?? .max
        let marking = Operation(call: operation.call, returnTime: returnTime, effect: .lock(.revoke(mark: mark, done: outcome)),
                                historyIndex: historyIndex)
        guard outcome != false else { return [marking] }
        let lapse = Operation(call: operation.call, returnTime: .max, effect: .lock(.revokeLapse(mark: mark)), historyIndex: historyIndex)
        return [marking, lapse]
    }

    /// The model state in words, e.g. `holds "v7"` or `held by client 4, highest token 41`.
    func describe(_ state: ModelState, locks: LockModel) -> String {
        guard isLock else {
            let value = values.name(of: state.value).map { "holds \"\($0)\"" } ?? "absent"
            return state.highestToken == 0 ? value : "\(value), highest fencing token \(state.highestToken)"
        }
        guard usesGeneralLockModel else {
            let holder = clients.name(of: state.value).map { "held by client \($0)" } ?? "free"
            return "\(holder), highest token \(state.highestToken)"
        }
        let holding = locks.holding(of: state)
        var text = holding.holders.isEmpty ? "free" : "held by " + holding.holders.map(describe).joined(separator: ", ")
        text += ", highest token \(state.highestToken)"
        if holding.delayed { text += ", a lock-delay may run" }
        return text
    }

    /// `client 4 (shared, 2 holds, token 41, revoked by #17)`.
    private func describe(_ holder: LockModel.Holder) -> String {
        var parts: [String] = switch holder.mode {
        case .exclusive: ["exclusive"]
        case .shared: ["shared"]
        case .permits(let count): ["\(count) permits"]
        }
        if holder.holdCount > 1 { parts.append("\(holder.holdCount) holds") }
        parts.append(holder.token == 0 ? "token unknown" : "token \(holder.token)")
        if holder.revokeMark > 0 { parts.append("revoked by #\(revokeIndices[Int(holder.revokeMark) - 1] + 1)") }
        return "client \(clients.name(of: holder.client).map(String.init) ?? "?") (\(parts.joined(separator: ", ")))"
    }
}

extension HistoryOperation {
    /// Whether this operation uses what only the general lock model checks: a revoke, a cancel, or an
    /// acquire that says more than HISTORY.md's exclusive try-lock.
    var needsGeneralLockModel: Bool {
        switch kind {
        case .revoke, .cancel: true
        case .acquire: mode != nil || permits != nil || capacity != nil || waitMillis != nil || delayMillis != nil || holds != nil
        default: false
        }
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
