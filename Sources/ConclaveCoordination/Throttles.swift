import ConclaveCore
import ConclaveResilience

/// Cluster-wide throttles: named GCRA limits ("1,000 requests per second across the cluster, however
/// the requests spread over the nodes") kept in the replicated state machine, so every node meters
/// against one state and the state survives a leader change, a restart and a snapshot install.
///
/// **Time and accuracy.** Cluster time moves only by the leader's `elapsed` entries (every 100 ms by
/// default), so a throttle metered on cluster time alone would see every request between two clock
/// entries at the same instant: it would admit `maxBurst + 1` per clock step and nothing in between
/// (10 a second for a burst of 0, whatever the rate). Instead each `take` carries a *stamp*: the
/// receiving node's estimate of cluster time when the request arrived — the cluster time of the last
/// clock entry it applied plus its own monotonic clock since. Applying the entry, the stamp is clamped
/// into `[T, T + stampLeadMaxMillis]`, T being cluster time at that log index, and the throttle's time
/// never moves back (GCRA ignores an earlier time). Stamping happens at the node, not at the leader,
/// because proposals reach the leader inside Raft, which carries bytes and knows nothing of throttles.
///
/// What that gives, stated: over any window of length W of cluster time, a throttle of `count` per
/// `periodMillis` with burst `maxBurst` admits at most `maxBurst + 1 + (W + ε) × count / period`,
/// where ε is the spread of the decision times' errors. The clamp bounds ε by `stampLeadMaxMillis`
/// (100 ms) whatever a node's clock does; in a healthy cluster ε is the time a node takes to learn a
/// clock entry (one commit and apply, a few milliseconds) plus its clock's rate error over one clock
/// interval. Cluster time itself runs at the leader clock's rate and pauses during a failover (the
/// gap is not metered: a throttle admits less, never more, across a leader change).
///
/// Limits: 10,000 throttles; names as keys (1–256 bytes); `count` 1…2⁴⁰ per `periodMillis` 1 ms…1 day;
/// `maxBurst` 0…2⁴⁰ within GCRA's own bound.
public struct ThrottleTable: Equatable, Sendable {
    public struct Throttle: Equatable, Sendable {
        public let name: String
        public let count: Int
        public let periodMillis: UInt64
        public let maxBurst: Int
        var limiter: GenericCellRateLimiter
        public internal(set) var allowed: UInt64 = 0
        public internal(set) var refused: UInt64 = 0
    }

    public static let throttlesMax = 10_000
    /// How far past cluster time a stamp may run (one default clock interval): the bound on ε.
    public static let stampLeadMaxMillis: UInt64 = 100

    public internal(set) var throttles: [String: Throttle] = [:]
    /// The throttles' share of the replica digest (see `StateHasher`).
    private(set) var stateHash = StateHashSum()

    public init() {}

    /// Every write of a throttle goes through here, so the digest's share stays in step.
    mutating func store(_ throttle: Throttle) {
        let old = throttles.updateValue(throttle, forKey: throttle.name)
        stateHash.replace(old?.stateHash, with: throttle.stateHash)
    }

    /// `stateHash` rebuilt from the throttles (what it must equal).
    func recomputedStateHash() -> StateHashSum {
        var sum = StateHashSum()
        for throttle in throttles.values { sum.replace(nil, with: throttle.stateHash) }
        return sum
    }

    /// Applies a throttle command at cluster time `clusterMillis`.
    mutating func apply(_ command: ThrottleCommand, clusterMillis: UInt64) throws(CoordinationError) -> CoordinationResult {
        switch command {
        case .define(let name, let count, let periodMillis, let maxBurst):
            try define(name, count: count, periodMillis: periodMillis, maxBurst: maxBurst, clusterMillis: clusterMillis)
            return .done
        case .take(let name, let quantity, let stampNanos):
            try CoordinationLimits.validate(name: name)
            guard var throttle = throttles[name] else { throw .invalidRequest("unknown throttle '\(name)'; define it first") }
            let decision = throttle.limiter.request(quantity, nowNanos: Self.decisionNanos(stampNanos, clusterMillis: clusterMillis))
            if decision.allowed { throttle.allowed &+= 1 } else { throttle.refused &+= 1 }
            store(throttle)
            return .throttled(decision)
        }
    }

    /// The instant a take is decided at: its stamp, clamped into [T, T + stampLeadMaxMillis].
    static func decisionNanos(_ stampNanos: UInt64, clusterMillis: UInt64) -> UInt64 {
        let floor = clusterMillis &* 1_000_000
        return min(max(stampNanos, floor), floor &+ stampLeadMaxMillis * 1_000_000)
    }

