import ConclaveCore

/// What a restored state must satisfy before it may apply entries.
///
/// Snapshots come from peers (Raft InstallSnapshot), so their bytes are input, not trusted state.
/// The decoders check the shape (counts, tags, lengths); these checks hold every field the apply
/// arithmetic reads to what apply itself could have produced, so that apply — which trusts its
/// own state and adds to it without overflow checks — cannot trap on a restored value: durations
/// within the ranges requests are held to, instants at or before their latest, counters that only
/// grow with room left to grow (`CoordinationLimits.restoredCounterMax`), counts within their
/// limits. A snapshot that breaks one is refused with a message naming the field. O(state).
extension CoordinationStateMachine {
    /// The first field that breaks its bound, described; nil when the state may apply.
    func restoredStateProblem() -> String? {
        sessionsProblem() ?? locks.restoredProblem(nowMillis: nowMillis) ?? config.restoredProblem()
            ?? tasks.restoredProblem(nowMillis: nowMillis)
    }

    private func sessionsProblem() -> String? {
        guard sessions.sessions.count <= CoordinationLimits.sessionsMax else {
            return "\(sessions.sessions.count) sessions, more than the \(CoordinationLimits.sessionsMax) allowed"
        }
        for session in sessions.sessions.values.sorted(by: { $0.id < $1.id }) {
            guard session.id != 0 else { return "a session of client 0, the nodes' own" }
            guard CoordinationLimits.ttlMillisRange.contains(session.ttlMillis) else {
                return "session \(session.id): TTL \(session.ttlMillis) ms outside \(CoordinationLimits.ttlMillisRange)"
            }
            guard session.expiresAtMillis <= nowMillis + session.ttlMillis else {
                return "session \(session.id): expires at \(session.expiresAtMillis) ms, past cluster time \(nowMillis) ms + its TTL"
            }
        }
        return nil
    }
}

extension CoordinationLimits {
    /// The most a counter that apply only increments (the fencing-token counter, revisions, task
    /// and message IDs, applied index, statistics) may hold in a restored snapshot: 2⁶², so that
    /// 2⁶² more increments — more than any cluster makes — cannot overflow it.
    public static let restoredCounterMax: UInt64 = 1 << 62
    /// The latest instant a restored deadline may name: the end of cluster time plus the longest
    /// duration or TTL a request may carry (a KV key's, 2⁴³ ms).
    public static let restoredInstantMillisMax: UInt64 = clusterTimeMillisMax + kvTTLMillisRange.upperBound

    /// "`field` `value` past `bound`", or nil when within it.
    static func exceeds(_ field: String, _ value: UInt64, _ bound: UInt64) -> String? {
        value <= bound ? nil : "\(field) \(value) is past its bound \(bound)"
    }
}

extension ConfigStore {
    /// Revisions only grow: each key's versions and the events ascend, within 1…`revision`.
    func restoredProblem() -> String? {
        if let problem = CoordinationLimits.exceeds("config revision", revision, CoordinationLimits.restoredCounterMax) {
            return problem
        }
        guard events.count <= Self.eventsMax else { return "config: \(events.count) events, more than the \(Self.eventsMax) kept" }
        if let problem = Self.revisionsProblem(events.map(\.revision), upTo: revision) { return "config events: \(problem)" }
        for key in history.keys.sorted() {
            let versions = history[key]!
            guard (1...Self.versionsPerKeyMax).contains(versions.count) else {
                return "config key '\(key)': \(versions.count) versions, not 1…\(Self.versionsPerKeyMax)"
            }
            if let problem = Self.revisionsProblem(versions.map(\.revision), upTo: revision) { return "config key '\(key)': \(problem)" }
        }
        return nil
    }

    private static func revisionsProblem(_ revisions: [UInt64], upTo revision: UInt64) -> String? {
        var previous: UInt64 = 0
        for current in revisions {
            guard current > previous, current <= revision else {
                return "revision \(current) after \(previous), not ascending within 1…\(revision)"
            }
            previous = current
        }
        return nil
    }
}
