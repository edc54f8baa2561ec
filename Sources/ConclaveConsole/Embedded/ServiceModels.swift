import ConclaveCluster
import ConclaveCore
import ConclaveIDs
import ConclaveResilience
import ConclaveTimers

/// The pure service cores the console shows beside consensus, fed by the embedded workload and
/// virtual time: ID generators on each node's clock, limiters and breakers on the client traffic,
/// balancers choosing among the nodes, and timer queues holding delay tasks.
struct ServiceModels {
    var random: SeededGenerator
    var generators: [SnowflakeGenerator]
    var idStats: [(issued: Int, lastID: UInt64?, waits: Int, refusals: Int, perSecond: Double, previous: Int)]
    var ids = IDsSnapshot()
    var recentIDs = Set<UInt64>()
    var recentOrder: [UInt64] = []
    var limiters: [(name: String, kind: String, limiter: AnyLimiter, allowed: Int, refused: Int, history: [(Double, Double)], mark: (Int, Int))]
    var breakers: [CircuitBreaker]
    var balancers: Balancers
    var heap: DaryHeap
    var wheel: HierarchicalWheel
    var latenessBuckets = Array(repeating: 0, count: 8)
    var fired = 0
    var partitions: [(primary: UInt64, replica: UInt64)] = []
    var ticks = 0
    /// Lines for the event log, drained by the cluster every service tick.
    var log: [(ClusterEvent.Kind, String)] = []

    static let idEpochOffsetMillis: UInt64 = 1_000
    static let historyMax = 120
    static let recentIDsMax = 8_192
    static let partitionCount = 12
    static let tasksPendingMax = 10_000

    init(nodes: Int, seed: UInt64) {
        random = SeededGenerator(seed: seed, stream: 0x5E_41)
        generators = (1...nodes).map { node in
            // Worker = node ID: each node stamps with its own clock, as a generator on it would.
            let configuration = SnowflakeConfiguration(datacenterID: 1, workerID: UInt64(node))
            return try! SnowflakeGenerator(configuration: configuration, leaseExpiresAtMillis: .max / 2)
        }
        idStats = Array(repeating: (0, nil, 0, 0, 0, 0), count: nodes)
        limiters = [
            ("admission", "token bucket", .bucket(try! TokenBucket(capacity: 20, tokensPerSecond: 15, nowNanos: 0)), 0, 0, [], (0, 0)),
            ("per-second", "sliding log", .log(try! SlidingWindowLog(limit: 25, windowNanos: 1_000_000_000)), 0, 0, [], (0, 0)),
            ("smooth", "GCRA", .gcra(try! GenericCellRateLimiter(count: 12, periodNanos: 1_000_000_000, maxBurst: 4, nowNanos: 0)), 0, 0, [], (0, 0)),
        ]
        let configuration = CircuitBreakerConfiguration(
            window: .countBased(calls: 20), minimumCalls: 6, failureRateThresholdPercent: 50,
            waitInOpenNanos: 2_000_000_000, halfOpenProbes: 3, transitionHistoryMax: 16)
        breakers = (1...nodes).map { _ in try! CircuitBreaker(configuration: configuration, nowNanos: 0) }
        balancers = Balancers(backends: nodes)
        heap = try! DaryHeap(arity: 4, capacity: 1 << 16)
        wheel = try! HierarchicalWheel(tickMillis: 10, slotsPerLevel: 16, capacity: 1 << 16)
    }

    enum AnyLimiter {
        case bucket(TokenBucket), log(SlidingWindowLog), gcra(GenericCellRateLimiter)

        mutating func allow(nowNanos: UInt64) -> Bool {
            switch self {
            case .bucket(var limiter): defer { self = .bucket(limiter) }; return limiter.allow(nowNanos: nowNanos)
            case .log(var limiter): defer { self = .log(limiter) }; return limiter.allow(nowNanos: nowNanos)
            case .gcra(var limiter): defer { self = .gcra(limiter) }; return limiter.allow(nowNanos: nowNanos)
            }
        }

        func available(nowNanos: UInt64) -> (Int, Int) {
            switch self {
            case .bucket(let limiter): return (limiter.availableTokens(atNanos: nowNanos), limiter.capacity)
            case .log(let limiter): return (limiter.limit - limiter.count(atNanos: nowNanos), limiter.limit)
            case .gcra(var limiter):
                let decision = limiter.request(0, nowNanos: nowNanos)
                return (decision.remaining, decision.limit)
            }
        }
    }

    /// Which node a request goes to: round robin over the nodes, skipping any whose breaker refuses
    /// (a dead node is tried until its breaker opens, then left alone until it probes half-open).
    /// Every limiter and balancer sees the attempt.
    mutating func admit(key: String, nowNanos: UInt64, nodes: [NodeID]) -> (node: NodeID, permit: BreakerPermit?) {
        for index in limiters.indices {
            if limiters[index].limiter.allow(nowNanos: nowNanos) { limiters[index].allowed += 1 } else { limiters[index].refused += 1 }
        }
        let start = balancers.pickAll(key: key, using: &random) % max(1, nodes.count)
        for offset in 0..<nodes.count {
            let node = nodes[(start + offset) % nodes.count]
            let index = Int(node) - 1
            guard index < breakers.count else { return (node, nil) }
            let admission = breakers[index].acquire(nowNanos: nowNanos)
            note(admission.transition, breaker: index)
            if let permit = admission.permit { return (node, BreakerPermit(index: index, permit: permit)) }
        }
        return (nodes[start], nil)
    }

    mutating func recordOutcome(permit: BreakerPermit?, failed: Bool, durationNanos: UInt64, nowNanos: UInt64) {
        guard let permit else { return }
        let transition = breakers[permit.index].record(failed ? .failure : .success, permit: permit.permit,
                                                       durationNanos: durationNanos, nowNanos: nowNanos)
        note(transition, breaker: permit.index)
    }

    mutating func note(_ transition: CircuitBreakerTransition?, breaker index: Int) {
        guard let transition else { return }
        log.append((.fault, "breaker node-\(index + 1): \(transition.source.rawValue) → \(transition.target.rawValue) (\(transition.reason))"))
    }
}

/// A breaker's permit, with which breaker issued it.
struct BreakerPermit {
    var index: Int
    var permit: CircuitBreakerPermit
}

extension ServiceModels {
    /// An operator's action on the breaker named `name` ("node-2"); its transition goes to `log`.
    mutating func perform(_ action: BreakerAction, onBreaker name: String, nowNanos now: UInt64) throws(ControlError) -> String {
        try BreakerSnapshot.refuseOperating(name)
        let names = (1...breakers.count).map { "node-\($0)" }
        guard let index = names.firstIndex(of: name) else {
            throw ControlError("no breaker '\(name)'; breakers are \(names.joined(separator: ", "))")
        }
        note(breakers[index].perform(action, nowNanos: now), breaker: index)
        return "breaker \(name): \(action.rawValue)"
    }
}
