import CLuaBridge

/// Runs Redis scripts (EVAL) in a sandboxed Lua 5.1 for a replicated state machine: every replica
/// that runs the same script against the same state gets the same reply and the same writes, or the
/// same failure, and a failed script leaves no write behind.
///
/// One Lua state serves every script, with each compiled body cached (as Redis keeps `f_<sha>`), so
/// a small script runs in microseconds. Sharing the state is made safe by isolation (each run gets
/// its own globals and thread, libraries are read-only, see sandbox.c) and by stopping the collector
/// while a script runs: nothing a script can observe depends on what ran before it.
///
/// The one thing that does depend on the past is how many bytes a script allocates: a string already
/// interned by an earlier script costs nothing again, the string table may already be large. The
/// memory cap is therefore *defined* on a fresh engine — a state that has compiled only this script —
/// and the shared state decides alone only where the two cannot disagree. A run that allocates A
/// bytes on the shared state allocates on a fresh one at most A, plus the strings the shared heap
/// had interned beyond a fresh state's (E ≤ its extra bytes), plus string-table growth (≤ 32 bytes
/// per string, and a string takes ≥ 17), plus concatenation-buffer growth (≤ the longest string):
/// at most 4·A + 4·E + 2·(H₀ + P), where H₀ is a fresh state's heap and P the compiled script's.
/// A run that stays under (cap − 4·E − 2·(H₀ + P)) / 4 is accepted; one that passes it is discarded
/// and run again on a fresh engine, whose verdict is final. The cache of compiled scripts (cap / 64)
/// and the garbage between runs (64 KiB) are kept small so that this bound stays near cap / 4:
/// scripts allocating megabytes pay a fresh state (~60 µs); the others never do.
///
/// Not thread-safe: one engine per state machine, used by whoever applies entries.
public final class ScriptEngine {
    public let limits: ScriptLimits
    private let shared: LuaSandbox
    /// A fresh state's heap (H₀ above), and the shared heap after its last full collection.
    private let freshHeapBytes: Int
    private var liveHeapBytes: Int
    private var compiled: [String: CompiledScript] = [:]
    private var compiledBytes = 0
    private var uses = 0
    private var names = 0

    private struct CompiledScript {
        var name: String
        var body: [UInt8]
        var heapBytes: Int
        var lastUse: Int
    }

    public init(limits: ScriptLimits = ScriptLimits()) {
        guard let shared = LuaSandbox(limits: limits) else {
            preconditionFailure("a Lua state does not fit in \(limits.memoryCapBytes) bytes: the script limits are too small")
        }
        self.limits = limits
        self.shared = shared
        freshHeapBytes = shared.heapBytes
        liveHeapBytes = freshHeapBytes
    }

    /// Compiled scripts held (a cache; never replicated state).
    public var compiledCount: Int { compiled.count }

    /// Runs `script` with `KEYS` = `keys` and `ARGV` = `arguments`, its `redis.call`s against `host`.
    /// When the result says `failed`, `host.discardWrites()` has been called.
    public func run<Host: ScriptHost>(_ script: Script, keys: [[UInt8]], arguments: [[UInt8]],
                                      host: inout Host) -> ScriptResult {
        withUnsafeMutablePointer(to: &host) { pointer in
            let caller = HostCaller { pointer.pointee.call($0) }
            let result = execute(script, keys: keys, arguments: arguments, caller: caller) {
                pointer.pointee.discardWrites()
            }
            if result.failed { pointer.pointee.discardWrites() }
            return result
        }
    }

    private func execute(_ script: Script, keys: [[UInt8]], arguments: [[UInt8]], caller: HostCaller,
                         discardWrites: () -> Void) -> ScriptResult {
        let entry: CompiledScript
        switch compiledEntry(for: script) {
        case .compiled(let compiledEntry): entry = compiledEntry
        case .syntaxError(let message): return Self.compileFailure(message)
        case .outOfMemory: return runFresh(script, keys: keys, arguments: arguments, caller: caller)
        }
        let extraBytes = max(0, shared.heapBytes - freshHeapBytes)
        let fastLimit = (limits.memoryCapBytes - 4 * extraBytes - 2 * (freshHeapBytes + entry.heapBytes)) / 4
        guard fastLimit > 0 else { return runFresh(script, keys: keys, arguments: arguments, caller: caller) }
        let run = shared.run(name: entry.name, keys: keys, arguments: arguments, allocationLimit: fastLimit, caller: caller)
        collectGarbage()
        if run.status == CONCLAVE_LUA_MEMORY {
            discardWrites()
            return runFresh(script, keys: keys, arguments: arguments, caller: caller)
        }
        return result(of: run, script)
    }

