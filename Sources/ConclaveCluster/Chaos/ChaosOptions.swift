import ConclaveCore

/// The faults a chaos run's nemesis may inject.
public enum NemesisKind: String, CaseIterable, Sendable {
    case partition, crash, pause, skew, drop, clog, duplicate, delay
    /// Grow (a fresh node as learner, promoted once caught up) or shrink (remove a voter, maybe
    /// the leader) the cluster, keeping 3–7 voters.
    case membership
    /// Ask the leader to hand leadership to another voter.
    case transfer

    /// Parses a comma-separated list ("partition,crash"); "all" and "none" are accepted too.
    public static func parseList(_ text: String) throws(ChaosError) -> [NemesisKind] {
        let names = text.split(separator: ",").map { $0.filter { $0 != " " }.lowercased() }
        if names == ["all"] { return allCases }
        if names == ["none"] || names.isEmpty { return [] }
        var kinds: [NemesisKind] = []
        for name in names {
            guard let kind = NemesisKind(rawValue: name) else {
                throw .invalid("unknown nemesis '\(name)'; accepted: \(allCases.map(\.rawValue).joined(separator: ", ")), all, none")
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }
}

/// What the clients of a chaos run do.
public enum ChaosWorkload: String, CaseIterable, Sendable {
    /// Registers: put, get, cas, delete.
    case kv
    /// Sessions with keep-alives, try-locks with fencing tokens, releases.
    case locks
    /// Half the clients on each.
    case mixed
    /// Snowflake generators on the nodes' (skewed) clocks, worker IDs leased through consensus.
    case ids
    /// KV clients plus delay tasks: a producer schedules tasks to a queue and to a callback, a
    /// consumer pulls and acknowledges the queue.
    case tasks
}

/// A chaos run: clients against a simulated cluster under a nemesis, recorded as a history.
public struct ChaosOptions: Sendable {
    public static let clientsRange = 1...64
    public static let durationRangeNanos: ClosedRange<UInt64> = 1_000_000_000...86_400_000_000_000

    public var seed: UInt64 = 1
    public var nodes = 5
    public var clients = 10
    public var durationNanos: UInt64 = 60_000_000_000
    public var nemesis: [NemesisKind] = NemesisKind.allCases
    public var workload: ChaosWorkload = .kv
    /// Leaders serve gets from their lease (`RaftConfig.leaseReads`) instead of a heartbeat round;
    /// the lease allows for the worst clock-rate pair the skew nemesis makes.
    public var leaseReads = false
    /// One delay task scheduled per this interval (nil: every 50 ms for the tasks workload, none
    /// otherwise; 0: none).
    public var taskIntervalNanos: UInt64?

    public var tasksIntervalNanos: UInt64 { taskIntervalNanos ?? (workload == .tasks ? 50_000_000 : 0) }
    /// Lock clients' session TTL.
    public var sessionTTLMillis: UInt64 = 1_500
    /// Mean time between nemesis actions.
    public var nemesisIntervalNanos: UInt64 = 1_500_000_000
    /// Keys in play at once; each is retired for a fresh one after `keyLifetimeOperations`
    /// (keeps the linearizability check tractable, see ../shared/HISTORY.md).
    public var keysLive = 3
    public var keyLifetimeOperations = 200
    /// A client waits this long for one node before trying another, and gives up on an
    /// operation (outcome unknown) after `operationTimeoutNanos`.
    public var attemptTimeoutNanos: UInt64 = 400_000_000
    public var operationTimeoutNanos: UInt64 = 2_000_000_000
    /// Clients think for up to this long between operations.
    public var thinkNanosMax: UInt64 = 20_000_000
    /// Keep the history (off for open-ended live runs, whose memory must stay flat).
    public var recordHistory = true
    /// Snapshot policy of the simulated nodes (small values exercise InstallSnapshot often).
    public var snapshotEveryEntries: UInt64 = 2_000
    public var snapshotChunkBytes = 64 << 10
    /// Keep the first this many trace lines (0: none) for `--trace`.
    public var traceLinesMax = 0
    /// States the checker may explore per key before it answers "unknown".
    public var checkerStatesPerKeyMax = 2_000_000

    public init(seed: UInt64 = 1) {
        self.seed = seed
    }

    public func validate() throws(ChaosError) {
        guard SimulationConfig.nodesRange.contains(nodes) else {
            throw .invalid("--nodes must be in \(SimulationConfig.nodesRange.lowerBound)…\(SimulationConfig.nodesRange.upperBound), got \(nodes)")
        }
        guard Self.clientsRange.contains(clients) else {
            throw .invalid("--clients must be in \(Self.clientsRange.lowerBound)…\(Self.clientsRange.upperBound), got \(clients)")
        }
        guard Self.durationRangeNanos.contains(durationNanos) else {
            throw .invalid("--duration must be between 1s and 24h, got \(durationNanos / 1_000_000)ms")
        }
        guard keysLive > 0, keyLifetimeOperations > 0 else { throw .invalid("keysLive and keyLifetimeOperations must be > 0") }
        guard attemptTimeoutNanos > 0, operationTimeoutNanos >= attemptTimeoutNanos else {
            throw .invalid("operationTimeoutNanos must be ≥ attemptTimeoutNanos > 0")
        }
        guard nemesisIntervalNanos > 0 else { throw .invalid("nemesisIntervalNanos must be > 0") }
    }
}

public enum ChaosError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        }
    }
}
