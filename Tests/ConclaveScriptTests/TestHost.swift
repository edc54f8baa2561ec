import ConclaveScript

/// A small Redis for scripts to call: strings with millisecond TTLs at a fixed `now`, an undo log
/// for `discardWrites`, and a record of every command it was asked to run.
struct TestHost: ScriptHost {
    var values: [String: String] = [:]
    var expiries: [String: Int64] = [:]
    var nowMillis: Int64 = 1_000_000
    private(set) var calls: [[String]] = []
    private(set) var discards = 0
    private var undo: [(key: String, value: String?, expiry: Int64?)] = []

    init(_ values: [String: String] = [:]) { self.values = values }

    mutating func call(_ arguments: [[UInt8]]) -> ScriptReply {
        let words = arguments.map { String(decoding: $0, as: UTF8.self) }
        calls.append(words)
        let name = words[0].uppercased()
        let rest = Array(words.dropFirst())
        switch (name, rest.count) {
        case ("PING", 0): return .status("PONG")
        case ("PING", 1), ("ECHO", 1): return .bulk(rest[0])
        case ("GET", 1): return live(rest[0]).map { .bulk($0) } ?? .null
        case ("SET", 2...): return set(rest)
        case ("DEL", 1...):
            let removed = Set(rest).filter { live($0) != nil }
            for key in removed { write(key, nil, nil) }
            return .integer(Int64(removed.count))
        case ("EXISTS", 1...): return .integer(Int64(rest.filter { live($0) != nil }.count))
        case ("INCR", 1):
            guard let number = Int64(live(rest[0]) ?? "0") else { return .error("ERR value is not an integer or out of range") }
            write(rest[0], String(number + 1), expiries[rest[0]])
            return .integer(number + 1)
        case ("PTTL", 1):
            guard live(rest[0]) != nil else { return .integer(-2) }
            return .integer(expiries[rest[0]].map { $0 - nowMillis } ?? -1)
        case ("PEXPIRE", 2):
            guard let millis = Int64(rest[1]) else { return .error("ERR value is not an integer or out of range") }
            guard let value = live(rest[0]) else { return .integer(0) }
            write(rest[0], value, nowMillis + millis)
            return .integer(1)
        case ("MGET", 1...): return .array(rest.map { key in live(key).map { .bulk($0) } ?? .null })
        case ("GET", _), ("SET", _), ("INCR", _), ("PTTL", _), ("PEXPIRE", _):
            return .error("ERR Wrong number of args calling Redis command from script")
        default:
            return .error("ERR Unknown Redis command called from script")
        }
    }

    mutating func discardWrites() {
        discards += 1
        for (key, value, expiry) in undo.reversed() {
            values[key] = value
            expiries[key] = expiry
        }
        undo = []
    }

    /// Forgets the undo log, as a host does once a script has succeeded.
    mutating func commit() { undo = [] }

    private func live(_ key: String) -> String? {
        if let expiry = expiries[key], expiry <= nowMillis { return nil }
        return values[key]
    }

    private mutating func write(_ key: String, _ value: String?, _ expiry: Int64?) {
        undo.append((key, values[key], expiries[key]))
        values[key] = value
        expiries[key] = expiry
    }

    /// SET key value [NX|XX] [PX ms|EX s]
    private mutating func set(_ rest: [String]) -> ScriptReply {
        var expiry: Int64?
        var condition = ""
        var index = 2
        while index < rest.count {
            switch rest[index].uppercased() {
            case "NX", "XX": condition = rest[index].uppercased(); index += 1
            case "PX", "EX":
                guard index + 1 < rest.count, let amount = Int64(rest[index + 1]), amount > 0 else { return .error("ERR syntax error") }
                expiry = nowMillis + amount * (rest[index].uppercased() == "EX" ? 1_000 : 1)
                index += 2
            default: return .error("ERR syntax error")
            }
        }
        let present = live(rest[0]) != nil
        if (condition == "NX" && present) || (condition == "XX" && !present) { return .null }
        write(rest[0], rest[1], expiry)
        return .status("OK")
    }
}

/// Runs `source` on `engine` against `host` with string keys and arguments.
func run(_ engine: ScriptEngine, _ source: String, keys: [String] = [], arguments: [String] = [],
         host: inout TestHost) -> ScriptResult {
    engine.run(Script(source), keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) }, host: &host)
}

/// Runs `source` on `engine` against an empty host and returns its reply.
func reply(_ engine: ScriptEngine, _ source: String, keys: [String] = [], arguments: [String] = []) -> ScriptReply {
    var host = TestHost()
    return run(engine, source, keys: keys, arguments: arguments, host: &host).reply
}

extension ScriptReply {
    /// The error text, or nil for any other reply.
    var errorText: String? {
        if case .error(let text) = self { return text }
        return nil
    }
}
