/// What `redis.call` and `redis.pcall` run against: the replicated KV store, or a test double.
///
/// A script takes effect whole or not at all. The host therefore keeps what it needs to undo the
/// calls of the script it serves (an undo log, or writes buffered until the script ends), and the
/// engine calls `discardWrites` when the script fails — raises an error, runs out of budget or
/// memory — and before it runs the same script again from the start (see `ScriptEngine`).
public protocol ScriptHost {
    /// Runs one command: `arguments[0]` is its name, as the script wrote it (any case). Must not
    /// trap: an unknown, refused or malformed command is answered with `.error("ERR …")`.
    mutating func call(_ arguments: [[UInt8]]) -> ScriptReply

    /// Undoes every effect of the calls made since this host was handed to `ScriptEngine.run`
    /// (or since the last `discardWrites`).
    mutating func discardWrites()
}
