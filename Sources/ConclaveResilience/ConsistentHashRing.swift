import ConclaveCore
/// Consistent hashing with virtual nodes: each backend owns `virtualNodesPerBackend` points on a 64-bit
/// ring, and a key belongs to the first point at or after its hash (wrapping).
///
/// Why: adding or removing one of N backends moves only the keys that backend gains or loses — about
/// 1/N of them — where `hash % N` would move nearly all. Virtual nodes even out the arcs (with 160 per
/// backend each backend's share is within roughly ±10 % of 1/N). Points are placed by `StableHash`, so
/// every process builds the same ring; equal points are ordered by backend name.
///
/// Lookup is O(log(points)) by binary search; adding or removing a backend rebuilds the ring,
/// O(points log points). At most `Backends.countMax` backends × `virtualNodesPerBackendMax` points.
public struct ConsistentHashRing: Sendable, Equatable {
    /// Ring positions, ascending; `owners[i]` is the backend index owning `points[i]`.
    private(set) var points: [UInt64] = []
    private(set) var owners: [Int32] = []
    public private(set) var backends: [String]
    public let virtualNodesPerBackend: Int
    public static let virtualNodesPerBackendMax = 4096
    /// The most points a ring may hold (backends × virtual nodes).
    public static let pointsMax = 1 << 22

    /// - Throws: `ResilienceConfigurationError` for an empty or duplicated backend list, a virtual node
    ///   count outside `1...virtualNodesPerBackendMax`, or more than `pointsMax` points in all.
    public init(backends: [String], virtualNodesPerBackend: Int = 160) throws(ResilienceConfigurationError) {
        try Require.backends(backends, maximum: Backends.countMax)
        try Require.positive(virtualNodesPerBackend, "virtualNodesPerBackend", maximum: Self.virtualNodesPerBackendMax)
        self.backends = backends
        self.virtualNodesPerBackend = virtualNodesPerBackend
        try rebuild()
    }

    /// The index (into `backends`) of the backend owning `keyHash`.
    public func backendIndex(forKeyHash keyHash: UInt64) -> Int {
        Int(owners[pointIndex(forKeyHash: keyHash)])
    }

    /// The backend owning `key` (hashed with `StableHash.key`).
    public func backend(forKey key: String) -> String {
        backends[backendIndex(forKeyHash: StableHash.key(key))]
    }

    /// Adds a backend; about 1/(N+1) of keys move to it and no other key moves.
    /// - Throws: `ResilienceConfigurationError` if the name is already present or the ring would be too large.
    public mutating func add(backend: String) throws(ResilienceConfigurationError) {
        try Require.backends(backends + [backend], maximum: Backends.countMax)
        backends.append(backend)
        try rebuild()
    }

    /// Removes a backend; only its keys move. Returns `false` if absent.
    /// - Throws: `ResilienceConfigurationError` when it is the last backend (a ring needs one).
    public mutating func remove(backend: String) throws(ResilienceConfigurationError) -> Bool {
        guard let index = backends.firstIndex(of: backend) else { return false }
        try Require.backends(backends.filter { $0 != backend }, maximum: Backends.countMax)
        backends.remove(at: index)
        try rebuild()
        return true
    }

    /// The first point at or after `keyHash`, wrapping to 0. O(log points).
    func pointIndex(forKeyHash keyHash: UInt64) -> Int {
        var low = 0
        var high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle] < keyHash { low = middle + 1 } else { high = middle }
        }
        return low == points.count ? 0 : low
    }

    private mutating func rebuild() throws(ResilienceConfigurationError) {
        _ = try Require.product(
            UInt64(backends.count), UInt64(virtualNodesPerBackend), limit: UInt64(Self.pointsMax),
            "backends × virtualNodesPerBackend", "at most \(Self.pointsMax) points"
        )
        var placed: [(point: UInt64, owner: Int32)] = []
        placed.reserveCapacity(backends.count * virtualNodesPerBackend)
        for (owner, name) in backends.enumerated() {
            let nameHash = StableHash.fnv1a64(name.utf8)
            for replica in 0..<virtualNodesPerBackend {
                let point = StableHash.mix(StableHash.fnv1a64(Self.replicaBytes(replica), seed: nameHash))
                placed.append((point, Int32(owner)))
            }
        }
        placed.sort { left, right in
            left.point != right.point ? left.point < right.point : backends[Int(left.owner)] < backends[Int(right.owner)]
        }
        points = placed.map(\.point)
        owners = placed.map(\.owner)
    }

    /// "#<replica>" as bytes, hashed after the backend name.
    private static func replicaBytes(_ replica: Int) -> [UInt8] {
        Array("#\(replica)".utf8)
    }
}
