import ConclaveCore

/// The scripts a cluster knows by SHA-1, with Redis's script-cache semantics: `SCRIPT LOAD` keeps a
/// script until `SCRIPT FLUSH`; `EVAL` keeps its body too, but only among the `evalScriptsMax` most
/// recently used of those EVAL brought (Redis evicts them the same way, 500 by default), so a client
/// that sends a new body every time cannot fill the cache; `EVALSHA` finds a body by its SHA.
///
/// Replicated state: it changes only as entries are applied (recency is the order of application,
/// not a clock), it travels in snapshots, and `stateHash` is its share of the replica digest.
public struct ScriptCache: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var script: Script
        /// Kept by `SCRIPT LOAD` (never evicted) rather than brought by EVAL.
        public var loaded: Bool
        /// When it was last loaded or run, in the cache's own count of uses.
        public var lastUse: UInt64
    }

    public struct Limits: Equatable, Sendable {
        /// The largest body, in bytes.
        public var scriptBytesMax: Int
        /// Scripts and body bytes the cache holds at most; past them SCRIPT LOAD is refused.
        public var scriptsMax: Int
        public var bytesMax: Int
        /// Scripts brought by EVAL that are kept (the most recently used).
        public var evalScriptsMax: Int

        public init(scriptBytesMax: Int = 64 << 10, scriptsMax: Int = 10_000, bytesMax: Int = 16 << 20,
                    evalScriptsMax: Int = 500) {
            self.scriptBytesMax = scriptBytesMax
            self.scriptsMax = scriptsMax
            self.bytesMax = bytesMax
            self.evalScriptsMax = evalScriptsMax
        }
    }

    public private(set) var entries: [String: Entry] = [:]
    public let limits: Limits
    public private(set) var bodyBytes = 0
    private var uses: UInt64 = 0
    private var evalScripts = 0
    /// The wrapping sum of the entries' hashes (see `entryHash`), kept in step with `entries`.
    public private(set) var stateHash: UInt64 = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// The script named `sha` (any case, as Redis accepts), if cached.
    public func script(sha: String) -> Script? { entries[sha.lowercased()]?.script }

    public func contains(sha: String) -> Bool { entries[sha.lowercased()] != nil }

    /// SCRIPT LOAD: keeps `script` until SCRIPT FLUSH. Nil on success, else the error to answer.
    public mutating func load(_ script: Script) -> String? {
        if let problem = sizeProblem(script) { return problem }
        if var entry = entries[script.sha] {
            if !entry.loaded { evalScripts -= 1 }
            entry.loaded = true
            touch(&entry)
            return nil
        }
        guard entries.count < limits.scriptsMax || evictOldestEvalScript(),
              bodyBytes + script.body.count <= limits.bytesMax || evictEvalScripts(toFit: script.body.count) else {
            return "ERR the script cache is full (\(limits.scriptsMax) scripts, \(limits.bytesMax) bytes): SCRIPT FLUSH first"
        }
        insert(Entry(script: script, loaded: true, lastUse: 0))
        return nil
    }

    /// EVAL or EVALSHA ran `script`: keeps it (as EVAL's, if new) and marks it most recently used.
    /// A script that does not fit is simply not kept; it ran anyway.
    public mutating func noteRun(_ script: Script) {
        if var entry = entries[script.sha] {
            touch(&entry)
            return
        }
        guard sizeProblem(script) == nil else { return }
        if evalScripts >= limits.evalScriptsMax || entries.count >= limits.scriptsMax { _ = evictOldestEvalScript() }
        guard entries.count < limits.scriptsMax, evalScripts < limits.evalScriptsMax,
              bodyBytes + script.body.count <= limits.bytesMax || evictEvalScripts(toFit: script.body.count) else { return }
        insert(Entry(script: script, loaded: false, lastUse: 0))
    }

    /// SCRIPT FLUSH.
    public mutating func flush() {
        entries = [:]
        bodyBytes = 0
        evalScripts = 0
        stateHash = 0
    }

    private func sizeProblem(_ script: Script) -> String? {
        script.body.count > limits.scriptBytesMax
            ? "ERR script of \(script.body.count) bytes is over the limit of \(limits.scriptBytesMax) bytes" : nil
    }

    private mutating func insert(_ entry: Entry) {
        var entry = entry
        uses += 1
        entry.lastUse = uses
        entries[entry.script.sha] = entry
        bodyBytes += entry.script.body.count
        if !entry.loaded { evalScripts += 1 }
        stateHash &+= Self.entryHash(entry)
    }

    private mutating func touch(_ entry: inout Entry) {
        let old = entries[entry.script.sha].map(Self.entryHash) ?? 0
        uses += 1
        entry.lastUse = uses
        entries[entry.script.sha] = entry
        stateHash = stateHash &- old &+ Self.entryHash(entry)
    }

    private mutating func remove(_ sha: String) {
        guard let entry = entries.removeValue(forKey: sha) else { return }
        bodyBytes -= entry.script.body.count
        if !entry.loaded { evalScripts -= 1 }
        stateHash &-= Self.entryHash(entry)
    }

    /// Evicts the least recently used script EVAL brought; false if there is none. O(scripts).
    private mutating func evictOldestEvalScript() -> Bool {
        guard let oldest = entries.values.filter({ !$0.loaded }).min(by: { $0.lastUse < $1.lastUse }) else { return false }
        remove(oldest.script.sha)
        return true
    }

    private mutating func evictEvalScripts(toFit bytes: Int) -> Bool {
        while bodyBytes + bytes > limits.bytesMax {
            guard evictOldestEvalScript() else { return false }
        }
        return true
    }

    /// `stateHash` rebuilt from the entries: what it must equal. O(scripts).
    public func recomputedStateHash() -> UInt64 { entries.values.reduce(0) { $0 &+ Self.entryHash($1) } }

    /// An entry's hash for `stateHash`: its SHA, whether loaded, its last use, and its body's length
    /// (the SHA stands for the body, which a restore checks).
    static func entryHash(_ entry: Entry) -> UInt64 {
        var hash = StableHash.fnv1a64(entry.script.sha.utf8, seed: StableHash.fold(StableHash.fnvOffsetBasis, 0x5C21))
        hash = StableHash.fold(hash, entry.loaded ? 1 : 0)
        hash = StableHash.fold(hash, entry.lastUse)
        hash = StableHash.fold(hash, UInt64(entry.script.body.count))
        return StableHash.mix(hash)
    }
}

