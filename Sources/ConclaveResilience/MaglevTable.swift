import ConclaveCore
/// Maglev hashing (Google's network load balancer, NSDI 2016): a lookup table of prime size `M` filled
/// from each backend's own permutation of the slots, so lookup is one hash and one array read.
///
/// Why: consistent-hash rings cost a binary search per lookup and spread load only as evenly as their
/// virtual nodes allow; Maglev's table gives each backend ⌊M/N⌋ or ⌈M/N⌉ slots exactly, at the price of
/// slightly more disruption on a change than a ring (a few percent of keys beyond the 1/N minimum).
///
/// Each backend's permutation is `offset + j × skip (mod M)` with `offset = h1(name) mod M` and
/// `skip = h2(name) mod (M − 1) + 1`; since `M` is prime every skip visits every slot. Building is
/// O(M log M) expected; lookup O(1). Memory: 4 bytes per slot, `M ≤ tableSizeMax`.
public struct MaglevTable: Sendable, Equatable {
    private(set) var table: [Int32]
    public let backends: [String]
    public static let tableSizeMax = 1 << 24
    /// A prime comfortably above 100 × a typical backend count (the paper's guidance).
    public static let defaultTableSize = 65_537

    /// - Throws: `ResilienceConfigurationError` for an empty or duplicated backend list, or a table size
    ///   that is not a prime of at least the backend count and at most `tableSizeMax`.
    public init(backends: [String], tableSize: Int = defaultTableSize) throws(ResilienceConfigurationError) {
        try Require.backends(backends, maximum: Backends.countMax)
        guard tableSize >= backends.count, tableSize <= Self.tableSizeMax, Self.isPrime(tableSize) else {
            throw ResilienceConfigurationError(
                parameter: "tableSize", value: String(tableSize),
                accepted: "a prime from the backend count (\(backends.count)) to \(Self.tableSizeMax), such as 65537"
            )
        }
        self.backends = backends
        table = Self.populate(backends: backends, tableSize: tableSize)
    }

    public var tableSize: Int { table.count }

    /// The index (into `backends`) of the backend for `keyHash`.
    public func backendIndex(forKeyHash keyHash: UInt64) -> Int {
        Int(table[Int(keyHash % UInt64(table.count))])
    }

    /// The backend for `key` (hashed with `StableHash.key`).
    public func backend(forKey key: String) -> String {
        backends[backendIndex(forKeyHash: StableHash.key(key))]
    }

    /// The paper's population loop: backends take turns claiming their next preferred free slot.
    private static func populate(backends: [String], tableSize: Int) -> [Int32] {
        let size = UInt64(tableSize)
        let offsets = backends.map { StableHash.key($0, seed: 0x6d61_676c_6576_3031) % size }
        let skips = backends.map { StableHash.key($0, seed: 0x6d61_676c_6576_3032) % (size - 1) + 1 }
        var nextChoice = Array(repeating: UInt64(0), count: backends.count)
        var table = Array(repeating: Int32(-1), count: tableSize)
        var filled = 0
        while true {
            for backend in backends.indices {
                var slot = Int((offsets[backend] + nextChoice[backend] % size * skips[backend]) % size)
                while table[slot] >= 0 {
                    nextChoice[backend] += 1
                    slot = Int((offsets[backend] + nextChoice[backend] % size * skips[backend]) % size)
                }
                table[slot] = Int32(backend)
                nextChoice[backend] += 1
                filled += 1
                if filled == tableSize { return table }
            }
        }
    }

    static func isPrime(_ value: Int) -> Bool {
        guard value >= 2 else { return false }
        var divisor = 2
        while divisor * divisor <= value {
            if value % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }
}
