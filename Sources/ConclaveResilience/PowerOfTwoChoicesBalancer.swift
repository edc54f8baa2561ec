/// Power of two choices: draw two distinct backends at random and send to the one with fewer
/// outstanding requests (Mitzenmacher). Nearly as even as least-loaded at O(1) per pick, and it avoids
/// least-loaded's herd (every client seeing the same minimum at once).
///
/// The caller reports each request's end with `complete(backend:)`; outstanding counts never go below 0.
public struct PowerOfTwoChoicesBalancer: Sendable, Equatable {
    /// Requests outstanding per backend.
    public var outstanding: [Int] { loads }
    @usableFromInline var loads: [Int]

    /// - Throws: `ResilienceConfigurationError` when `backendCount` is outside `1...Backends.countMax`.
    public init(backendCount: Int) throws(ResilienceConfigurationError) {
        try Backends.validate(count: backendCount)
        loads = Array(repeating: 0, count: backendCount)
    }

    public var backendCount: Int { loads.count }

    /// Picks a backend and counts one more request outstanding on it. Ties go to the first draw.
    @inlinable
    public mutating func pick(using generator: inout some RandomNumberGenerator) -> Int {
        let count = UInt64(loads.count)
        guard count > 1 else {
            loads[0] += 1
            return 0
        }
        let first = Int(truncatingIfNeeded: generator.next(upperBound: count))
        var second = Int(truncatingIfNeeded: generator.next(upperBound: count - 1))
        if second >= first { second += 1 }
        let picked = loads[second] < loads[first] ? second : first
        loads[picked] += 1
        return picked
    }

    /// One request on `backend` finished. Out-of-range indexes and extra completions are ignored.
    public mutating func complete(backend: Int) {
        guard loads.indices.contains(backend), loads[backend] > 0 else { return }
        loads[backend] -= 1
    }
}