    /// Creates a throttle, or changes its limit. The same limit again changes nothing (clients may
    /// define before every use); a new limit starts idle at cluster time, counts kept.
    private mutating func define(_ name: String, count: Int, periodMillis: UInt64, maxBurst: Int,
                                 clusterMillis: UInt64) throws(CoordinationError) {
        try CoordinationLimits.validate(name: name)
        try CoordinationLimits.validate("throttle period", periodMillis, in: 1...86_400_000, unit: " ms")
        let existing = throttles[name]
        if let existing, existing.count == count, existing.periodMillis == periodMillis, existing.maxBurst == maxBurst { return }
        guard existing != nil || throttles.count < Self.throttlesMax else {
            throw .limitReached("\(Self.throttlesMax) throttles")
        }
        let limiter: GenericCellRateLimiter
        do {
            limiter = try GenericCellRateLimiter(count: count, periodNanos: periodMillis * 1_000_000, maxBurst: maxBurst,
                                                 nowNanos: clusterMillis &* 1_000_000)
        } catch {
            throw .invalidRequest("throttle '\(name)': \(error)")
        }
        var throttle = Throttle(name: name, count: count, periodMillis: periodMillis, maxBurst: maxBurst, limiter: limiter)
        throttle.allowed = existing?.allowed ?? 0
        throttle.refused = existing?.refused ?? 0
        store(throttle)
    }
}

extension ThrottleTable.Throttle {
    var stateHash: UInt64 {
        var hasher = StateHasher(9)
        hasher.combine(name)
        hasher.combine(count)
        hasher.combine(periodMillis)
        hasher.combine(maxBurst)
        hasher.combine(limiter.state.debtUnits)
        hasher.combine(limiter.state.lastNanos)
        hasher.combine(allowed)
        hasher.combine(refused)
        return hasher.finalized
    }
}

/// A request to the throttle table, carried by `CoordinationCommand.throttle`.
public enum ThrottleCommand: Equatable, Sendable {
    /// Creates or changes a throttle: `count` requests per `periodMillis`, bursts of `maxBurst` more.
    case define(name: String, count: Int, periodMillis: UInt64, maxBurst: Int)
    /// Asks for `quantity` (redis-cell's semantics); `stampNanos` is the receiving node's estimate of
    /// cluster time (see `ThrottleTable`); a client sends 0 and the node fills it in.
    case take(name: String, quantity: Int, stampNanos: UInt64)
}

// MARK: - Encoding (log entries and snapshots)

extension ThrottleCommand {
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .define(let name, let count, let period, let burst):
            writer.write(UInt8(1)); writer.write(name); writer.write(count); writer.write(period); writer.write(burst)
        case .take(let name, let quantity, let stamp):
            writer.write(UInt8(2)); writer.write(name); writer.write(quantity); writer.write(stamp)
        }
    }

    init?(from reader: inout ByteReader) {
        switch reader.readByte() {
        case 1:
            guard let name = reader.readString(), let count = reader.readInt(), let period = reader.readUInt64(),
                  let burst = reader.readInt() else { return nil }
            self = .define(name: name, count: count, periodMillis: period, maxBurst: burst)
        case 2:
            guard let name = reader.readString(), let quantity = reader.readInt(), let stamp = reader.readUInt64() else { return nil }
            self = .take(name: name, quantity: quantity, stampNanos: stamp)
        default:
            return nil
        }
    }
}

extension ByteWriter {
    mutating func write(_ table: ThrottleTable) {
        write(UInt64(table.throttles.count))
        for name in table.throttles.keys.sorted() {
            let throttle = table.throttles[name]!
            write(name); write(UInt64(throttle.count)); write(throttle.periodMillis); write(UInt64(throttle.maxBurst))
            let state = throttle.limiter.state
            write(state.debtUnits); write(state.lastNanos); write(throttle.allowed); write(throttle.refused)
        }
    }

    mutating func write(_ decision: CellRateDecision) {
        write(UInt8(decision.allowed ? 1 : 0)); write(UInt64(decision.limit)); write(UInt64(decision.remaining))
        writeOptional(decision.retryAfterNanos); write(decision.resetAfterNanos)
    }
}

extension ByteReader {
    mutating func readThrottles() -> ThrottleTable? {
        guard let count = readCount(of: 60), count <= ThrottleTable.throttlesMax else { return nil }
        var table = ThrottleTable()
        for _ in 0..<count {
            guard let name = readString(), let rate = readUInt64(), rate <= 1 << 40, let period = readUInt64(),
                  period <= 86_400_000, let burst = readUInt64(), burst <= 1 << 40, let debt = readUInt64(),
                  let last = readUInt64(), let allowed = readUInt64(), let refused = readUInt64(),
                  let limiter = try? GenericCellRateLimiter(count: Int(rate), periodNanos: period * 1_000_000, maxBurst: Int(burst),
                                                            restoring: .init(debtUnits: debt, lastNanos: last))
            else { return nil }
            table.store(ThrottleTable.Throttle(name: name, count: Int(rate), periodMillis: period, maxBurst: Int(burst),
                                               limiter: limiter, allowed: allowed, refused: refused))
        }
        return table
    }

    mutating func readDecision() -> CellRateDecision? {
        guard let allowed = readByte(), allowed <= 1, let limit = readUInt64(), let remaining = readUInt64(),
              let retry = readOptional(), let reset = readUInt64() else { return nil }
        return CellRateDecision(allowed: allowed == 1, limit: Int(clamping: limit), remaining: Int(clamping: remaining),
                                retryAfterNanos: retry, resetAfterNanos: reset)
    }
}
