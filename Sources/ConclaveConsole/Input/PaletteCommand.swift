/// What a `:` command line asks for.
public enum PaletteCommand: Equatable, Sendable {
    case control(ClusterControl)
    case showView(ViewID)
    case quit
    case help
}

/// A palette line that does not parse: what was wrong and what is accepted.
public struct PaletteError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses palette lines (`kill 3`, `kill leader`, `partition 1,2 | 3,4,5`, `lock acquire a --ttl 5s`).
/// Every error names what was expected, with the command's usage.
public enum PaletteParser {
    /// Command names with their usage, in the order help lists them; completion draws on these.
    public static let usage: [(name: String, usage: String)] = [
        ("kill", "kill NODE|leader"), ("restart", "restart NODE|leader|all"), ("partition", "partition 1,2 | 3,4,5"),
        ("heal", "heal"), ("isolate", "isolate NODE|leader"), ("drop", "drop PERCENT"), ("delay", "delay MILLIS"),
        ("duplicate", "duplicate PERCENT"), ("pause", "pause NODE|leader DURATION (e.g. 3s)"),
        ("skew", "skew NODE|leader ±MILLIS"), ("transfer", "transfer NODE"), ("add", "add (a node, as a learner)"),
        ("remove", "remove NODE|leader"), ("lock", "lock acquire|release NAME [--client C] [--ttl DURATION] · lock write NAME KEY=VALUE [--client C]"),
        ("expire", "expire CLIENT (close its session)"), ("clients", "clients N (0…32)"), ("rate", "rate N (ops/s per client, 0…200)"),
        ("contention", "contention PERCENT (acquires on the hot lock)"), ("spin", "spin PERCENT (lock clients spinning on try-lock)"), ("locks", "locks N (1…64)"),
        ("speed", "speed X (0.01…100)"), ("time", "time pause|resume|step"), ("step", "step (one event)"),
        ("breaker", "breaker node-N open|disable|reset"),
        ("put", "put KEY VALUE (etcd, Redis)"), ("revoke", "revoke LEASE (etcd lease ID in hex)"), ("paxos", "paxos leader|backoff on|off (Paxos engine)"), ("view", "view 1…\(ViewID.allCases.count)|NAME"), ("help", "help"), ("quit", "quit"),
    ]

