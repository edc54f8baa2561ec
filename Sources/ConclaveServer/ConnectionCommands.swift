import ConclaveCore
import ConclaveWire

/// The commands a connection answers itself, without the node: HELLO, AUTH, PING, ECHO, QUIT,
/// SELECT, CLIENT and COMMAND. Reply shapes and errors follow Redis, so redis-cli and client
/// libraries work unchanged. With a token set, only HELLO, AUTH, PING and QUIT (which closes
/// and tells nothing) answer before AUTH; anything else is `NOAUTH`.
enum ConnectionCommands {
    struct Outcome {
        var reply: RESPValue
        var authenticated = false
        var quit = false
    }

    /// The Redis version clients see in HELLO and INFO (for feature checks); the server name says
    /// what it really is.
    static let redisVersion = "7.2.0"

    static let names: Set<String> = ["AUTH", "HELLO", "QUIT", "PING", "COMMAND", "ECHO", "SELECT", "CLIENT"]

    /// nil when the command is not a connection command (the node runs it).
    static func handle(_ arguments: [[UInt8]], connection: ClientConnection, password: String?) -> Outcome? {
        let name = CommandName.uppercased(arguments[0], limit: 16)
        // The node's commands pass through untouched (their arguments not decoded here).
        guard names.contains(name) || !connection.authenticated else { return nil }
        let rest = arguments.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        switch name {
        case "AUTH": return auth(rest, connection: connection, password: password)
        case "HELLO": return hello(rest, connection: connection, password: password)
        case "QUIT": return Outcome(reply: .simpleString("OK"), quit: true)
        case "PING":
            guard rest.count <= 1 else { return arity("ping") }
            return Outcome(reply: arguments.count == 2 ? .bulkString(arguments[1]) : .simpleString("PONG"))
        default: break
        }
        guard connection.authenticated else { return Outcome(reply: .error("NOAUTH Authentication required.")) }
        switch name {
        case "COMMAND":
            return Outcome(reply: CommandTable.reply(rest))
        case "ECHO":
            guard arguments.count == 2 else { return arity("echo") }
            return Outcome(reply: .bulkString(arguments[1]))
        case "SELECT":
            guard rest.count == 1 else { return arity("select") }
            guard let index = Int(rest[0]) else { return Outcome(reply: .error("ERR value is not an integer or out of range")) }
            return Outcome(reply: index == 0 ? .simpleString("OK") : .error("ERR DB index is out of range (a Conclave cluster has one database, 0)"))
        case "CLIENT":
            return client(rest, connection: connection)
        default:
            return nil
        }
    }

    static func arity(_ command: String) -> Outcome {
        Outcome(reply: .error("ERR wrong number of arguments for '\(command)' command"))
    }

    private static func auth(_ rest: [String], connection: ClientConnection, password: String?) -> Outcome {
        guard (1...2).contains(rest.count) else { return arity("auth") }
        guard let password else {
            return Outcome(reply: .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
        }
        guard let given = rest.last, tokensMatch(given, password), rest.count == 1 || rest[0] == "default" else {
            return Outcome(reply: .error("WRONGPASS invalid username-password pair or user is disabled."))
        }
        connection.authenticated = true
        return Outcome(reply: .simpleString("OK"), authenticated: true)
    }

    /// Compares a client's token with the cluster's in time that depends only on the cluster
    /// token's length, never on where the two first differ (no timing oracle for guessing it).
    static func tokensMatch(_ given: String, _ expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for index in 0..<expected.count {
            difference |= (index < given.count ? given[index] : 0) ^ expected[index]
        }
        return difference == 0
    }

    private static func hello(_ rest: [String], connection: ClientConnection, password: String?) -> Outcome {
        var index = 0
        var version = connection.version
        if let first = rest.first {
            guard let number = Int(first) else { return Outcome(reply: .error("ERR Protocol version is not an integer or out of range")) }
            guard let chosen = RESPVersion(rawValue: number) else { return Outcome(reply: .error("NOPROTO unsupported protocol version")) }
            version = chosen
            index = 1
        }
        var outcome = Outcome(reply: .null)
        while index < rest.count {
            switch rest[index].uppercased() {
            case "AUTH" where index + 2 < rest.count:
                let result = auth([rest[index + 1], rest[index + 2]], connection: connection, password: password)
                guard case .simpleString = result.reply else { return result }
                outcome.authenticated = true
                index += 3
            case "SETNAME" where index + 1 < rest.count:
                connection.name = rest[index + 1]
                index += 2
            default:
                return Outcome(reply: .error("ERR Syntax error in HELLO option '\(rest[index])'"))
            }
        }
        guard connection.authenticated else {
            return Outcome(reply: .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
        }
        connection.version = version
        outcome.reply = .map([
            (.bulk("server"), .bulk("conclave")), (.bulk("version"), .bulk(redisVersion)),
            (.bulk("proto"), .integer(Int64(version.rawValue))), (.bulk("id"), .integer(Int64(connection.id))),
            (.bulk("mode"), .bulk("standalone")), (.bulk("role"), .bulk("master")), (.bulk("modules"), .array([])),
        ])
        return outcome
    }

    private static func client(_ rest: [String], connection: ClientConnection) -> Outcome {
        switch (rest.first?.uppercased(), rest.count) {
        case ("ID", 1): return Outcome(reply: .integer(Int64(connection.id)))
        case ("GETNAME", 1): return Outcome(reply: connection.name.isEmpty ? .null : .bulk(connection.name))
        case ("SETNAME", 2):
            guard !rest[1].contains(where: { $0 == " " || $0 == "\n" }) else {
                return Outcome(reply: .error("ERR Client names cannot contain spaces, newlines or special characters."))
            }
            connection.name = rest[1]
            return Outcome(reply: .simpleString("OK"))
        case ("INFO", 1):
            return Outcome(reply: .bulk("id=\(connection.id) addr=\(connection.remote) name=\(connection.name) db=0 resp=\(connection.version.rawValue) cmd-count=\(connection.commandsProcessed)\n"))
        case ("SETINFO", 3):
            return Outcome(reply: .simpleString("OK"))  // redis-py and others send lib-name/lib-ver
        case (let sub?, _):
            return Outcome(reply: .error("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try CLIENT HELP."))
        case (nil, _):
            return arity("client")
        }
    }
}
