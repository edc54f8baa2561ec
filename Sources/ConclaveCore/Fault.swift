/// A fault the nemesis (or an operator) injects, as data.
///
/// The simulated network and clock apply these exactly; the real transport (a later issue)
/// approximates them. Keeping faults as values lets a run print, replay and shrink them.
public enum Fault: Equatable, Sendable, CustomStringConvertible {
    /// Split the nodes into groups; messages cross no group boundary. Nodes not named form one more group.
    case partition([[NodeID]])
    /// Undo every partition and clog.
    case heal
    /// Stop delivering messages from `source` to `target` (one direction) for `millis` milliseconds.
    case clog(source: NodeID, target: NodeID, millis: UInt64)
    /// Drop each message with this probability (0...1) until changed.
    case drop(probability: Double)
    /// Deliver each message twice with this probability (0...1) until changed.
    case duplicate(probability: Double)
    /// Add up to `millis` of extra random delay to every message until changed. Links are FIFO
    /// otherwise; this jitter is what reorders messages.
    case delay(millis: UInt64)
    /// Kill the node: it loses everything it had not persisted.
    case crash(NodeID)
    /// Start a crashed node again from what it persisted.
    case restart(NodeID)
    /// Freeze the node (a "GC pause") for `millis` milliseconds; messages to it queue up.
    case pause(NodeID, millis: UInt64)
    /// Make the node's clock run off true time: `offsetMillis` ahead (negative: behind) and at
    /// `ratePermille`/1000 of true speed (1000: normal).
    case skew(NodeID, offsetMillis: Int64, ratePermille: UInt64)

    public var description: String {
        switch self {
        case .partition(let groups):
            return "partition " + groups.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | ")
        case .heal: return "heal"
        case .clog(let source, let target, let millis): return "clog \(source)->\(target) \(millis)ms"
        case .drop(let probability): return "drop \(Int(probability * 100))%"
        case .duplicate(let probability): return "duplicate \(Int(probability * 100))%"
        case .delay(let millis): return "delay +\(millis)ms"
        case .crash(let node): return "crash \(node)"
        case .restart(let node): return "restart \(node)"
        case .pause(let node, let millis): return "pause \(node) \(millis)ms"
        case .skew(let node, let offset, let rate): return "skew \(node) \(offset >= 0 ? "+" : "")\(offset)ms rate \(rate)‰"
        }
    }
}
