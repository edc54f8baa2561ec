import ConclaveCore

/// A membership change, one node at a time (Raft thesis §4.1): a majority of the old and of the
/// new configuration always overlap, so no joint consensus is needed. A node joins as a learner,
/// catches up (by snapshot if need be) and is then promoted; removal takes voters and learners.
public enum ConfChange: Equatable, Sendable, CustomStringConvertible {
    case addLearner(NodeID)
    case promote(NodeID)
    case remove(NodeID)

    public var node: NodeID {
        switch self {
        case .addLearner(let node), .promote(let node), .remove(let node): return node
        }
    }

    public var description: String {
        switch self {
        case .addLearner(let node): return "add learner \(node)"
        case .promote(let node): return "promote \(node)"
        case .remove(let node): return "remove \(node)"
        }
    }

    /// The entry payload: a tag byte and the node ID, little-endian.
    public func encoded() -> [UInt8] {
        let tag: UInt8
        switch self {
        case .addLearner: tag = 1
        case .promote: tag = 2
        case .remove: tag = 3
        }
        return [tag] + (0..<8).map { UInt8(truncatingIfNeeded: node >> UInt64($0 * 8)) }
    }

    public init?(decoding bytes: [UInt8]) {
        guard bytes.count == 9 else { return nil }
        let node = (0..<8).reduce(NodeID(0)) { $0 | NodeID(bytes[1 + $1]) << NodeID($1 * 8) }
        switch bytes[0] {
        case 1: self = .addLearner(node)
        case 2: self = .promote(node)
        case 3: self = .remove(node)
        default: return nil
        }
    }
}

/// A membership entry's payload: the change and the whole configuration that results from it.
/// Carrying the result (not just the delta) means a node that joined later, or restarted from an
/// old snapshot, learns the complete membership from the entry alone.
public struct MembershipEntry: Equatable, Sendable {
    public var change: ConfChange
    public var resulting: ConfState

    public init(change: ConfChange, resulting: ConfState) {
        self.change = change
        self.resulting = resulting
    }

    /// The most voters, and the most learners, one entry can carry: each count is one byte.
    /// `Raft.proposeConfChange` refuses a change that would pass it.
    public static let membersPerListMax = Int(UInt8.max)

    /// Layout: change (9 bytes), voter count (1), voters (8 each), learner count (1), learners (8 each).
    public func encoded() -> [UInt8] {
        var bytes = change.encoded()
        for list in [resulting.voters, resulting.learners] {
            precondition(list.count <= Self.membersPerListMax, "\(list.count) members do not fit a membership entry")
            bytes.append(UInt8(list.count))
            for node in list { bytes += (0..<8).map { UInt8(truncatingIfNeeded: node >> UInt64($0 * 8)) } }
        }
        return bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 11, let change = ConfChange(decoding: Array(bytes[0..<9])) else { return nil }
        var position = 9
        var lists: [[NodeID]] = []
        for _ in 0..<2 {
            guard position < bytes.count else { return nil }
            let count = Int(bytes[position])
            position += 1
            guard bytes.count - position >= count * 8 else { return nil }
            lists.append((0..<count).map { item in
                (0..<8).reduce(NodeID(0)) { $0 | NodeID(bytes[position + item * 8 + $1]) << NodeID($1 * 8) }
            })
            position += count * 8
        }
        guard position == bytes.count else { return nil }
        self.init(change: change, resulting: ConfState(voters: lists[0], learners: lists[1]))
    }
}
