import ConclaveCore
import ConclaveCoordination

/// A config client of the simulated cluster: reads go through the log (linearizable) and refresh
/// its cache; when no node answers within `timeoutNanos`, it serves the cached value marked stale.
public struct ConfigClient {
    public let client: UInt64
    public var timeoutNanos: UInt64 = 1_000_000_000
    public private(set) var cache = ConfigCache()
    private var sequence: UInt64 = 0

    public init(client: UInt64) {
        self.client = client
    }

    /// Reads `key` through whichever node answers (trying each in turn), or from the cache.
    public mutating func get(_ key: String, on simulator: Simulator) -> ConfigCache.Read? {
        sequence += 1
        let request = CoordinationRequest(client: client, sequence: sequence, command: .configGet(key: key))
        let deadline = simulator.now + timeoutNanos
        for node in simulator.nodeIDs where simulator.now < deadline {
            guard case .accepted = simulator.submit(request, to: node) else { continue }
            let attemptDeadline = min(deadline, simulator.now + timeoutNanos / UInt64(max(1, simulator.nodeIDs.count)))
            while let output = simulator.nextOutput(until: attemptDeadline) {
                if case .coordinationReply(_, client, sequence, .configValue(let version)) = output {
                    return cache.confirm(key, version: version, atNanos: simulator.now)
                }
            }
        }
        return cache.stale(key, atNanos: simulator.now)
    }
}
