/// What one script may use. These are part of the replicated state machine's definition: every
/// replica must run with the same values, or a script near a limit would fail on some and not others.
public struct ScriptLimits: Equatable, Sendable {
    /// Instructions a script may execute: Lua VM instructions, checked every 1,000, plus the work
    /// of library calls that loop (pattern matching, string.rep, table.insert/remove/concat/sort, …).
    public var instructionBudget: Int
    /// Bytes a script may allocate in all. The collector does not run while a script runs, so
    /// garbage counts: the total is the script's whole appetite, the same on every replica.
    public var memoryCapBytes: Int
    /// The largest reply a script may return, encoded.
    public var replyBytesMax: Int
    /// Compiled scripts the engine keeps (a cache, not replicated state), and their heap bytes;
    /// nil: `memoryCapBytes / 64` (a large cache would make scripts leave the fast path, see
    /// `ScriptEngine`).
    public var compiledScriptsMax: Int
    public var compiledBytesMax: Int

    public init(instructionBudget: Int = 10_000_000, memoryCapBytes: Int = 32 << 20, replyBytesMax: Int = 32 << 20,
                compiledScriptsMax: Int = 1_000, compiledBytesMax: Int? = nil) {
        let compiledBytesMax = compiledBytesMax ?? memoryCapBytes / 64
        precondition(instructionBudget > 0 && memoryCapBytes > 0 && replyBytesMax > 0 && compiledScriptsMax > 0
            && compiledBytesMax > 0, "script limits must be positive")
        self.instructionBudget = instructionBudget
        self.memoryCapBytes = memoryCapBytes
        self.replyBytesMax = replyBytesMax
        self.compiledScriptsMax = compiledScriptsMax
        self.compiledBytesMax = compiledBytesMax
    }
}
