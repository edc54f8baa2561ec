import ConclaveCore
import ConclaveWire

/// What an ADMIN.* command asks of the node that receives it (README "Admin commands").
public enum AdminCommand: Equatable, Sendable {
    /// Drop every peer message to and from these nodes.
    case partition([NodeID])
    /// Remove the link rules for these nodes (empty: every link).
    case heal([NodeID])
    /// Drop `percent` of the peer messages to and from these nodes (empty: every peer); the
    /// drops are drawn from `seed` (nil: derived, and told in the reply).
    case drop(percent: Int, peers: [NodeID], seed: UInt64?)
    /// Delay each peer message to these nodes (empty: every peer) by `millis`.
    case delay(millis: UInt64, peers: [NodeID])
    /// Freeze the node for `seconds` (0: resume now).
    case pause(seconds: Int)
    /// Offset the node's wall clock by `millis` (signed; 0: no skew).
    case skew(millis: Int64)
    case transferLeader(NodeID)
    /// Add a node as a learner, then promote it once it has caught up. `address`, if given,
    /// must be the one this node's configuration has for it.
    case addMember(NodeID, address: PeerAddress?)
    case removeMember(NodeID)
    case snapshot
    case faults
    /// Make the node's next WAL or snapshot sync fail (EIO), as a dying disk would.
    case diskFaultSync

    /// Whether the command steps the node's core (refused while the node is paused).
    var needsCore: Bool {
        switch self {
        case .transferLeader, .addMember, .removeMember, .snapshot: return true
        default: return false
        }
    }
}

/// ADMIN.* parsed from a RESP command: pure, no node. Each refusal names the argument that was
/// wrong and what is accepted; the limits are stated here and tested in `AdminCommandsTests`.
/// Whether the nodes named are this node's peers is checked where the node is known
/// (NodeDaemon+Admin).
public enum AdminCommands {
    public static let pauseSecondsMax = 300
    public static let delayMillisMax = PeerFaults.delayMillisMax
    /// ±1 day.
    public static let skewMillisMax: Int64 = 86_400_000
    public static let names = [
        "ADMIN.PARTITION", "ADMIN.HEAL", "ADMIN.DROP", "ADMIN.DELAY", "ADMIN.PAUSE", "ADMIN.SKEW",
        "ADMIN.TRANSFER-LEADER", "ADMIN.ADD-MEMBER", "ADMIN.REMOVE-MEMBER", "ADMIN.SNAPSHOT", "ADMIN.FAULTS", "ADMIN.DISK-FAULT",
    ]

    public static func handles(_ name: String) -> Bool { name.hasPrefix("ADMIN.") }

    /// Parses an admin command (`name` upper-cased, `rest` the arguments after it).
    public static func parse(_ name: String, _ rest: [[UInt8]]) -> Result<AdminCommand, RESPError> {
        Arguments.parseAll(name, rest) { arguments throws(RESPError) in try parse(name, &arguments) }
    }

    private static func parse(_ name: String, _ a: inout Arguments) throws(RESPError) -> AdminCommand {
        switch name {
        case "ADMIN.PARTITION":
            guard !a.isEmpty else { throw RESPError("ERR wrong number of arguments for 'admin.partition' command: name at least one node ID") }
            return .partition(try nodes(&a))
        case "ADMIN.HEAL":
            return .heal(try nodes(&a))
        case "ADMIN.DROP":
            let percent = try a.count("percent", PeerFaults.dropPercentRange)
            var peers: [NodeID] = []
            var seed: UInt64?
            while !a.isEmpty {
                if String(decoding: a.values.first!, as: UTF8.self).uppercased() == "SEED" {
                    _ = try a.next("SEED")
                    seed = try a.unsigned("seed")
                    break
                }
                peers.append(try node(&a))
            }
            return .drop(percent: percent, peers: try distinct(peers), seed: seed)
        case "ADMIN.DELAY":
            let millis = try a.count("delay-ms", 0...Int(delayMillisMax))
            return .delay(millis: UInt64(millis), peers: try nodes(&a))
        case "ADMIN.PAUSE":
            return .pause(seconds: try a.count("seconds", 0...pauseSecondsMax))
        case "ADMIN.SKEW":
            let text = try a.text("skew-ms")
            guard let millis = Int64(text), (-skewMillisMax...skewMillisMax).contains(millis) else {
                throw RESPError("ERR skew-ms must be signed milliseconds in -\(skewMillisMax)…\(skewMillisMax) (±1 day), got '\(text.prefix(64))'")
            }
            return .skew(millis: millis)
        case "ADMIN.TRANSFER-LEADER":
            return .transferLeader(try node(&a))
        case "ADMIN.ADD-MEMBER":
            let node = try node(&a)
            guard !a.isEmpty else { return .addMember(node, address: nil) }
            let text = try a.text("peer-address")
            do {
                return .addMember(node, address: try PeerAddress(parsing: text))
            } catch {
                throw RESPError("ERR \(error)")
            }
        case "ADMIN.REMOVE-MEMBER":
            return .removeMember(try node(&a))
        case "ADMIN.SNAPSHOT":
            return .snapshot
        case "ADMIN.FAULTS":
            return .faults
        case "ADMIN.DISK-FAULT":
            let kind = try a.text("fault").uppercased()
            guard kind == "FSYNC" else {
                throw RESPError("ERR unknown disk fault '\(kind.prefix(64))'; accepted: FSYNC (the next sync fails with EIO)")
            }
            return .diskFaultSync
        default:
            throw RESPError("ERR unknown command '\(name.prefix(64))'; the admin commands are \(names.joined(separator: ", "))")
        }
    }

