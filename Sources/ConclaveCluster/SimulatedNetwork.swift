import ConclaveCore

/// The simulated network between nodes: latency, loss, duplication, reordering, partitions and
/// clogged links, all decided by the simulator's seeded generator.
struct SimulatedNetwork {
    struct Link: Hashable {
        var source: NodeID
        var target: NodeID
    }

    var latencyMinNanos: UInt64
    var latencyMaxNanos: UInt64
    var dropProbability = 0.0
    var duplicateProbability = 0.0
    var extraDelayMaxNanos: UInt64 = 0
    /// Group number per node; a message passes only within a group. Unlisted nodes are group 0.
    private(set) var groups: [NodeID: Int] = [:]
    /// Links that deliver nothing until the given time.
    private(set) var cloggedUntil: [Link: UInt64] = [:]
    /// The latest delivery time scheduled per link: links are FIFO like the TCP connections real
    /// nodes use, unless the `delay` fault adds jitter, which reorders.
    private var lastDelivery: [Link: UInt64] = [:]

    init(latencyMinNanos: UInt64, latencyMaxNanos: UInt64) {
        self.latencyMinNanos = latencyMinNanos
        self.latencyMaxNanos = max(latencyMinNanos, latencyMaxNanos)
    }

    func canReach(from source: NodeID, to target: NodeID, at now: UInt64) -> Bool {
        guard groups[source, default: 0] == groups[target, default: 0] else { return false }
        if let until = cloggedUntil[Link(source: source, target: target)], now < until { return false }
        return true
    }

    mutating func partition(_ partitionGroups: [[NodeID]]) {
        groups.removeAll()
        for (number, group) in partitionGroups.enumerated() {
            for node in group { groups[node] = number + 1 }
        }
    }

    mutating func clog(_ link: Link, until time: UInt64) {
        cloggedUntil[link] = time
    }

    mutating func heal() {
        groups.removeAll()
        cloggedUntil.removeAll()
    }

    var isPartitioned: Bool { !groups.isEmpty }

    /// The delivery times for one message sent at `now`: empty if it is lost, two if duplicated.
    mutating func deliveryTimes(from source: NodeID, to target: NodeID, at now: UInt64,
                                using random: inout SeededGenerator) -> [UInt64] {
        if random.chance(dropProbability) { return [] }
        var times = [deliveryTime(Link(source: source, target: target), at: now, using: &random)]
        if random.chance(duplicateProbability) {
            times.append(deliveryTime(Link(source: source, target: target), at: now, using: &random))
        }
        return times
    }

    private mutating func deliveryTime(_ link: Link, at now: UInt64, using random: inout SeededGenerator) -> UInt64 {
        var time = now + latencyMinNanos
        if latencyMaxNanos > latencyMinNanos { time += random.next() % (latencyMaxNanos - latencyMinNanos + 1) }
        if extraDelayMaxNanos > 0 {
            return time + random.next() % (extraDelayMaxNanos + 1)
        }
        time = max(time, lastDelivery[link, default: 0])
        lastDelivery[link] = time
        return time
    }

    /// Groups as lists of nodes among `nodes`, for display.
    func partitionGroups(of nodes: [NodeID]) -> [[NodeID]] {
        guard isPartitioned else { return [nodes] }
        var byGroup: [Int: [NodeID]] = [:]
        for node in nodes { byGroup[groups[node, default: 0], default: []].append(node) }
        return byGroup.keys.sorted().map { byGroup[$0]! }
    }
}
