/// Picks by shuffling the backend order afresh for each request, and retries down that order — what a
/// client does when it "tries the nodes in random order".
///
/// Each request starts from the configured order `0, 1, …, n−1` (so the naive shuffle's bias is the
/// bias a client really sees) and shuffles it with `algorithm`. `pick` is O(n) with no allocation;
/// `retryPlan` allocates the plan's order (n indexes).
public struct ShuffleBalancer: Sendable, Equatable {
    @usableFromInline var order: [Int]
    public let algorithm: ShuffleAlgorithm

    /// - Throws: `ResilienceConfigurationError` when `backendCount` is outside `1...Backends.countMax`.
    public init(backendCount: Int, algorithm: ShuffleAlgorithm) throws(ResilienceConfigurationError) {
        try Backends.validate(count: backendCount)
        self.algorithm = algorithm
        order = Array(0..<backendCount)
    }

    public var backendCount: Int { order.count }

    /// The first backend of a fresh shuffle.
    @inlinable
    public mutating func pick(using generator: inout some RandomNumberGenerator) -> Int {
        reshuffle(using: &generator)
        return order[0]
    }

    /// A fresh shuffled order to try, at most `maxTries` backends long.
    /// - Throws: `ResilienceConfigurationError` when `maxTries` is below 1.
    public mutating func retryPlan(
        maxTries: Int, using generator: inout some RandomNumberGenerator
    ) throws(ResilienceConfigurationError) -> RetryPlan {
        try Require.positive(maxTries, "maxTries")
        reshuffle(using: &generator)
        return RetryPlan(order: Array(order.prefix(maxTries)))
    }

    @inlinable
    mutating func reshuffle(using generator: inout some RandomNumberGenerator) {
        for index in order.indices { order[index] = index }
        algorithm.shuffle(&order, using: &generator)
    }
}

/// The backends one request will try, in order: the next untried one after each failure, never the
/// same backend twice, at most `maxTries` in all.
public struct RetryPlan: Sendable, Equatable, IteratorProtocol, Sequence {
    public let order: [Int]
    private var position = 0

    init(order: [Int]) {
        self.order = order
    }

    /// Tries made so far (backends handed out).
    public var triesMade: Int { position }

    /// The next backend to try, or `nil` when the tries are used up.
    public mutating func next() -> Int? {
        guard position < order.count else { return nil }
        defer { position += 1 }
        return order[position]
    }
}