    /// The canonical run: a state that has compiled only this script, with the exact memory cap.
    private func runFresh(_ script: Script, keys: [[UInt8]], arguments: [[UInt8]], caller: HostCaller) -> ScriptResult {
        guard let fresh = LuaSandbox(limits: limits) else {
            preconditionFailure("a Lua state does not fit in \(limits.memoryCapBytes) bytes: the script limits are too small")
        }
        switch fresh.compile(name: script.sha, body: script.body) {
        case .compiled: break
        case .syntaxError(let message): return Self.compileFailure(message)
        case .outOfMemory:
            return ScriptResult(reply: .error("ERR script is too large to compile within the script memory cap"),
                                failed: true, instructions: 0)
        }
        fresh.collect()
        let run = fresh.run(name: script.sha, keys: keys, arguments: arguments, allocationLimit: limits.memoryCapBytes,
                            caller: caller)
        return result(of: run, script)
    }

    /// A full collection once garbage passes 64 KiB (about 40 lock scripts): cheaper than stepping
    /// after every run, and it keeps the heap the fast path's bound depends on small.
    private func collectGarbage() {
        guard shared.heapBytes - liveHeapBytes > Self.garbageBytesMax else { return }
        shared.collect()
        liveHeapBytes = shared.heapBytes
    }

    private static let garbageBytesMax = 64 << 10

    private static func compileFailure(_ message: String) -> ScriptResult {
        ScriptResult(reply: .error("ERR Error compiling script (new function): \(message)"), failed: true, instructions: 0)
    }

    private func result(of run: LuaSandbox.Run, _ script: Script) -> ScriptResult {
        let message: String
        switch run.status {
        case CONCLAVE_LUA_OK:
            if let reply = ScriptReply(encoded: run.output) {
                return ScriptResult(reply: reply, failed: false, instructions: run.instructions)
            }
            message = "ERR the script's reply could not be read back"
        case CONCLAVE_LUA_BUDGET:
            message = "ERR script exceeded its budget of \(limits.instructionBudget) instructions"
        case CONCLAVE_LUA_MEMORY:
            message = "ERR script exceeded its memory cap of \(limits.memoryCapBytes) bytes"
        case CONCLAVE_LUA_UNKNOWN_SCRIPT:
            message = "ERR the compiled script went missing"
        default:
            message = String(decoding: run.output, as: UTF8.self)
        }
        // Redis 7's shape: "<message> script: <sha>, on @user_script:<line>."
        let located = run.location.map { "\(message) script: \(script.sha), on \($0.source):\($0.line)." } ?? message
        return ScriptResult(reply: .error(located), failed: true, instructions: run.instructions)
    }

    private enum Compilation {
        case compiled(CompiledScript)
        case syntaxError(String)
        case outOfMemory
    }

    /// The script compiled in the shared state, compiling it if needed. A cached entry is used only
    /// if its body is the very same (a SHA-1 collision must not run another body).
    private func compiledEntry(for script: Script) -> Compilation {
        uses += 1
        if var entry = compiled[script.sha], entry.body == script.body {
            entry.lastUse = uses
            compiled[script.sha] = entry
            return .compiled(entry)
        }
        names += 1
        let name = "s\(names)"
        let heapBefore = shared.heapBytes
        switch shared.compile(name: name, body: script.body) {
        case .compiled: break
        case .syntaxError(let message): return .syntaxError(message)
        case .outOfMemory: return .outOfMemory
        }
        if let replaced = compiled.removeValue(forKey: script.sha) { drop(replaced) }
        let entry = CompiledScript(name: name, body: script.body, heapBytes: max(0, shared.heapBytes - heapBefore),
                                   lastUse: uses)
        compiled[script.sha] = entry
        compiledBytes += entry.heapBytes
        while compiled.count > 1,
              compiled.count > limits.compiledScriptsMax || compiledBytes > limits.compiledBytesMax,
              let oldest = compiled.filter({ $0.key != script.sha }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            compiled[oldest.key] = nil
            drop(oldest.value)
        }
        return .compiled(entry)
    }

    private func drop(_ entry: CompiledScript) {
        shared.forget(name: entry.name)
        compiledBytes -= entry.heapBytes
    }
}
