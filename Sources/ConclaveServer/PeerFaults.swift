import ConclaveCore

/// The fault rules an operator put on one node's peer links (ADMIN.PARTITION, DROP, DELAY, PAUSE),
/// and the decision they make for each message: deliver, drop or delay. Pure: the transport asks,
/// this answers; no clock, no socket, so the rules are tested message by message.
///
/// The rules live on the node that was told: a partition between two sides is made by telling the
/// nodes of each side (scripts/admin-tests.sh does both). They approximate on a real network what
/// the simulator applies exactly (`Fault.partition`, `.drop`, `.delay`, `.pause`):
/// - partition: every message to and from the peer is dropped;
/// - drop: that share of the messages to and from the peer is dropped, drawn from a generator
///   seeded per link (the seed given, or one derived from the node and the rule's number), so a
///   rule replays the same choices for the same traffic;
/// - delay: each message *to* the peer leaves that much later (egress only, like `tc netem`); a
///   delay on both ends of a link adds up;
/// - paused: every message either way is dropped (the node is frozen; a stopped process would
///   leave them in kernel buffers, Raft retransmits them here).
public struct PeerFaults: Sendable {
    public enum Direction: Sendable {
        case outgoing, incoming
    }

    public enum Decision: Equatable, Sendable {
        case deliver
        case drop
        case delay(millis: UInt64)
    }

    /// One peer link's rules; all zero/false is no rule.
    public struct Link: Sendable {
        public var partitioned = false
        public var dropPercent = 0
        public var dropSeed: UInt64 = 0
        public var delayMillis: UInt64 = 0
        var random = SeededGenerator(seed: 0)

        public var isEmpty: Bool { !partitioned && dropPercent == 0 && delayMillis == 0 }
    }

    public static let dropPercentRange = 0...100
    public static let delayMillisMax: UInt64 = 60_000

    public private(set) var links: [NodeID: Link] = [:]
    /// The transport drops everything while the node is paused.
    public var paused = false

    public init() {}

    /// What to do with one message to (`outgoing`) or from (`incoming`) `peer`. Advances the
    /// link's generator only when a drop rule has to draw.
    public mutating func decide(_ direction: Direction, peer: NodeID) -> Decision {
        if paused { return .drop }
        guard var link = links[peer] else { return .deliver }
        if link.partitioned { return .drop }
        if link.dropPercent > 0 {
            let drawn = link.random.next() % 100
            links[peer] = link
            if drawn < UInt64(link.dropPercent) { return .drop }
        }
        if direction == .outgoing && link.delayMillis > 0 { return .delay(millis: link.delayMillis) }
        return .deliver
    }

    public mutating func partition(_ peers: [NodeID]) {
        for peer in peers { links[peer, default: Link()].partitioned = true }
    }

    /// Drops `percent` of the messages to and from each of `peers` (0: stops dropping). Each
    /// link draws from its own generator, `SeededGenerator(seed: seed, stream: peer)`.
    public mutating func drop(percent: Int, seed: UInt64, _ peers: [NodeID]) {
        precondition(Self.dropPercentRange.contains(percent), "drop percent \(percent) outside 0…100")
        for peer in peers {
            var link = links[peer, default: Link()]
            link.dropPercent = percent
            link.dropSeed = seed
            link.random = SeededGenerator(seed: seed, stream: peer)
            update(peer, link)
        }
    }

    /// Delays each message to `peers` by `millis` (0: no delay).
    public mutating func delay(millis: UInt64, _ peers: [NodeID]) {
        precondition(millis <= Self.delayMillisMax, "delay \(millis) ms over \(Self.delayMillisMax)")
        for peer in peers {
            var link = links[peer, default: Link()]
            link.delayMillis = millis
            update(peer, link)
        }
    }

    /// Removes every rule on the links to `peers`.
    public mutating func heal(_ peers: [NodeID]) {
        for peer in peers { links[peer] = nil }
    }

    private mutating func update(_ peer: NodeID, _ link: Link) {
        links[peer] = link.isEmpty ? nil : link
    }

    /// One line per link with rules, by peer: "2: partitioned", "3: drop 20% (seed 7), delay 100 ms".
    public var descriptions: [String] {
        links.keys.sorted().map { peer in
            let link = links[peer]!
            var rules: [String] = []
            if link.partitioned { rules.append("partitioned") }
            if link.dropPercent > 0 { rules.append("drop \(link.dropPercent)% (seed \(link.dropSeed))") }
            if link.delayMillis > 0 { rules.append("delay \(link.delayMillis) ms") }
            return "\(peer): " + rules.joined(separator: ", ")
        }
    }
}
