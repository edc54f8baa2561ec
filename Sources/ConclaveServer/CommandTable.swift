import ConclaveWire

/// Every command a node answers, described as Redis 7 describes its own, for `COMMAND` (`COUNT`,
/// `INFO`, `DOCS`, `LIST`): redis-cli builds its help and its argument hints from `COMMAND DOCS`
/// (7.2 on) or `COMMAND` (7.0), and client libraries read key positions from `COMMAND INFO`.
/// A command added to a node gets its line here; `CommandTableTests` checks that each listed
/// command is answered (not "unknown command") and that the shapes are what redis-cli asserts.
struct CommandSpec: Sendable {
    var name: String
    /// Redis's arity: N exactly N words (the name included), -N at least N.
    var arity: Int
    var flags: [String]
    /// First key, last key (-1: the last argument) and step between keys; 0, 0, 0 for none.
    var keys: (first: Int, last: Int, step: Int) = (0, 0, 0)
    var group: String
    var summary: String
    var since = "1.0.0"
    var complexity = "O(1)"
    var arguments: [Argument] = []
    var subcommands: [CommandSpec] = []

    /// One argument as `COMMAND DOCS` lists it: a type among key, string, integer, pattern,
    /// unix-time, pure-token, oneof and block (the last two group `arguments`).
    struct Argument: Sendable {
        var name: String
        var type: String
        var token: String?
        var optional = false
        var multiple = false
        var arguments: [Argument] = []

        static func key(_ name: String = "key", multiple: Bool = false) -> Argument {
            Argument(name: name, type: "key", multiple: multiple)
        }

        static func string(_ name: String, token: String? = nil, optional: Bool = false) -> Argument {
            Argument(name: name, type: "string", token: token, optional: optional)
        }

        static func integer(_ name: String, token: String? = nil, optional: Bool = false) -> Argument {
            Argument(name: name, type: "integer", token: token, optional: optional)
        }

        static func flag(_ token: String) -> Argument { Argument(name: token.lowercased(), type: "pure-token", token: token) }

        static func oneOf(_ name: String, optional: Bool = true, _ choices: [Argument]) -> Argument {
            Argument(name: name, type: "oneof", optional: optional, arguments: choices)
        }
    }
}

extension CommandSpec {
    /// The `COMMAND`/`COMMAND INFO` entry: name, arity, flags, first key, last key, step, ACL
    /// categories, tips, key specs, subcommands (Redis 7's ten fields).
    var info: RESPValue {
        .array([
            .bulk(name), .integer(Int64(arity)), .set(flags.map(RESPValue.simpleString)),
            .integer(Int64(keys.first)), .integer(Int64(keys.last)), .integer(Int64(keys.step)),
            .set([.simpleString("@" + group)]), .array([]), .array([]), .array(subcommands.map(\.info)),
        ])
    }

    /// The `COMMAND DOCS` map of this command.
    var docs: RESPValue {
        var pairs: [(RESPValue, RESPValue)] = [
            (.bulk("summary"), .bulk(summary)), (.bulk("since"), .bulk(since)), (.bulk("group"), .bulk(group)),
            (.bulk("complexity"), .bulk(complexity)),
        ]
        if !arguments.isEmpty { pairs.append((.bulk("arguments"), .array(arguments.map(\.docs)))) }
        if !subcommands.isEmpty { pairs.append((.bulk("subcommands"), .map(subcommands.map { (.bulk($0.name), $0.docs) }))) }
        return .map(pairs)
    }
}

extension CommandSpec.Argument {
    var docs: RESPValue {
        var pairs: [(RESPValue, RESPValue)] = [(.bulk("name"), .bulk(name)), (.bulk("type"), .bulk(type))]
        if let token { pairs.append((.bulk("token"), .bulk(token))) }
        let flags = (optional ? ["optional"] : []) + (multiple ? ["multiple"] : [])
        if !flags.isEmpty { pairs.append((.bulk("flags"), .array(flags.map(RESPValue.simpleString)))) }
        if !arguments.isEmpty { pairs.append((.bulk("arguments"), .array(arguments.map(\.docs)))) }
        return .map(pairs)
    }
}

enum CommandTable {
    typealias Argument = CommandSpec.Argument

    static let all: [CommandSpec] = strings + keys + scripting + server + connection + native + admin

