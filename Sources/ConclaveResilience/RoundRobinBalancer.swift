/// Round robin: backends in turn, 0, 1, …, n−1, 0, …. O(1). The baseline every other strategy beats on
/// something and loses to on evenness.
public struct RoundRobinBalancer: Sendable, Equatable {
    private var nextBackend = 0
    public let backendCount: Int

    /// - Throws: `ResilienceConfigurationError` when `backendCount` is outside `1...Backends.countMax`.
    public init(backendCount: Int) throws(ResilienceConfigurationError) {
        try Backends.validate(count: backendCount)
        self.backendCount = backendCount
    }

    /// The next backend's index.
    public mutating func pick() -> Int {
        let picked = nextBackend
        nextBackend += 1
        if nextBackend == backendCount { nextBackend = 0 }
        return picked
    }
}
