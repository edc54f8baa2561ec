import ConclaveCore
import ConclaveScript

/// EVAL and the SCRIPT commands, applied like any KV command: a script runs to its end inside one
/// apply, on every replica, against the state of that index and at its cluster time, so it is as
/// atomic as Redis's and every replica gets the same reply and the same writes. A script that fails
/// (raises, runs out of budget or memory) leaves no write: `KVScriptHost` undoes them.
extension KVStateMachine {
    mutating func executeScriptCommand(_ command: KVCommand, nowMillis: UInt64) -> KVResult {
        switch command {
        case .eval(let call):
            return .script(eval(call, nowMillis: nowMillis))
        case .scriptLoad(let body):
            let script = Script(body: body)
            if let refusal = scripts.load(script) { return .script(.error(refusal)) }
            return .script(.bulk(script.sha))
        case .scriptExists(let shas):
            return scriptsExist(shas)
        case .scriptFlush:
            scripts.flush()
            return .script(.status("OK"))
        default:
            return .rejected("not a script command")  // never: `execute` sends only these here
        }
    }

    /// SCRIPT EXISTS: 1 or 0 per SHA, in order.
    func scriptsExist(_ shas: [String]) -> KVResult {
        .script(.array(shas.map { .integer(scripts.contains(sha: $0) ? 1 : 0) }))
    }

    private mutating func eval(_ call: ScriptCall, nowMillis: UInt64) -> ScriptReply {
        let script = Script(body: call.body)
        scripts.noteRun(script)
        let engine = scriptRunner.engine()
        return withUnsafeMutablePointer(to: &self) { store in
            var host = KVScriptHost(store: store, nowMillis: nowMillis)
            return engine.run(script, keys: call.keys, arguments: call.arguments, host: &host).reply
        }
    }

    /// The script cache of a version-3 snapshot.
    static func readScripts(from reader: inout ByteReader) throws(SnapshotError) -> ScriptCache {
        do {
            return try ScriptCache(decoding: &reader, limits: CoordinationLimits.scriptCache)
        } catch {
            throw SnapshotError(reason: error.description)
        }
    }
}

/// The KV store as `redis.call` sees it during one script: each command parsed as a client's would be
/// (`KVCommandParser`) and executed on the store, with the old value and TTL of every key it writes
/// kept until the script ends, so that `discardWrites` can put them back.
///
/// It reaches the store through a pointer because the store is applying the script: the pointer is
/// the one `withUnsafeMutablePointer(to: &self)` gives for the duration of `eval`.
struct KVScriptHost: ScriptHost {
    private let store: UnsafeMutablePointer<KVStateMachine>
    private let nowMillis: UInt64
    private let revisionAtStart: UInt64
    /// Each key written, with what it held before its first write in this script.
    private var saved: [(key: String, value: String?, expiresAt: UInt64?)] = []
    private var savedKeys: Set<String> = []

    init(store: UnsafeMutablePointer<KVStateMachine>, nowMillis: UInt64) {
        self.store = store
        self.nowMillis = nowMillis
        revisionAtStart = store.pointee.revision
    }

    mutating func call(_ arguments: [[UInt8]]) -> ScriptReply {
        switch KVCommandParser.parse(arguments) {
        case .failure(.unknownCommand):
            return .error("ERR Unknown Redis command called from script")
        case .failure(.wrongArity):
            return .error("ERR Wrong number of args calling Redis command from script")
        case .failure(.invalid(let message)):
            return .error(message)
        case .success(let parsed):
            let command = parsed.command
            if case .flush = command {
                Array(store.pointee.values.keys).forEach { save($0) }
            } else if !command.isRead {
                command.keys.forEach { save($0) }
            }
            return store.pointee.execute(command, nowMillis: nowMillis).redisReply(form: parsed.form)
        }
    }

    mutating func discardWrites() {
        for (key, value, expiresAt) in saved.reversed() {
            if let value {
                store.pointee.store(key, value, expiresAt: expiresAt)
            } else {
                store.pointee.remove(key)
            }
        }
        store.pointee.revision = revisionAtStart
        saved = []
        savedKeys = []
    }

    private mutating func save(_ key: String) {
        guard savedKeys.insert(key).inserted else { return }
        saved.append((key, store.pointee.values[key], store.pointee.expiries[key]))
    }
}

extension KVResult {
    /// The reply Redis gives for this result (RESP2 shapes): what a client receives, and what
    /// `redis.call` hands a script. `form` `.seconds`: an integer of milliseconds (TTL's) is answered in seconds, as Redis
    /// rounds them ((ms + 500) / 1000); a negative one (-1: no TTL, -2: no key) stays.
    public func redisReply(form: KVCommandParser.ReplyForm = .plain) -> ScriptReply {
        switch self {
        case .value(let value): return value.map { .bulk($0) } ?? .null
        case .written: return .status("OK")
        case .notSet: return .null
        case .integer(let value):
            guard form == .seconds, value >= 0 else { return .integer(value) }
            return .integer((value + 500) / 1_000)
        case .count(let count): return .integer(Int64(count))
        case .swapped(let swapped): return .integer(swapped ? 1 : 0)
        case .rejected(let reason): return .error(reason.hasPrefix("ERR ") ? reason : "ERR \(reason)")
        case .values(let values): return .array(values.map { $0.map(ScriptReply.bulk) ?? .null })
        case .keys(let keys): return .array(keys.map(ScriptReply.bulk))
        case .scanPage(let cursor, let keys): return .array([.bulk(String(cursor)), .array(keys.map(ScriptReply.bulk))])
        case .script(let reply): return reply
        }
    }

    /// What a session keeps of this answer for a retry: all of it, but a script's reply only up to
    /// `CoordinationLimits.scriptReplyKeptBytesMax` (10,000 sessions must not each keep megabytes).
    var keptForRetry: KVResult {
        guard case .script(let reply) = self else { return self }
        let size = reply.encoded().count
        guard size > CoordinationLimits.scriptReplyKeptBytesMax else { return self }
        return .script(.error("ERR the reply to this request (\(size) bytes) was too large to keep for a retry; "
            + "it took effect, and running it again may not be safe"))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    static func bytes(hex text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let high = hexDigit(characters[index]), let low = hexDigit(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexDigit(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
