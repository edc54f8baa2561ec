import ConclaveCore
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam; used by Vimeo and HAProxy):
/// a key goes to its ring owner unless that backend already holds `capacity` keys, in which case it
/// walks clockwise to the next backend under capacity.
///
/// Why: plain consistent hashing keeps keys put but lets a backend get far more than its share (a hot
/// arc); bounding every backend to `⌈(1 + ε) × (load + 1) / n⌉` keeps the maximum within `(1 + ε)` of the
/// mean while moving few keys. Assignments are sticky: the caller `assign`s a key once and `release`s it
/// when it leaves (a session ends, a task completes).
///
/// `assign` is O(log points) plus the walk, which the capacity bound keeps short (the paper bounds the
/// expected walk by O(1/ε²) for small ε). Loads are held per backend (bounded by the keys assigned).
public struct BoundedLoadHashRing: Sendable, Equatable {
    public private(set) var ring: ConsistentHashRing
    public private(set) var loads: [Int]
    public private(set) var totalLoad = 0
    /// ε: how far above the mean a backend may go, as a fraction (0.25 = 25 %).
    public let balanceFactor: Double

    /// - Throws: `ResilienceConfigurationError` for a bad backend list, bad virtual node count, or a
    ///   `balanceFactor` that is not a finite number above 0.
    public init(backends: [String], virtualNodesPerBackend: Int = 160, balanceFactor: Double = 0.25)
        throws(ResilienceConfigurationError)
    {
        try Require.positive(balanceFactor, "balanceFactor")
        ring = try ConsistentHashRing(backends: backends, virtualNodesPerBackend: virtualNodesPerBackend)
        loads = Array(repeating: 0, count: backends.count)
        self.balanceFactor = balanceFactor
    }

    /// The most keys any backend may hold once one more key is placed.
    public var capacity: Int {
        let mean = Double(totalLoad + 1) / Double(loads.count)
        return Int((mean * (1 + balanceFactor)).rounded(.up))
    }

    /// Places a key: its ring owner if under capacity, else the next backend clockwise that is.
    public mutating func assign(keyHash: UInt64) -> Int {
        let limit = capacity
        var pointIndex = ring.pointIndex(forKeyHash: keyHash)
        let pointCount = ring.points.count
        for _ in 0..<pointCount {
            let owner = Int(ring.owners[pointIndex])
            if loads[owner] < limit {
                loads[owner] += 1
                totalLoad += 1
                return owner
            }
            pointIndex += 1
            if pointIndex == pointCount { pointIndex = 0 }
        }
        preconditionFailure("capacity × backends exceeds the load, so some backend is under capacity")
    }

    /// Places `key` (hashed with `StableHash.key`).
    public mutating func assign(key: String) -> Int {
        assign(keyHash: StableHash.key(key))
    }

    /// A key assigned to `backend` left. Out-of-range indexes and extra releases are ignored.
    public mutating func release(backend: Int) {
        guard loads.indices.contains(backend), loads[backend] > 0 else { return }
        loads[backend] -= 1
        totalLoad -= 1
    }
}
