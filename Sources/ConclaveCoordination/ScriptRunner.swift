import ConclaveScript

/// The KV store's script engine. A cache (a Lua state, compiled bodies), not replicated state: it
/// takes no part in equality, and it is never shared between copies of the store — a copy that runs
/// a script first makes an engine of its own (`isKnownUniquelyReferenced`), so two threads never
/// use one engine, which is why this value may cross threads (`@unchecked Sendable`).
struct ScriptRunner: Equatable, @unchecked Sendable {
    private var shared: ScriptEngine?

    static func == (_: Self, _: Self) -> Bool { true }

    /// This copy's engine, made on first use (about 60 µs) with the cluster's limits.
    mutating func engine() -> ScriptEngine {
        if !isKnownUniquelyReferenced(&shared) { shared = ScriptEngine(limits: CoordinationLimits.scriptLimits) }
        return shared!
    }
}
