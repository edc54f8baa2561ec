/// What a `SegmentAllocator` is built from: when it asks for the next range and how large.
///
/// Step size is adaptive, as Leaf-segment's is: each request asks for `step` IDs, and `step` doubles
/// (up to `stepMax`) when the previous request was less than `targetRequestIntervalMillis` ago
/// (segments are being used up fast, so consensus is asked too often), halves (down to `stepMin`)
/// when it was more than twice that ago (segments outlive their use, and a restart discards more
/// unused IDs), and otherwise stays. `stepMin == stepMax` gives a fixed step.
public struct SegmentConfiguration: Hashable, Sendable {
    /// The largest step accepted: 2⁴⁰ IDs per request.
    public static let stepLimit: UInt64 = 1 << 40
    /// The longest target interval accepted: one day.
    public static let targetRequestIntervalMillisLimit: UInt64 = 86_400_000

    /// IDs asked for by the first request.
    public var stepInitial: UInt64
    public var stepMin: UInt64
    public var stepMax: UInt64
    /// The next range is requested once this share of the current one is used. Default 10, as in
    /// Leaf: the earlier the request, the longer consensus has to answer before the current range runs
    /// out, at the cost of holding a buffered range longer. 1…100.
    public var requestThresholdPercent: UInt64
    /// The interval between requests the adaptive step aims for. Default 15 minutes (Leaf's).
    public var targetRequestIntervalMillis: UInt64

    public init(
        stepInitial: UInt64 = 1_000, stepMin: UInt64 = 1_000, stepMax: UInt64 = 1_000_000,
        requestThresholdPercent: UInt64 = 10, targetRequestIntervalMillis: UInt64 = 900_000
    ) {
        self.stepInitial = stepInitial
        self.stepMin = stepMin
        self.stepMax = stepMax
        self.requestThresholdPercent = requestThresholdPercent
        self.targetRequestIntervalMillis = targetRequestIntervalMillis
    }

    /// A configuration whose every request asks for `step` IDs.
    public static func fixed(step: UInt64, requestThresholdPercent: UInt64 = 10) -> SegmentConfiguration {
        SegmentConfiguration(stepInitial: step, stepMin: step, stepMax: step, requestThresholdPercent: requestThresholdPercent)
    }

    /// - Throws: `IDInputError` naming the first parameter out of range.
    public func validate() throws(IDInputError) {
        try IDInputError.require(stepMin, in: 1...Self.stepLimit, "stepMin")
        try IDInputError.require(stepMax, in: stepMin...Self.stepLimit, "stepMax")
        try IDInputError.require(stepInitial, in: stepMin...stepMax, "stepInitial")
        try IDInputError.require(requestThresholdPercent, in: 1...100, "requestThresholdPercent", unit: "%")
        try IDInputError.require(
            targetRequestIntervalMillis, in: 1...Self.targetRequestIntervalMillisLimit, "targetRequestIntervalMillis", unit: "ms"
        )
    }
}
