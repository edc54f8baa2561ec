import ConclaveResilience
import ConclaveTimers

/// The IDs view's data: generators on each node's clock.
public struct IDsSnapshot: Equatable, Sendable {
    public struct Worker: Equatable, Sendable {
        public var node: UInt64
        public var worker: UInt64
        public var issued: Int
        public var perSecond: Double
        public var clockOffsetMillis: Int64
        public var lastID: UInt64?
        public var waits: Int
        public var refusals: Int
    }

    public struct Fields: Equatable, Sendable {
        public var timestampMillis: UInt64
        public var datacenter: UInt64
        public var worker: UInt64
        public var sequence: UInt64
    }

    /// Bits of each field, most significant first: timestamp, datacenter, worker, sequence.
    public var layoutBits = [41, 5, 5, 12]
    public var workers: [Worker] = []
    public var latestID: UInt64?
    public var latestFields: Fields?
    /// What the rollback policy did, newest last.
    public var rollbackEvents: [String] = []
    public var duplicates = 0
    public static let rollbackEventsMax = 20
    public init() {}
}

public struct LimiterSnapshot: Equatable, Sendable {
    public var name: String
    public var kind: String
    /// Tokens (bucket) or free slots (window) now, out of `capacity`.
    public var available: Int
    public var capacity: Int
    public var allowed: Int
    public var refused: Int
    /// Allowed and refused per sample, oldest first.
    public var allowedHistory: [Double]
    public var refusedHistory: [Double]
}

public struct BreakerSnapshot: Equatable, Sendable {
    public var name: String
    public var state: CircuitBreakerState
    public var failureRatePercent: Double?
    public var thresholdPercent: Double
    public var calls: Int
    public var probesIssued: Int
    public var probesAllowed: Int
    public var notPermitted: UInt64
    /// "12.3s closed → open: failure rate 60% ≥ 50%", newest last.
    public var transitions: [String]
}

public struct BalancerSnapshot: Equatable, Sendable {
    public var strategy: String
    /// Picks per backend (node 1 first).
    public var picks: [Int]
    /// Pearson's chi-square against a uniform spread, and the 0.1 % critical value for its degrees
    /// of freedom: above it, the spread is not uniform.
    public var chiSquare: Double
    public var critical: Double
}

/// The Scheduler view's data. Today: the console's timer queues and partition table; the
/// distributed scheduler fills `tasks` when it lands.
public struct SchedulerSnapshot: Equatable, Sendable {
    public var heapArity = 4
    /// Heap deadlines level by level from the root (ms).
    public var heapLevels: [[UInt64]] = []
    public var heapCount = 0
    public struct Ring: Equatable, Sendable {
        public var slotMillis: UInt64
        public var slotCount: Int
        public var cursor: Int
        public var count: Int
        public var slotCounts: [Int]
    }
    public var wheelRings: [Ring] = []
    public var wheelCount = 0
    public var nowMillis: UInt64 = 0
    /// Partition number → (primary node, replica node).
    public var partitions: [(primary: UInt64, replica: UInt64)] = []
    /// Lateness buckets: 0 ms, ≤1, ≤2, ≤5, ≤10, ≤20, ≤50, >50.
    public var latenessBuckets = Array(repeating: 0, count: 8)
    public static let latenessLabels = ["0", "≤1", "≤2", "≤5", "≤10", "≤20", "≤50", ">50"]
    public var fired = 0
    /// The distributed delay-task scheduler, once tasks exist: ownership, firings, lateness, and
    /// one node's heap of wake-ups.
    public var distributed: Distributed?
    public init() {}

    public struct Distributed: Equatable, Sendable {
        /// Per partition, its owners: primary first, then replicas.
        public var owners: [[UInt64]] = []
        public var pending = 0
        public var fired = 0
        public var late = 0
        public var reclaims = 0
        public var latenessBuckets: [Int] = []
        public var latenessLabels: [String] = []
        public var firedByNode: [Int] = []
        /// Each node's own wake-up heap (in cluster time), by node ID.
        public var heaps: [NodeHeap] = []
        /// The node whose heap is shown until the operator picks another (↑/↓): the view node.
        public var defaultHeapNode: UInt64 = 0
        public init() {}

