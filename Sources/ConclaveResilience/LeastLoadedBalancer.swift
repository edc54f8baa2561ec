/// Least loaded: the backend with the fewest outstanding requests, scanning all of them. O(n) per pick.
///
/// Ties are broken by scanning from a rotating start, so an idle cluster is served round robin instead
/// of piling onto backend 0. The caller reports each request's end with `complete(backend:)`.
public struct LeastLoadedBalancer: Sendable, Equatable {
    public private(set) var outstanding: [Int]
    private var scanStart = 0

    /// - Throws: `ResilienceConfigurationError` when `backendCount` is outside `1...Backends.countMax`.
    public init(backendCount: Int) throws(ResilienceConfigurationError) {
        try Backends.validate(count: backendCount)
        outstanding = Array(repeating: 0, count: backendCount)
    }

    public var backendCount: Int { outstanding.count }

    /// Picks the least loaded backend and counts one more request outstanding on it.
    public mutating func pick() -> Int {
        let count = outstanding.count
        var picked = scanStart
        var index = scanStart
        for _ in 1..<max(count, 1) {
            index += 1
            if index == count { index = 0 }
            if outstanding[index] < outstanding[picked] { picked = index }
        }
        scanStart += 1
        if scanStart == count { scanStart = 0 }
        outstanding[picked] += 1
        return picked
    }

    /// One request on `backend` finished. Out-of-range indexes and extra completions are ignored.
    public mutating func complete(backend: Int) {
        guard outstanding.indices.contains(backend), outstanding[backend] > 0 else { return }
        outstanding[backend] -= 1
    }
}