    static let byName: [String: CommandSpec] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    static let strings: [CommandSpec] = [
        CommandSpec(name: "get", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Returns the string value of a key.", arguments: [.key()]),
        CommandSpec(name: "set", arity: -3, flags: ["write", "denyoom"], keys: (1, 1, 1), group: "string",
                    summary: "Sets the string value of a key; EXAT/PXAT are instants of cluster time.", arguments: [
                        .key(), .string("value"), .oneOf("condition", [.flag("NX"), .flag("XX")]),
                        Argument(name: "get", type: "pure-token", token: "GET", optional: true),
                        .oneOf("expiration", [.integer("seconds", token: "EX"), .integer("milliseconds", token: "PX"),
                                              Argument(name: "unix-time-seconds", type: "unix-time", token: "EXAT"),
                                              Argument(name: "unix-time-milliseconds", type: "unix-time", token: "PXAT"),
                                              .flag("KEEPTTL")]),
                    ]),
        CommandSpec(name: "getset", arity: 3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Returns the previous string value of a key after setting it to a new value.", since: "1.0.0",
                    arguments: [.key(), .string("value")]),
        CommandSpec(name: "getdel", arity: 2, flags: ["write", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Returns the string value of a key after deleting the key.", since: "6.2.0", arguments: [.key()]),
        CommandSpec(name: "mget", arity: -2, flags: ["readonly", "fast"], keys: (1, -1, 1), group: "string",
                    summary: "Atomically returns the string values of one or more keys.", complexity: "O(N)",
                    arguments: [.key(multiple: true)]),
        CommandSpec(name: "mset", arity: -3, flags: ["write", "denyoom"], keys: (1, -1, 2), group: "string",
                    summary: "Atomically creates or modifies the string values of one or more keys.", complexity: "O(N)",
                    arguments: [Argument(name: "data", type: "block", multiple: true, arguments: [.key(), .string("value")])]),
        CommandSpec(name: "incr", arity: 2, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Increments the integer value of a key by one.", arguments: [.key()]),
        CommandSpec(name: "decr", arity: 2, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Decrements the integer value of a key by one.", arguments: [.key()]),
        CommandSpec(name: "incrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Increments the integer value of a key by a number.", arguments: [.key(), .integer("increment")]),
        CommandSpec(name: "decrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
                    summary: "Decrements a number from the integer value of a key.", arguments: [.key(), .integer("decrement")]),
    ]

    static let keys: [CommandSpec] = [
        CommandSpec(name: "del", arity: -2, flags: ["write"], keys: (1, -1, 1), group: "generic",
                    summary: "Deletes one or more keys.", complexity: "O(N)", arguments: [.key(multiple: true)]),
        CommandSpec(name: "unlink", arity: -2, flags: ["write", "fast"], keys: (1, -1, 1), group: "generic",
                    summary: "Deletes one or more keys.", since: "4.0.0", complexity: "O(N)", arguments: [.key(multiple: true)]),
        CommandSpec(name: "exists", arity: -2, flags: ["readonly", "fast"], keys: (1, -1, 1), group: "generic",
                    summary: "Determines whether one or more keys exist.", complexity: "O(N)", arguments: [.key(multiple: true)]),
        expire("expire", "seconds", "Sets the expiration time of a key in seconds."),
        expire("pexpire", "milliseconds", "Sets the expiration time of a key in milliseconds.", since: "2.6.0"),
        expire("expireat", "unix-time-seconds", "Sets the expiration time of a key to an instant of cluster time (s).", since: "1.2.0"),
        expire("pexpireat", "unix-time-milliseconds", "Sets the expiration time of a key to an instant of cluster time (ms).",
               since: "2.6.0"),
        CommandSpec(name: "ttl", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "generic",
                    summary: "Returns the expiration time in seconds of a key.", arguments: [.key()]),
        CommandSpec(name: "pttl", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "generic",
                    summary: "Returns the expiration time in milliseconds of a key.", since: "2.6.0", arguments: [.key()]),
        CommandSpec(name: "persist", arity: 2, flags: ["write", "fast"], keys: (1, 1, 1), group: "generic",
                    summary: "Removes the expiration time of a key.", since: "2.2.0", arguments: [.key()]),
        CommandSpec(name: "scan", arity: -2, flags: ["readonly"], group: "generic",
                    summary: "Iterates over the key names in the database.", since: "2.8.0", complexity: "O(1) per call", arguments: [
                        .integer("cursor"), Argument(name: "pattern", type: "pattern", token: "MATCH", optional: true),
                        .integer("count", token: "COUNT", optional: true), .string("type", token: "TYPE", optional: true),
                    ]),
        CommandSpec(name: "keys", arity: 2, flags: ["readonly"], group: "generic",
                    summary: "Returns all key names that match a pattern.", complexity: "O(N)",
                    arguments: [Argument(name: "pattern", type: "pattern")]),
    ]

    static let scripting: [CommandSpec] = [
        CommandSpec(name: "eval", arity: -3, flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
                    group: "scripting", summary: "Executes a server-side Lua script, atomically, on every replica.", since: "2.6.0",
                    complexity: "Depends on the script that is executed.", arguments: [
                        .string("script"), .integer("numkeys"),
                        Argument(name: "key", type: "key", optional: true, multiple: true),
                        Argument(name: "arg", type: "string", optional: true, multiple: true),
                    ]),
        CommandSpec(name: "evalsha", arity: -3, flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
                    group: "scripting", summary: "Executes a server-side Lua script by SHA1 digest.", since: "2.6.0",
                    complexity: "Depends on the script that is executed.", arguments: [
                        .string("sha1"), .integer("numkeys"),
                        Argument(name: "key", type: "key", optional: true, multiple: true),
                        Argument(name: "arg", type: "string", optional: true, multiple: true),
                    ]),
        CommandSpec(name: "script", arity: -2, flags: [], group: "scripting", summary: "A container for Lua scripts management commands.",
                    since: "2.6.0", subcommands: [
                        CommandSpec(name: "script|load", arity: 3, flags: ["noscript", "stale"], group: "scripting",
                                    summary: "Loads a server-side Lua script to the script cache.", since: "2.6.0",
                                    complexity: "O(N) with N being the length in bytes of the script body.",
                                    arguments: [.string("script")]),
                        CommandSpec(name: "script|exists", arity: -3, flags: ["noscript"], group: "scripting",
                                    summary: "Determines whether server-side Lua scripts exist in the script cache.", since: "2.6.0",
                                    complexity: "O(N) with N being the number of scripts to check.",
                                    arguments: [Argument(name: "sha1", type: "string", multiple: true)]),
                        CommandSpec(name: "script|flush", arity: -2, flags: ["noscript"], group: "scripting",
                                    summary: "Removes all server-side Lua scripts from the script cache.", since: "2.6.0",
                                    complexity: "O(N) with N being the number of scripts in cache",
                                    arguments: [.oneOf("flush-type", [.flag("ASYNC"), .flag("SYNC")])]),
                        CommandSpec(name: "script|kill", arity: 2, flags: ["noscript"], group: "scripting",
                                    summary: "Terminates a server-side Lua script during execution (never needed: a script's budget ends it).",
                                    since: "2.6.0"),
                    ]),
    ]

    static let server: [CommandSpec] = [
        CommandSpec(name: "dbsize", arity: 1, flags: ["readonly", "fast"], group: "server",
                    summary: "Returns the number of keys in the database."),
        CommandSpec(name: "flushdb", arity: -1, flags: ["write"], group: "server",
                    summary: "Removes all keys from the database.", complexity: "O(N)",
                    arguments: [.oneOf("flush-type", [.flag("ASYNC"), .flag("SYNC")])]),
        CommandSpec(name: "flushall", arity: -1, flags: ["write"], group: "server",
                    summary: "Removes all keys from the database (a cluster has one).", complexity: "O(N)",
                    arguments: [.oneOf("flush-type", [.flag("ASYNC"), .flag("SYNC")])]),
        CommandSpec(name: "info", arity: -1, flags: ["loading", "stale"], group: "server",
                    summary: "Returns information and statistics about the node and the cluster.",
                    arguments: [Argument(name: "section", type: "string", optional: true, multiple: true)]),
        CommandSpec(name: "config", arity: -2, flags: [], group: "server", summary: "A container for server configuration commands.",
                    since: "2.0.0", subcommands: [
                        CommandSpec(name: "config|get", arity: -3, flags: ["loading", "stale"], group: "server",
                                    summary: "Returns the effective values of configuration parameters.", since: "2.0.0",
                                    complexity: "O(N)", arguments: [Argument(name: "parameter", type: "string", multiple: true)]),
                    ]),
        CommandSpec(name: "command", arity: -1, flags: ["loading", "stale"], group: "server",
                    summary: "Returns detailed information about all commands.", since: "2.8.13", complexity: "O(N)", subcommands: [
                        CommandSpec(name: "command|count", arity: 2, flags: ["loading", "stale"], group: "server",
                                    summary: "Returns a count of commands.", since: "2.8.13"),
                        CommandSpec(name: "command|docs", arity: -2, flags: ["loading", "stale"], group: "server",
                                    summary: "Returns documentary information about one, multiple or all commands.", since: "7.0.0",
                                    complexity: "O(N)",
                                    arguments: [Argument(name: "command-name", type: "string", optional: true, multiple: true)]),
                        CommandSpec(name: "command|info", arity: -2, flags: ["loading", "stale"], group: "server",
                                    summary: "Returns information about one, multiple or all commands.", since: "2.8.13",
                                    complexity: "O(N)",
                                    arguments: [Argument(name: "command-name", type: "string", optional: true, multiple: true)]),
                        CommandSpec(name: "command|list", arity: -2, flags: ["loading", "stale"], group: "server",
                                    summary: "Returns a list of command names.", since: "7.0.0", complexity: "O(N)"),
                    ]),
    ]

    static let connection: [CommandSpec] = [
        CommandSpec(name: "ping", arity: -1, flags: ["fast"], group: "connection", summary: "Returns the server's liveliness response.",
                    arguments: [.string("message", optional: true)]),
        CommandSpec(name: "echo", arity: 2, flags: ["fast"], group: "connection", summary: "Returns the given string.",
                    arguments: [.string("message")]),
        CommandSpec(name: "hello", arity: -1, flags: ["noauth", "fast"], group: "connection",
                    summary: "Handshakes with the node: protocol version, authentication, client name.", since: "6.0.0", arguments: [
                        Argument(name: "arguments", type: "block", optional: true, arguments: [
                            .integer("protover"),
                            Argument(name: "auth", type: "block", token: "AUTH", optional: true,
                                     arguments: [.string("username"), .string("password")]),
                            .string("clientname", token: "SETNAME", optional: true),
                        ]),
                    ]),
        CommandSpec(name: "auth", arity: -2, flags: ["noauth", "fast"], group: "connection",
                    summary: "Authenticates the connection with the cluster token.",
                    arguments: [.string("username", optional: true), .string("password")]),
        CommandSpec(name: "quit", arity: -1, flags: ["noauth", "fast"], group: "connection", summary: "Closes the connection."),
        CommandSpec(name: "select", arity: 2, flags: ["fast"], group: "connection",
                    summary: "Selects the database: a cluster has one, 0.", arguments: [.integer("index")]),
        CommandSpec(name: "client", arity: -2, flags: [], group: "connection", summary: "A container for client connection commands.",
                    since: "2.4.0", subcommands: [
                        CommandSpec(name: "client|id", arity: 2, flags: ["fast"], group: "connection",
                                    summary: "Returns the unique client ID of the connection.", since: "5.0.0"),
                        CommandSpec(name: "client|getname", arity: 2, flags: ["fast"], group: "connection",
                                    summary: "Returns the name of the connection.", since: "2.6.9"),
                        CommandSpec(name: "client|setname", arity: 3, flags: ["fast"], group: "connection",
                                    summary: "Sets the connection name.", since: "2.6.9", arguments: [.string("connection-name")]),
                        CommandSpec(name: "client|info", arity: 2, flags: [], group: "connection",
                                    summary: "Returns information about the connection.", since: "6.2.0"),
                        CommandSpec(name: "client|setinfo", arity: 4, flags: [], group: "connection",
                                    summary: "Sets information specific to the client or connection.", since: "7.2.0",
                                    arguments: [.string("attr"), .string("value")]),
                    ]),
    ]

    private static func expire(_ name: String, _ unit: String, _ summary: String, since: String = "1.0.0") -> CommandSpec {
        CommandSpec(name: name, arity: -3, flags: ["write", "fast"], keys: (1, 1, 1), group: "generic", summary: summary, since: since,
                    arguments: [
                        .key(), Argument(name: unit, type: unit.hasPrefix("unix") ? "unix-time" : "integer"),
                        .oneOf("condition", [.flag("NX"), .flag("XX"), .flag("GT"), .flag("LT")]),
                    ])
    }

    /// `COMMAND [COUNT | INFO name… | DOCS name… | LIST]`.
    static func reply(_ rest: [String]) -> RESPValue {
        let names = rest.dropFirst().map { $0.lowercased() }
        switch rest.first?.uppercased() {
        case nil: return .array(all.map(\.info))
        case "COUNT": return .integer(Int64(all.count))
        case "LIST": return .array(all.map { .bulk($0.name) })
        case "INFO": return .array(names.isEmpty ? all.map(\.info) : names.map { byName[$0]?.info ?? .null })
        case "DOCS":
            let chosen = names.isEmpty ? all : names.compactMap { byName[$0] }
            return .map(chosen.map { (.bulk($0.name), $0.docs) })
        case let sub?:
            return .error("ERR unknown subcommand '\(sub.prefix(64))'. Try COMMAND HELP.")
        }
    }
}
