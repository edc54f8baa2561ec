extension ConsistentHashRing {
    /// The first `count` distinct backends met walking the ring clockwise from `keyHash`: the owner
    /// first, then its replicas (as Dynamo and Cassandra place copies). Fewer when the ring has
    /// fewer backends. O(points) in the worst case, O(count × virtual nodes / backends) typically.
    public func backendIndices(forKeyHash keyHash: UInt64, count: Int) -> [Int] {
        let wanted = min(max(0, count), backends.count)
        guard wanted > 0 else { return [] }
        var chosen: [Int] = []
        chosen.reserveCapacity(wanted)
        let start = pointIndex(forKeyHash: keyHash)
        for step in 0..<points.count where chosen.count < wanted {
            let owner = Int(owners[(start + step) % points.count])
            if !chosen.contains(owner) { chosen.append(owner) }
        }
        return chosen
    }
}
