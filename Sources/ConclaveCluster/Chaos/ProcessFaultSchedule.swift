import ConclaveCore

/// The faults a process-chaos run may inject (`conclave chaos --processes`).
public enum ProcessFault: String, CaseIterable, Sendable {
    /// SIGKILL a node, restart it on its data directory later.
    case kill
    /// SIGSTOP a node, SIGCONT it later.
    case pause
    /// Cut one node from the others (ADMIN.PARTITION on every node), heal later.
    case partition
    /// Move one node's wall clock (ADMIN.SKEW ±1…5 s), set it back later.
    case skew
    /// Ask the leader to hand leadership to a node (ADMIN.TRANSFER-LEADER).
    case transfer
    /// Drop a share of one node's peer messages (ADMIN.DROP), heal later.
    case drop
    /// Remove a node from the membership (ADMIN.REMOVE-MEMBER on the leader), add it back later.
    case membership

    public static func parseList(_ text: String) throws(ChaosError) -> [ProcessFault] {
        if text == "all" { return allCases }
        if text == "none" { return [] }
        var faults: [ProcessFault] = []
        for name in text.split(separator: ",") {
            // "crash" is the simulator's name for what kill -9 does to a process.
            guard let fault = ProcessFault(rawValue: name == "crash" ? "kill" : String(name)) else {
                throw .invalid("--nemesis: unknown fault '\(name)' for --processes; accepted: "
                    + allCases.map(\.rawValue).joined(separator: ",") + ", all or none")
            }
            if !faults.contains(fault) { faults.append(fault) }
        }
        return faults
    }
}

/// What the nemesis does and when, decided from the seed alone before the run starts, so the same
/// seed replays the same schedule (what the processes then do with it is the machine's). One fault
/// at a time, each repaired before the next: a majority is always up, so the cluster must keep
/// answering, and a history shows each fault's effect on its own.
public struct FaultSchedule: Equatable, Sendable {
    public enum Action: Equatable, Sendable, CustomStringConvertible {
        case kill(Int), restart(Int)
        case pause(Int), resume(Int)
        case isolate(Int), heal
        case skew(Int, millis: Int64)
        case transfer(to: Int)
        case drop(Int, percent: Int)
        case removeMember(Int), addMember(Int)

        public var description: String {
            switch self {
            case .kill(let node): "kill -9 node \(node)"
            case .restart(let node): "restart node \(node)"
            case .pause(let node): "SIGSTOP node \(node)"
            case .resume(let node): "SIGCONT node \(node)"
            case .isolate(let node): "partition node \(node) from the others"
            case .heal: "heal every link"
            case .skew(let node, let millis): "skew node \(node)'s clock \(millis > 0 ? "+" : "")\(millis) ms"
            case .transfer(let node): "transfer leadership to node \(node)"
            case .drop(let node, let percent): "drop \(percent)% of node \(node)'s peer messages"
            case .removeMember(let node): "remove node \(node) from the membership"
            case .addMember(let node): "add node \(node) back to the membership"
            }
        }
    }

    public struct Step: Equatable, Sendable {
        public var atMillis: UInt64
        public var action: Action
    }

    public var steps: [Step]

    /// From `seed`: the first fault after 1 s, then one every 1.5…3 s, each lasting 0.5…2.5 s,
    /// until `durationMillis`; every fault's repair lands before the run ends.
    public init(seed: UInt64, nodes: Int, durationMillis: UInt64, faults: [ProcessFault]) {
        var random = SeededGenerator(seed: seed, stream: 0xFA017)
        var steps: [Step] = []
        var at: UInt64 = 1_000
        while !faults.isEmpty {
            let fault = faults[Int(random.next() % UInt64(faults.count))]
            let node = 1 + Int(random.next() % UInt64(nodes))
            let lasting = 500 + random.next() % 2_000
            guard at + lasting < durationMillis else { break }
            switch fault {
            case .kill: steps += [Step(atMillis: at, action: .kill(node)), Step(atMillis: at + lasting, action: .restart(node))]
            case .pause: steps += [Step(atMillis: at, action: .pause(node)), Step(atMillis: at + lasting, action: .resume(node))]
            case .partition: steps += [Step(atMillis: at, action: .isolate(node)), Step(atMillis: at + lasting, action: .heal)]
            case .skew:
                let millis = Int64(1_000 + random.next() % 4_000) * (random.next() % 2 == 0 ? 1 : -1)
                steps += [Step(atMillis: at, action: .skew(node, millis: millis)), Step(atMillis: at + lasting, action: .skew(node, millis: 0))]
            case .transfer: steps.append(Step(atMillis: at, action: .transfer(to: node)))
            case .drop:
                let percent = 10 + Int(random.next() % 41)
                steps += [Step(atMillis: at, action: .drop(node, percent: percent)), Step(atMillis: at + lasting, action: .heal)]
            case .membership:
                steps += [Step(atMillis: at, action: .removeMember(node)), Step(atMillis: at + lasting, action: .addMember(node))]
            }
            at += lasting + 1_500 + random.next() % 1_500
        }
        self.steps = steps
    }
}
