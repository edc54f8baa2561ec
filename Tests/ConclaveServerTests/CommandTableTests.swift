import ConclaveWire
import Testing
@testable import ConclaveServer

/// COMMAND and its subcommands, in the shapes redis-cli reads: 7.0 takes names and arities from
/// COMMAND, 7.2 builds help and hints from COMMAND DOCS and asserts every field's type.
struct CommandTableTests {
    @Test("COMMAND COUNT, LIST and INFO agree with the table; INFO of an unknown name is nil")
    func countListInfo() throws {
        #expect(CommandTable.reply(["COUNT"]) == .integer(Int64(CommandTable.all.count)))
        guard case .array(let names) = CommandTable.reply(["LIST"]) else { Issue.record("LIST"); return }
        #expect(names.count == CommandTable.all.count)
        #expect(Set(CommandTable.all.map(\.name)).count == CommandTable.all.count, "each command once")
        guard case .array(let info) = CommandTable.reply(["INFO", "GET", "nope"]) else { Issue.record("INFO"); return }
        #expect(info.count == 2)
        #expect(info[1] == .null)
        guard case .array(let get) = info[0] else { Issue.record("INFO GET"); return }
        #expect(get.count == 10)
        #expect(get[0] == .bulk("get"))
        #expect(get[1] == .integer(2))
        #expect(get[3] == .integer(1) && get[4] == .integer(1) && get[5] == .integer(1))
        guard case .array(let all) = CommandTable.reply([]) else { Issue.record("COMMAND"); return }
        #expect(all.count == CommandTable.all.count)
        #expect(CommandTable.reply(["NOPE"]) == .error("ERR unknown subcommand 'NOPE'. Try COMMAND HELP."))
    }

    /// redis-cli 7.2's `cliInitCommandHelpEntry` and `cliAddArgument`, as checks: a map of name →
    /// map; summary, since, group strings; arguments an array of maps with name and type strings,
    /// token a string, flags simple strings; subcommands a map of the same.
    private func checkDocs(_ docs: RESPValue, _ path: String) -> String? {
        guard case .map(let fields) = docs else { return "\(path): not a map" }
        for (key, value) in fields {
            guard case .bulkString(let keyBytes) = key else { return "\(path): a key that is not a string" }
            let name = String(decoding: keyBytes, as: UTF8.self)
            switch name {
            case "summary", "since", "group", "complexity":
                guard case .bulkString = value else { return "\(path).\(name): not a string" }
            case "arguments":
                guard case .array(let arguments) = value else { return "\(path).arguments: not an array" }
                for argument in arguments { if let problem = checkArgument(argument, path) { return problem } }
            case "subcommands":
                guard case .map(let subcommands) = value else { return "\(path).subcommands: not a map" }
                for (subName, subDocs) in subcommands {
                    guard case .bulkString(let bytes) = subName, bytes.contains(UInt8(ascii: "|")) else {
                        return "\(path): a subcommand not named command|sub"
                    }
                    if let problem = checkDocs(subDocs, path + "|sub") { return problem }
                }
            default:
                return "\(path): unexpected field \(name)"
            }
        }
        return nil
    }

    private func checkArgument(_ argument: RESPValue, _ path: String) -> String? {
        guard case .map(let fields) = argument else { return "\(path): an argument that is not a map" }
        var type: String?
        for (key, value) in fields {
            guard case .bulkString(let keyBytes) = key else { return "\(path): an argument key that is not a string" }
            switch String(decoding: keyBytes, as: UTF8.self) {
            case "name", "token": guard case .bulkString = value else { return "\(path): argument name or token not a string" }
            case "type":
                guard case .bulkString(let bytes) = value else { return "\(path): argument type not a string" }
                type = String(decoding: bytes, as: UTF8.self)
            case "flags":
                guard case .array(let flags) = value, flags.allSatisfy({ if case .simpleString = $0 { true } else { false } }) else {
                    return "\(path): flags not an array of simple strings"
                }
            case "arguments":
                guard case .array(let nested) = value else { return "\(path): nested arguments not an array" }
                for inner in nested { if let problem = checkArgument(inner, path) { return problem } }
            default:
                return "\(path): unexpected argument field"
            }
        }
        let known = ["key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block"]
        guard let type, known.contains(type) else { return "\(path): argument type \(type ?? "missing")" }
        return nil
    }

    @Test("COMMAND DOCS has the shape redis-cli 7.2 asserts, for every command")
    func docsShape() {
        guard case .map(let commands) = CommandTable.reply(["DOCS"]) else { Issue.record("DOCS is not a map"); return }
        #expect(commands.count == CommandTable.all.count)
        for (name, docs) in commands {
            guard case .bulkString(let bytes) = name else { Issue.record("a name that is not a string"); continue }
            let command = String(decoding: bytes, as: UTF8.self)
            #expect(checkDocs(docs, command) == nil, "\(command)")
        }
        guard case .map(let one) = CommandTable.reply(["DOCS", "set"]) else { Issue.record("DOCS set"); return }
        #expect(one.count == 1)
    }

    @Test("every command in the table is one a node answers: none is 'unknown command'")
    func tableMatchesCommands() {
        let connection = ConnectionCommands.names.map { $0.lowercased() }
        for command in CommandTable.all where !connection.contains(command.name) {
            let words = [command.name] + Array(repeating: "0", count: max(0, abs(command.arity) - 1))
            let name = command.name.uppercased()
            let rest = words.dropFirst().map { Array($0.utf8) }
            func refusal<Parsed>(_ result: Result<Parsed, RESPError>) -> RESPError? {
                if case .failure(let error) = result { return error } else { return nil }
            }
            let error = NativeCommands.handles(name) ? refusal(NativeCommands.parse(name, rest))
                : AdminCommands.handles(name) ? refusal(AdminCommands.parse(name, rest))
                : refusal(KVCommands.parse(words.map { Array($0.utf8) }))
            if let error {
                #expect(!error.message.hasPrefix("ERR unknown command"), "\(command.name) is listed but unknown")
            }
        }
    }
}
