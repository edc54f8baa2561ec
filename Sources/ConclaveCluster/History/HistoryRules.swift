/// The checks of a history that are not a search for an order (README, "History operations beyond
/// ../shared/HISTORY.md"): facts that no linearization can excuse, read off the whole history.
///
/// - A fenced write carrying a token the history shows granted only on another lock must never be
///   accepted, and its value must never be read: fencing is per lock, so a holder of lock B must not
///   be able to write what lock A guards.
/// - A blocking acquire whose wait a `cancel` withdrew (`ok: true`) must not be granted.
///
/// Tokens are looked up across keys, so these rules see the whole history, not one key's.
/// Complexity: O(n) to build, then O(operations of the key) per key.
struct HistoryRules {
    /// The locks that granted each token the history shows granted, in history order.
    private var tokenLocks: [UInt64: [String]] = [:]
    /// The first acquire that showed each (token, lock), for reports.
    private var tokenGrants: [UInt64: Int] = [:]

    init(_ operations: [HistoryOperation]) {
        for (index, operation) in operations.enumerated()
        where operation.kind == .acquire && operation.ok && operation.returnTime != nil {
            guard let token = operation.token else { continue }
            if tokenGrants[token] == nil { tokenGrants[token] = index }
            if !(tokenLocks[token]?.contains(operation.key) ?? false) { tokenLocks[token, default: []].append(operation.key) }
        }
    }

    /// A fenced write whose token the history shows granted, but never on the lock it names.
    func isForged(_ operation: HistoryOperation) -> Bool {
        guard operation.kind == .fencedPut, let token = operation.token, let lock = operation.lock,
              let locks = tokenLocks[token] else { return false }
        return !locks.contains(lock)
    }

    /// Why `key`'s operations break a rule, or `nil` when they keep every one. `name` says an
    /// operation as reports do.
    func violation(indices: [Int], in operations: [HistoryOperation], name: (Int) -> String) -> String? {
        var forgedValues: [String: Int] = [:]
        for index in indices where isForged(operations[index]) {
            let operation = operations[index]
            if operation.returnTime != nil && operation.ok {
                return forgedExplanation(index, in: operations, name: name) + ", yet it was accepted"
            }
            if let value = operation.value { forgedValues[value] = index }
        }
        if !forgedValues.isEmpty {
            for index in indices where operations[index].kind == .get && operations[index].returnTime != nil && operations[index].ok {
                guard let value = operations[index].output, let forged = forgedValues[value] else { continue }
                return "\(name(index)) read the value of a fenced write that must never land: "
                    + forgedExplanation(forged, in: operations, name: name)
            }
        }
        for (cancel, acquire) in Self.cancelledWaits(indices: indices, in: operations)
        where operations[acquire].ok && operations[acquire].returnTime != nil {
            return "\(name(cancel)) withdrew the wait of \(name(acquire)), yet that acquire was granted"
        }
        return nil
    }

    private func forgedExplanation(_ index: Int, in operations: [HistoryOperation], name: (Int) -> String) -> String {
        let operation = operations[index]
        let token = operation.token ?? 0
        let grantedOn = (tokenLocks[token] ?? []).map { "\"\($0)\"" }.joined(separator: ", ")
        let grant = tokenGrants[token].map { " (\(name($0)))" } ?? ""
        return "\(name(index)) carries token \(token), which the history shows granted on \(grantedOn)\(grant), "
            + "never on \"\(operation.lock ?? "")\""
    }

    /// Each `cancel` answered `ok: true` with the blocking acquire of the same client on the same
    /// lock that was in flight when the cancel was called (the latest called, if several).
    static func cancelledWaits(indices: [Int], in operations: [HistoryOperation]) -> [(cancel: Int, acquire: Int)] {
        var pairs: [(cancel: Int, acquire: Int)] = []
        for cancel in indices where operations[cancel].kind == .cancel && operations[cancel].ok && operations[cancel].returnTime != nil {
            let request = operations[cancel]
            let waits = indices.filter {
                let operation = operations[$0]
                return operation.kind == .acquire && operation.client == request.client && operation.waitMillis != nil
                    && operation.call <= request.call && (operation.returnTime ?? .max) >= request.call
            }
            if let acquire = waits.max(by: { operations[$0].call < operations[$1].call }) { pairs.append((cancel, acquire)) }
        }
        return pairs
    }
}