extension ScriptCache {
    /// Why encoded bytes could not be read back.
    public struct DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "script cache: \(reason)" }

        public init(reason: String) { self.reason = reason }
    }

    private static let encodingVersion: UInt8 = 1

    /// The cache as bytes, scripts in SHA order so that equal caches give equal bytes.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + bodyBytes + entries.count * 64)
        writer.write(Self.encodingVersion)
        writer.write(uses)
        writer.write(UInt64(entries.count))
        for sha in entries.keys.sorted() {
            let entry = entries[sha]!
            writer.write(entry.loaded ? UInt8(1) : UInt8(0))
            writer.write(entry.lastUse)
            writer.write(UInt32(entry.script.body.count))
            writer.append(entry.script.body)
        }
        return writer.bytes
    }

    /// Reads `encoded()` bytes from `reader`, checking what a damaged or foreign snapshot could get
    /// wrong: limits, recency stamps, and every body against its SHA (recomputed, never trusted).
    public init(decoding reader: inout ByteReader, limits: Limits = Limits()) throws(DecodingError) {
        self.init(limits: limits)
        guard let version = reader.readByte() else { throw DecodingError(reason: "empty") }
        guard version == Self.encodingVersion else {
            throw DecodingError(reason: "unknown version \(version) (this build reads \(Self.encodingVersion))")
        }
        guard let uses = reader.readUInt64(), let count = reader.readUInt64(), count <= UInt64(reader.remaining / 13) else {
            throw DecodingError(reason: "truncated header")
        }
        guard count <= UInt64(limits.scriptsMax) else {
            throw DecodingError(reason: "\(count) scripts, more than the \(limits.scriptsMax) allowed")
        }
        var entries: [Entry] = []
        for _ in 0..<count {
            guard let loaded = reader.readByte(), loaded <= 1, let lastUse = reader.readUInt64(),
                  let length = reader.readUInt32(), let body = reader.readBytes(Int(length)) else {
                throw DecodingError(reason: "truncated script")
            }
            guard body.count <= limits.scriptBytesMax, (1...uses).contains(lastUse) else {
                throw DecodingError(reason: "a script of \(body.count) bytes last used at \(lastUse) of \(uses)")
            }
            entries.append(Entry(script: Script(body: body), loaded: loaded == 1, lastUse: lastUse))
        }
        for entry in entries.sorted(by: { $0.lastUse < $1.lastUse }) {
            guard self.entries[entry.script.sha] == nil else { throw DecodingError(reason: "script \(entry.script.sha) twice") }
            self.uses = entry.lastUse - 1
            insert(entry)
        }
        self.uses = uses
        guard evalScripts <= limits.evalScriptsMax, bodyBytes <= limits.bytesMax else {
            throw DecodingError(reason: "\(evalScripts) EVAL scripts and \(bodyBytes) bytes, over the cache's limits")
        }
    }
}
