/// What a `SnowflakeGenerator` is built from: the layout, the epoch, its identity and its policies.
///
/// Validated by `validate()` (called by the generator's initializer), which names the first bad
/// parameter and what it accepts.
public struct SnowflakeConfiguration: Hashable, Sendable {
    /// 2024-01-01T00:00:00Z in milliseconds since 1970: Conclave's default epoch, so the standard
    /// 41-bit timestamp lasts until 2093.
    public static let defaultEpochMillis: UInt64 = 1_704_067_200_000
    /// The longest backward clock step the generator waits out instead of refusing.
    public static let rollbackWaitMillisLimit: UInt64 = 60_000
    /// The widest lease safety margin accepted.
    public static let leaseSafetyMarginMillisLimit: UInt64 = 3_600_000

    public var layout: SnowflakeLayout
    /// Milliseconds since 1970 at which timestamps count from 0.
    public var epochMillis: UInt64
    /// This generator's datacenter, `0...layout.datacenterMax`.
    public var datacenterID: UInt64
    /// This generator's worker ID, `0...layout.workerMax`, leased through consensus so that no two
    /// live generators share (datacenter, worker).
    public var workerID: UInt64
    /// Backward clock steps up to this many milliseconds are waited out (`.wait`); longer ones are
    /// refused. Default 5 ms: NTP slews rather than steps for small corrections, so a longer step
    /// back means a broken clock or a manual reset, which an operator should see. At most 60,000.
    public var rollbackWaitMillisMax: UInt64
    /// The generator stops issuing IDs this many milliseconds before its worker-ID lease expires, to
    /// absorb clock-rate differences between this node and the cluster and the time between the
    /// check and the ID's use. Default 1,000 ms; 1…3,600,000.
    public var leaseSafetyMarginMillis: UInt64

    public init(
        layout: SnowflakeLayout = .standard, epochMillis: UInt64 = Self.defaultEpochMillis,
        datacenterID: UInt64, workerID: UInt64, rollbackWaitMillisMax: UInt64 = 5, leaseSafetyMarginMillis: UInt64 = 1_000
    ) {
        self.layout = layout
        self.epochMillis = epochMillis
        self.datacenterID = datacenterID
        self.workerID = workerID
        self.rollbackWaitMillisMax = rollbackWaitMillisMax
        self.leaseSafetyMarginMillis = leaseSafetyMarginMillis
    }

    /// The latest epoch for `layout` such that every timestamp it encodes fits in milliseconds since 1970.
    public static func epochMillisMax(for layout: SnowflakeLayout) -> UInt64 {
        UInt64.max - layout.timestampMillisMax
    }

    /// - Throws: `IDInputError` naming the first parameter out of range.
    public func validate() throws(IDInputError) {
        try IDInputError.require(datacenterID, in: 0...layout.datacenterMax, "datacenterID")
        try IDInputError.require(workerID, in: 0...layout.workerMax, "workerID")
        try IDInputError.require(epochMillis, in: 0...Self.epochMillisMax(for: layout), "epochMillis", unit: "ms")
        try IDInputError.require(rollbackWaitMillisMax, in: 0...Self.rollbackWaitMillisLimit, "rollbackWaitMillisMax", unit: "ms")
        try IDInputError.require(
            leaseSafetyMarginMillis, in: 1...Self.leaseSafetyMarginMillisLimit, "leaseSafetyMarginMillis", unit: "ms"
        )
    }
}
