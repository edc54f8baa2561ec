import ConclaveCore
import ConclaveCoordination
import ConclaveScript
import ConclaveWire

/// The commands a node runs for RESP clients beside the native ones, parsed from a command's
/// arguments into what goes through the log (or a ReadIndex round), and answered in Redis's reply
/// shapes, so that redis-cli, redis-benchmark and client libraries work unchanged. Pure: no node, no
/// socket. The KV commands themselves are `KVCommandParser`'s (scripts run the same, through
/// `redis.call`); this adds what only a client sends: INFO, CONFIG, EVAL, EVALSHA and SCRIPT.
public enum KVCommands {
    public typealias Limits = KVCommandParser.Limits
    public typealias ReplyForm = KVCommandParser.ReplyForm

    /// What a client asked for.
    public enum Parsed: Equatable, Sendable {
        /// A command on the replicated store, and how its result becomes the reply.
        case kv(KVCommand, reply: ReplyForm = .plain)
        /// INFO with the sections asked for (empty: the default ones).
        case info(sections: [String])
        /// CONFIG GET with its patterns (globs over parameter names).
        case configGet(patterns: [String])
        /// EVALSHA: the node looks the body up in its script cache, then proposes an `eval`.
        case evalSHA(sha: String, keys: [[UInt8]], arguments: [[UInt8]])
    }

    /// Parses a command (`arguments[0]` is its name; `name`, when given, is it as
    /// `CommandName.uppercased` has it). A failure is the error reply to send.
    public static func parse(_ arguments: [[UInt8]], name: String? = nil, limits: Limits = Limits()) -> Result<Parsed, RESPError> {
        guard let first = arguments.first else { return .failure(RESPError("ERR empty command")) }
        let name = name ?? CommandName.uppercased(first)
        let rest = Array(arguments.dropFirst())
        do throws(RESPError) {
            switch name {
            case "INFO":
                return .success(.info(sections: rest.map { String(decoding: $0, as: UTF8.self).lowercased() }))
            case "CONFIG":
                return .success(try config(rest))
            case "EVAL", "EVALSHA":
                return .success(try eval(name, rest, limits))
            case "SCRIPT":
                return .success(.kv(try script(rest)))
            default:
                switch KVCommandParser.parse(name: name, rest: rest, limits: limits) {
                case .success(let parsed): return .success(.kv(parsed.command, reply: parsed.form))
                case .failure(.unknownCommand): throw unknown(name: first, rest: rest)
                case .failure(.wrongArity): throw arityError(name)
                case .failure(.invalid(let message)): throw RESPError(message)
                }
            }
        } catch {
            return .failure(error)
        }
    }

    /// The reply to a KV command's result, as Redis shapes it.
    public static func reply(to result: KVResult, form: ReplyForm = .plain) -> RESPValue {
        RESPValue(result.redisReply(form: form))
    }