        /// The heap at `row` of `heaps`, or the default node's when no row was picked.
        public func heap(at row: Int?) -> NodeHeap? {
            if let row, heaps.indices.contains(row) { return heaps[row] }
            return heaps.first { $0.node == defaultHeapNode } ?? heaps.first
        }

        public var defaultHeapRow: Int { heaps.firstIndex { $0.node == defaultHeapNode } ?? 0 }
    }

    public struct NodeHeap: Equatable, Sendable {
        public var node: UInt64
        public var heap: TimerQueueSnapshot
        public init(node: UInt64, heap: TimerQueueSnapshot) {
            self.node = node
            self.heap = heap
        }
    }

    /// Takes a heap's tree and a wheel's rings from timer-queue snapshots.
    public mutating func fill(heap: TimerQueueSnapshot, wheel: TimerQueueSnapshot) {
        if case .tree(let arity, let levels) = heap.layout {
            heapArity = arity
            heapLevels = levels
        }
        heapCount = heap.count
        if case .rings(let rings) = wheel.layout {
            wheelRings = rings.map { Ring(slotMillis: $0.slotMillis, slotCount: $0.slotCount, cursor: $0.cursor, count: $0.count, slotCounts: $0.slotCounts) }
        }
        wheelCount = wheel.count
        nowMillis = wheel.nowMillis
    }

    public static func == (left: Self, right: Self) -> Bool {
        left.heapArity == right.heapArity && left.heapLevels == right.heapLevels && left.heapCount == right.heapCount
            && left.wheelRings == right.wheelRings && left.wheelCount == right.wheelCount && left.nowMillis == right.nowMillis
            && left.partitions.map(\.primary) == right.partitions.map(\.primary)
            && left.partitions.map(\.replica) == right.partitions.map(\.replica)
            && left.latenessBuckets == right.latenessBuckets && left.fired == right.fired && left.distributed == right.distributed
    }
}

extension BreakerSnapshot {
    /// A breaker as the Breakers view shows it: its state, window and probes now, and its last
    /// transitions timed from `originNanos` ("12.3s closed → open: failure rate 60% ≥ 50%").
    init(name: String, breaker: CircuitBreaker, atNanos now: UInt64, originNanos: UInt64 = 0) {
        let state = breaker.snapshot(atNanos: now)
        self.init(
            name: name, state: state.state, failureRatePercent: state.failureRatePercent,
            thresholdPercent: breaker.configuration.failureRateThresholdPercent, calls: state.calls,
            probesIssued: state.probesIssued, probesAllowed: breaker.configuration.halfOpenProbes,
            notPermitted: state.totals.notPermittedCalls,
            transitions: state.recentTransitions.suffix(8).map { transition in
                let tenths = (transition.atNanos - min(transition.atNanos, originNanos)) / 100_000_000
                return "\(tenths / 10).\(tenths % 10)s \(transition.source.rawValue) → \(transition.target.rawValue): \(transition.reason)"
            })
    }
}

extension BreakerSnapshot {
    /// A node's delay-task callback breaker as the Breakers view names it: `n2 callback:billing`.
    static func callbackName(node: UInt64, target: String) -> String { "n\(node) callback:\(target)" }

    /// The console operates only its own breakers; a node's callback breakers are its scheduler's.
    static func refuseOperating(_ name: String) throws(ControlError) {
        guard name.contains(" callback:") else { return }
        throw ControlError("'\(name)' is node \(name.prefix { $0 != " " }.dropFirst())'s own callback breaker: it opens and closes "
            + "by the calls its scheduler makes; the console shows it but operates only its own breakers")
    }
}

extension CircuitBreaker {
    /// An operator's action from the Breakers view (o, d, c), for the embedded breakers and the
    /// remote console's routes alike; returns the transition it made, if any.
    mutating func perform(_ action: BreakerAction, nowNanos now: UInt64) -> CircuitBreakerTransition? {
        switch action {
        case .open: return forceOpen(nowNanos: now)
        case .disable: return disable(nowNanos: now)
        case .reset: return reset(nowNanos: now)
        }
    }
}