    public static func parse(_ line: String) throws(PaletteError) -> PaletteCommand {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = words.first?.lowercased() else { throw PaletteError("empty command; try :help") }
        let arguments = Array(words.dropFirst())
        func usageLine() -> String { Self.usage.first { $0.name == name }.map { "usage: :\($0.usage)" } ?? "" }
        func expectCount(_ count: Int) throws(PaletteError) {
            guard arguments.count == count else {
                throw PaletteError("\(name) takes \(count == 0 ? "no arguments" : "\(count) argument\(count == 1 ? "" : "s")"), got \(arguments.count); \(usageLine())")
            }
        }
        switch name {
        case "kill", "restart", "isolate", "transfer", "remove":
            try expectCount(1)
            if name == "restart" && arguments[0].lowercased() == "all" { return .control(.restartAll) }
            let node = try nodeRef(arguments[0], usage: usageLine())
            switch name {
            case "kill": return .control(.kill(node))
            case "restart": return .control(.restart(node))
            case "isolate": return .control(.isolate(node))
            case "transfer": return .control(.transfer(to: node))
            default: return .control(.removeNode(node))
            }
        case "partition":
            return .control(.partition(try partitionGroups(arguments.joined(separator: " "), usage: usageLine())))
        case "heal":
            try expectCount(0)
            return .control(.heal)
        case "add":
            try expectCount(0)
            return .control(.addNode)
        case "drop", "duplicate", "contention", "spin":
            try expectCount(1)
            let percent = try integer(arguments[0].hasSuffix("%") ? String(arguments[0].dropLast()) : arguments[0],
                                      in: 0...100, what: "a percentage 0…100", usage: usageLine())
            if name == "drop" { return .control(.drop(percent: percent)) }
            if name == "duplicate" { return .control(.duplicate(percent: percent)) }
            return .control(.workload(name == "spin" ? .spin : .contention, percent))
        case "delay":
            try expectCount(1)
            return .control(.delay(millis: UInt64(try integer(arguments[0].replacingSuffix("ms"), in: 0...60_000, what: "milliseconds 0…60000", usage: usageLine()))))
        case "pause":
            try expectCount(2)
            return .control(.pause(try nodeRef(arguments[0], usage: usageLine()), millis: try duration(arguments[1], usage: usageLine())))
        case "skew":
            try expectCount(2)
            let millis = try integer(arguments[1].replacingSuffix("ms"), in: -3_600_000...3_600_000, what: "±milliseconds within an hour", usage: usageLine())
            return .control(.skew(try nodeRef(arguments[0], usage: usageLine()), millis: Int64(millis)))
        case "lock":
            return .control(try lock(arguments, usage: usageLine()))
        case "expire":
            try expectCount(1)
            return .control(.expireSession(client: try integer(arguments[0], in: 0...99, what: "a client number 0…99", usage: usageLine())))
        case "clients", "rate", "locks":
            try expectCount(1)
            let knob = WorkloadKnob(rawValue: name)!
            return .control(.workload(knob, try integer(arguments[0], in: 0...1_000, what: "a number", usage: usageLine())))
        case "paxos":
            try expectCount(2)
            guard let knob = PaxosKnob(rawValue: arguments[0].lowercased()) else {
                throw PaletteError("paxos: '\(arguments[0])' is not leader or backoff; \(usageLine())")
            }
            switch arguments[1].lowercased() {
            case "on": return .control(.paxos(knob, true))
            case "off": return .control(.paxos(knob, false))
            default: throw PaletteError("paxos \(knob.rawValue): '\(arguments[1])' is not on or off; \(usageLine())")
            }
        case "speed":
            try expectCount(1)
            let text = arguments[0].hasSuffix("x") || arguments[0].hasSuffix("×") ? String(arguments[0].dropLast()) : arguments[0]
            guard let value = Double(text), TimeControl.speedRange.contains(value) else {
                throw PaletteError("speed: '\(arguments[0])' is not a number in 0.01…100; \(usageLine())")
            }
            return .control(.time(.speed(value)))
        case "time":
            try expectCount(1)
            switch arguments[0].lowercased() {
            case "pause": return .control(.time(.pause))
            case "resume": return .control(.time(.resume))
            case "step": return .control(.time(.step))
            default: throw PaletteError("time: '\(arguments[0])' is not pause, resume or step; \(usageLine())")
            }
        case "step":
            try expectCount(0)
            return .control(.time(.step))
        case "breaker":
            try expectCount(2)
            guard let action = BreakerAction(rawValue: arguments[1].lowercased()) else {
                throw PaletteError("breaker: '\(arguments[1])' is not open, disable or reset; \(usageLine())")
            }
            return .control(.breaker(name: arguments[0].lowercased(), action))
        case "view":
            try expectCount(1)
            if let number = Int(arguments[0]), let view = ViewID(rawValue: number) { return .showView(view) }
            if let view = ViewID.allCases.first(where: { $0.title.lowercased().hasPrefix(arguments[0].lowercased()) }) { return .showView(view) }
            throw PaletteError("view: '\(arguments[0])' is not 1…\(ViewID.allCases.count) or a view name (\(ViewID.allCases.map(\.title).joined(separator: ", ")))")
        case "put":
            guard arguments.count >= 2, (1...1_024).contains(arguments[0].utf8.count) else {
                throw PaletteError("put needs a key (1–1024 bytes) and a value; \(usageLine())")
            }
            return .control(.engine(.put(key: arguments[0], value: arguments.dropFirst().joined(separator: " "))))
        case "revoke":
            try expectCount(1)
            let hex = arguments[0].lowercased().hasPrefix("0x") ? String(arguments[0].dropFirst(2)) : arguments[0]
            guard let id = UInt64(hex, radix: 16), id != 0 else {
                throw PaletteError("revoke: '\(arguments[0])' is not a lease ID in hex (as the Members view lists them); \(usageLine())")
            }
            return .control(.engine(.revokeLease(String(id, radix: 16))))
        case "help":
            return .help
        case "quit", "q":
            return .quit
        default:
            let names = Self.usage.map(\.name)
            let close = names.filter { $0.hasPrefix(String(name.prefix(2))) }
            throw PaletteError("unknown command '\(name)'" + (close.isEmpty ? "" : "; did you mean \(close.joined(separator: ", "))?")
                               + " Commands: \(names.joined(separator: " "))")
        }
    }

    static func nodeRef(_ word: String, usage: String) throws(PaletteError) -> NodeRef {
        if word.lowercased() == "leader" { return .leader }
        guard let id = UInt64(word), id >= 1 else {
            throw PaletteError("'\(word)' is not a node: give a node number (1, 2, …) or 'leader'; \(usage)")
        }
        return .id(id)
    }