    /// CONFIG GET pattern…; the other subcommands are refused with the reason.
    private static func config(_ rest: [[UInt8]]) throws(RESPError) -> Parsed {
        let sub = rest.first.map { String(decoding: $0.prefix(32), as: UTF8.self).uppercased() }
        switch sub {
        case "GET":
            guard rest.count >= 2 else { throw arityError("config|get") }
            return .configGet(patterns: rest.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() })
        case "SET", "RESETSTAT", "REWRITE":
            throw RESPError("ERR CONFIG \(sub ?? "") is not supported: a Conclave node takes its settings from its flags and configuration file at start")
        default:
            throw RESPError("ERR unknown subcommand '\(String(decoding: (rest.first ?? []).prefix(64), as: UTF8.self))'. Try CONFIG HELP.")
        }
    }

    // MARK: - Scripts

    /// EVAL script numkeys key… arg…, EVALSHA sha numkeys key… arg…
    private static func eval(_ name: String, _ rest: [[UInt8]], _ limits: Limits) throws(RESPError) -> Parsed {
        guard rest.count >= 2 else { throw arityError(name) }
        let keyCount: Int64
        do throws(KVCommandParser.Refusal) {
            keyCount = try KVCommandParser.integer(rest[1])
        } catch {
            throw RESPError("ERR value is not an integer or out of range")
        }
        guard keyCount >= 0 else { throw RESPError("ERR Number of keys can't be negative") }
        guard keyCount <= rest.count - 2 else { throw RESPError("ERR Number of keys can't be greater than number of args") }
        let keys = Array(rest[2..<(2 + Int(keyCount))])
        let arguments = Array(rest[(2 + Int(keyCount))...])
        let argumentsMax = CoordinationLimits.scriptArgumentsMax
        guard keys.count <= argumentsMax, arguments.count <= argumentsMax else {
            throw RESPError("ERR \(name) passes \(keys.count) keys and \(arguments.count) arguments; at most \(argumentsMax) of each are accepted")
        }
        if let long = (keys + arguments).first(where: { $0.count > limits.valueBytesMax }) {
            throw RESPError("ERR \(name) argument of \(long.count) bytes is over the limit of \(limits.valueBytesMax) bytes (value-bytes-max)")
        }
        if name == "EVAL" { return .kv(.eval(ScriptCall(body: try body(rest[0]), keys: keys, arguments: arguments))) }
        let sha = String(decoding: rest[0], as: UTF8.self).lowercased()
        guard sha.utf8.count == 40 else { throw noScript }
        return .evalSHA(sha: sha, keys: keys, arguments: arguments)
    }

    /// Redis's answer to an EVALSHA of a script the node does not know.
    public static let noScript = RESPError("NOSCRIPT No matching script. Please use EVAL.")

    /// SCRIPT LOAD body | EXISTS sha… | FLUSH [ASYNC|SYNC] | KILL
    private static func script(_ rest: [[UInt8]]) throws(RESPError) -> KVCommand {
        guard let subcommand = rest.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            throw arityError("SCRIPT")
        }
        switch (subcommand, rest.count) {
        case ("LOAD", 2):
            return .scriptLoad(body: try body(rest[1]))
        case ("EXISTS", 2...):
            guard rest.count - 1 <= CoordinationLimits.kvKeysPerCommandMax else {
                throw RESPError("ERR SCRIPT EXISTS names \(rest.count - 1) scripts; at most \(CoordinationLimits.kvKeysPerCommandMax) are accepted")
            }
            return .scriptExists(rest.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() })
        case ("FLUSH", 1):
            return .scriptFlush
        case ("FLUSH", 2):
            guard ["ASYNC", "SYNC"].contains(String(decoding: rest[1], as: UTF8.self).uppercased()) else {
                throw RESPError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            }
            return .scriptFlush
        case ("KILL", 1):
            throw RESPError("NOTBUSY No scripts in execution right now.")
        case ("LOAD", _), ("EXISTS", _), ("KILL", _):
            throw RESPError("ERR wrong number of arguments for 'script|\(subcommand.lowercased())' command")
        default:
            let shown = String(decoding: rest[0].prefix(128), as: UTF8.self)
            throw RESPError("ERR unknown subcommand or wrong number of arguments for '\(shown)'. Try SCRIPT HELP.")
        }
    }

    private static func body(_ bytes: [UInt8]) throws(RESPError) -> [UInt8] {
        let limit = CoordinationLimits.scriptCache.scriptBytesMax
        guard bytes.count <= limit else { throw RESPError("ERR script of \(bytes.count) bytes is over the limit of \(limit) bytes") }
        return bytes
    }

    // MARK: - Errors

    private static func arityError(_ name: String) -> RESPError {
        RESPError("ERR wrong number of arguments for '\(name.lowercased())' command")
    }

    /// Redis's wording, so that a client sees a familiar error: the name and the first arguments.
    private static func unknown(name: [UInt8], rest: [[UInt8]]) -> RESPError {
        let shown = rest.prefix(3).map { "'\(String(decoding: $0.prefix(128), as: UTF8.self))'" }.joined(separator: " ")
        return RESPError("ERR unknown command '\(String(decoding: name.prefix(128), as: UTF8.self))', with args beginning with: \(shown)")
    }
}

extension RESPValue {
    /// A reply of the store or of a script, as RESP.
    public init(_ reply: ScriptReply) {
        switch reply {
        case .status(let text): self = .simpleString(text)
        case .error(let text): self = .error(text)
        case .integer(let value): self = .integer(value)
        case .bulk(let bytes): self = .bulkString(bytes)
        case .array(let elements): self = .array(elements.map(RESPValue.init))
        case .null: self = .null
        }
    }
}

/// An error reply: the text after `-`, its code first (`ERR …`).
public struct RESPError: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var reply: RESPValue { .error(message) }
}
