@testable import ConclaveCoordination

/// What a run reached (so that a fuzzer that stopped reaching the state machine's insides fails),
/// and whether each refusal says what was wrong.
extension CommandFuzzRun {
    /// Outcomes every seed of the full length reaches: each kind of answer, each refusal a
    /// request can earn, and each event.
    static let expectedOutcomes: Set<String> = [
        "done", "session opened", "kept alive", "granted", "reentrant grant", "queued", "try-lock refused", "counter",
        "fenced write accepted", "fenced write refused", "config revision", "config value", "config absent", "config history",
        "config events", "worker leased", "task scheduled", "task existing", "task", "task running", "task finished", "tasks",
        "messages", "throttle allowed", "throttle refused",
        "refused: invalid name", "refused: invalid TTL", "refused: unknown session", "refused: session exists",
        "refused: not owner", "refused: unknown lock", "refused: limit reached", "refused: invalid request",
        "refused: unknown task", "refused: node only", "refused: reserved client", "refused: wait ended", "refused: restored",
        "refused: stale sequence", "refused: malformed command",
        "event granted", "event lost: session expired", "event lost: session closed", "event lost: lock TTL expired",
        "event lost: revoked", "event revoke requested", "event wait ended: deadline passed", "event wait ended: cancelled",
        "event wait ended: session expired", "event wait ended: session closed",
        "KV written", "KV value", "KV swapped", "KV rejected", "KV not set", "KV integer", "KV count",
        "KV TTL-expired read", "KV TTL-expired exists", "KV values", "KV keys", "KV scan page", "KV scan continues",
    ]

    mutating func note(_ answer: Answer) {
        if let kv = answer.kv { reached.insert(Self.outcome(kv.result)) }
        guard let applied = answer.coordination else { return }
        reached.insert(Self.outcome(applied.result))
        for event in applied.events { reached.insert(Self.outcome(event)) }
    }

    static func outcome(_ result: CoordinationResult) -> String {
        switch result {
        case .done: return "done"
        case .sessionOpened: return "session opened"
        case .keptAlive: return "kept alive"
        case .acquire(.granted(_, let holdCount)): return holdCount > 1 ? "reentrant grant" : "granted"
        case .acquire(.queued): return "queued"
        case .acquire(.refused): return "try-lock refused"
        case .counter: return "counter"
        case .fenced(let accepted, _): return accepted ? "fenced write accepted" : "fenced write refused"
        case .configRevision: return "config revision"
        case .configValue(let version): return version == nil ? "config absent" : "config value"
        case .configHistory: return "config history"
        case .configWatch(.events): return "config events"
        case .configWatch(.compacted): return "config compacted"
        case .workerLeased: return "worker leased"
        case .task(.scheduled(_, let existing)): return existing ? "task existing" : "task scheduled"
        case .task(.task(let task)):
            if case .running = task.state { return "task running" }
            return "task"
        case .task(.finished): return "task finished"
        case .task(.tasks): return "tasks"
        case .task(.messages(let messages)): return messages.isEmpty ? "no messages" : "messages"
        case .throttled(let decision): return decision.allowed ? "throttle allowed" : "throttle refused"
        case .refused(let error): return "refused: " + refusalKind(error)
        }
    }

    static func refusalKind(_ error: CoordinationError) -> String {
        switch error {
        case .invalidName: return "invalid name"
        case .invalidTTL: return "invalid TTL"
        case .unknownSession: return "unknown session"
        case .sessionExists: return "session exists"
        case .notOwner: return "not owner"
        case .unknownLock: return "unknown lock"
        case .limitReached: return "limit reached"
        case .invalidRequest(let reason):
            if reason.hasPrefix("stale sequence") { return "stale sequence" }
            return reason == CoordinationRequest.malformedCommand ? "malformed command" : "invalid request"
        case .unknownTask: return "unknown task"
        case .nodeOnly: return "node only"
        case .reservedClient: return "reserved client"
        case .waitEnded: return "wait ended"
        case .restored: return "restored"
        }
    }

    static func outcome(_ event: LockEvent) -> String {
        switch event {
        case .granted: return "event granted"
        case .lost(_, _, _, let reason): return "event lost: \(reason.rawValue)"
        case .revokeRequested: return "event revoke requested"
        case .waitEnded(_, _, _, let reason): return "event wait ended: \(reason.rawValue)"
        }
    }

    static func outcome(_ result: KVResult) -> String {
        switch result {
        case .written: return "KV written"
        case .value: return "KV value"
        case .swapped: return "KV swapped"
        case .rejected: return "KV rejected"
        case .notSet: return "KV not set"
        case .integer: return "KV integer"
        case .count: return "KV count"
        case .script: return "KV script"
        case .values: return "KV values"
        case .keys: return "KV keys"
        case .scanPage: return "KV scan page"
        }
    }

    /// A refusal must say what was wrong: words, not an empty or blank-led text (an empty part
    /// interpolated first), no `Optional(…)` leaking from an interpolation. Refused fenced writes
    /// and rejected KV requests say why too.
    static func unclearRefusal(_ answer: Answer) -> String? {
        if case .rejected(let reason)? = answer.kv?.result, reason.isEmpty { return "a KV request was rejected without a reason" }
        switch answer.coordination?.result {
        case .refused(let error)?:
            let words = error.description
            guard words.count >= 16, let first = words.first, !first.isWhitespace, !words.contains("Optional(") else {
                return "a refusal (\(refusalKind(error))) is not a clear error: \"\(words)\""
            }
            if case .nodeOnly(let command, _) = error, command.isEmpty { return "a node-only refusal does not name the command" }
        case .fenced(false, let reason)?:
            guard !reason.isEmpty else { return "a fenced write was refused without a reason" }
        default:
            break
        }
        return nil
    }
}