    /// A node ID: 1…`NodeConfiguration.nodesMax`.
    private static func node(_ a: inout Arguments) throws(RESPError) -> NodeID {
        NodeID(try a.count("node ID", 1...NodeConfiguration.nodesMax))
    }

    /// The remaining arguments, all node IDs, each once.
    private static func nodes(_ a: inout Arguments) throws(RESPError) -> [NodeID] {
        var peers: [NodeID] = []
        while !a.isEmpty { peers.append(try node(&a)) }
        return try distinct(peers)
    }

    private static func distinct(_ peers: [NodeID]) throws(RESPError) -> [NodeID] {
        guard Set(peers).count == peers.count else {
            throw RESPError("ERR node IDs must differ, got \(peers.map(String.init).joined(separator: ", "))")
        }
        return peers
    }
}

extension Arguments {
    /// Runs `parse` over a command's arguments and requires it to read them all: the one way
    /// every command family turns words into a value or the error that names what was wrong.
    static func parseAll<Value>(_ name: String, _ rest: [[UInt8]],
                                _ parse: (inout Arguments) throws(RESPError) -> Value) -> Result<Value, RESPError> {
        var arguments = Arguments(name: name, values: rest)
        do throws(RESPError) {
            let value = try parse(&arguments)
            try arguments.finish()
            return .success(value)
        } catch {
            return .failure(error)
        }
    }
}

extension CommandTable {
    /// The ADMIN.* commands (README "Admin commands"), in the server group with Redis's `admin` flag.
    static let admin: [CommandSpec] = {
        let nodes = Argument(name: "node-id", type: "integer", multiple: true)
        let someNodes = Argument(name: "node-id", type: "integer", optional: true, multiple: true)
        func spec(_ name: String, _ arity: Int, _ summary: String, _ arguments: [Argument] = []) -> CommandSpec {
            CommandSpec(name: name, arity: arity, flags: ["admin", "noscript"], group: "server", summary: summary,
                        since: "7.2.0", arguments: arguments)
        }
        return [
            spec("admin.partition", -2, "Drops this node's peer messages to and from the nodes named.", [nodes]),
            spec("admin.heal", -1, "Removes this node's link rules for the nodes named (none: all).", [someNodes]),
            spec("admin.drop", -2, "Drops a percentage of this node's peer messages to and from the nodes named (none: all).",
                 [.integer("percent"), someNodes, .integer("seed", token: "SEED", optional: true)]),
            spec("admin.delay", -2, "Delays this node's peer messages to the nodes named (none: all).",
                 [.integer("milliseconds"), someNodes]),
            spec("admin.pause", 2, "Freezes this node (no ticks, no peer messages) for a number of seconds; 0 resumes it.",
                 [.integer("seconds")]),
            spec("admin.skew", 2, "Offsets this node's wall clock by signed milliseconds; 0 clears.", [.integer("milliseconds")]),
            spec("admin.transfer-leader", 2, "Hands leadership from this node (the leader) to another.", [.integer("node-id")]),
            spec("admin.add-member", -2, "Adds a node as a learner, then promotes it once caught up (on the leader).",
                 [.integer("node-id"), .string("peer-address", optional: true)]),
            spec("admin.remove-member", 2, "Removes a node from the cluster's membership (on the leader).", [.integer("node-id")]),
            spec("admin.snapshot", 1, "Snapshots this node's state now and compacts its log; answers the index."),
            spec("admin.faults", 1, "Lists the fault rules in force on this node."),
            spec("admin.disk-fault", 2, "Makes this node's next sync fail with EIO (FSYNC): the node must stop.", [.string("fault")]),
        ]
    }()
}
