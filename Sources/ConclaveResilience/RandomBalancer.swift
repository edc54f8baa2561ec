/// Uniformly random choice: no state, no coordination, evenness only on average. O(1).
public struct RandomBalancer: Sendable, Equatable {
    public let backendCount: Int

    /// - Throws: `ResilienceConfigurationError` when `backendCount` is outside `1...Backends.countMax`.
    public init(backendCount: Int) throws(ResilienceConfigurationError) {
        try Backends.validate(count: backendCount)
        self.backendCount = backendCount
    }

    /// A backend index drawn from `generator` (unbiased: the standard library's bounded draw).
    @inlinable
    public func pick(using generator: inout some RandomNumberGenerator) -> Int {
        Int(truncatingIfNeeded: generator.next(upperBound: UInt64(backendCount)))
    }
}