    static func partitionGroups(_ text: String, usage: String) throws(PaletteError) -> [[NodeRef]] {
        let groups = text.split(separator: "|", omittingEmptySubsequences: false).map { $0.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
        guard !groups.isEmpty, groups.allSatisfy({ !$0.isEmpty }) else {
            throw PaletteError("partition needs groups of nodes separated by '|', e.g. 1,2 | 3,4,5; \(usage)")
        }
        var result: [[NodeRef]] = []
        for group in groups {
            var nodes: [NodeRef] = []
            for word in group { nodes.append(try nodeRef(word, usage: usage)) }
            result.append(nodes)
        }
        return result
    }

    static func integer(_ word: String, in range: ClosedRange<Int>, what: String, usage: String) throws(PaletteError) -> Int {
        guard let value = Int(word), range.contains(value) else { throw PaletteError("'\(word)' is not \(what); \(usage)") }
        return value
    }

    /// "500ms", "3s", "2m" → milliseconds (at most a day).
    static func duration(_ word: String, usage: String) throws(PaletteError) -> UInt64 {
        let units: [(String, UInt64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, scale) in units where word.hasSuffix(suffix) {
            if let value = Double(word.dropLast(suffix.count)), value >= 0, value * Double(scale) <= 86_400_000 {
                return UInt64(value * Double(scale))
            }
        }
        throw PaletteError("'\(word)' is not a duration like 500ms, 3s, 2m (at most a day); \(usage)")
    }

    static func lock(_ arguments: [String], usage: String) throws(PaletteError) -> ClusterControl {
        guard arguments.count >= 2, ["acquire", "release", "write"].contains(arguments[0].lowercased()) else {
            throw PaletteError("lock needs acquire, release or write and a lock name; \(usage)")
        }
        let name = arguments[1]
        var write: (String, String)?
        var arguments = arguments
        if arguments[0].lowercased() == "write" {
            guard arguments.count >= 3, let equals = arguments[2].firstIndex(of: "="), equals != arguments[2].startIndex else {
                throw PaletteError("lock write needs KEY=VALUE after the lock name; \(usage)")
            }
            write = (String(arguments[2][..<equals]), String(arguments[2][arguments[2].index(after: equals)...]))
            arguments.remove(at: 2)
        }
        guard (1...256).contains(name.utf8.count) else { throw PaletteError("lock names are 1–256 bytes") }
        var client = 1
        var ttl: UInt64?
        var rest = Array(arguments.dropFirst(2))
        while !rest.isEmpty {
            let option = rest.removeFirst()
            guard !rest.isEmpty else { throw PaletteError("\(option) needs a value; \(usage)") }
            let value = rest.removeFirst()
            switch option {
            case "--client": client = try integer(value, in: 1...99, what: "a console client 1…99", usage: usage)
            case "--ttl": ttl = try duration(value, usage: usage)
            default: throw PaletteError("unknown option '\(option)'; accepted: --client C, --ttl DURATION")
            }
        }
        if let (key, value) = write {
            guard ttl == nil else { throw PaletteError("write takes no --ttl; \(usage)") }
            return .lockWrite(name: name, key: key, value: value, client: client)
        }
        if arguments[0].lowercased() == "release" {
            guard ttl == nil else { throw PaletteError("release takes no --ttl; \(usage)") }
            return .lockRelease(name: name, client: client)
        }
        return .lockAcquire(name: name, client: client, ttlMillis: ttl)
    }

    /// Completion of the command name under the cursor: the candidates, and the longest prefix
    /// they share (what Tab fills in).
    public static func complete(_ line: String) -> (candidates: [String], completed: String) {
        guard !line.contains(" ") else {
            let first = String(line.prefix { $0 != " " }).lowercased()
            if first == "lock" {
                let rest = line.dropFirst(5)
                let options = ["acquire", "release", "write"].filter { $0.hasPrefix(rest.lowercased()) }
                return (options, options.count == 1 ? "lock \(options[0]) " : line)
            }
            return ([], line)
        }
        let candidates = usage.map(\.name).filter { $0.hasPrefix(line.lowercased()) }
        guard let first = candidates.first else { return ([], line) }
        var prefix = first
        for candidate in candidates.dropFirst() {
            while !candidate.hasPrefix(prefix) { prefix.removeLast() }
        }
        return (candidates, candidates.count == 1 ? prefix + " " : prefix)
    }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
