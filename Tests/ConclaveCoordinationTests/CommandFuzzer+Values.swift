import ConclaveCore
@testable import ConclaveCoordination

/// Values at the stated bounds and past them, and names of every length that matters.
extension CommandFuzzer {
    /// Names of exactly `CoordinationLimits.nameBytesMax` bytes (ASCII, and two-byte characters)
    /// and one character more, a name far past any limit, and names of odd characters.
    static let maximalName = String(repeating: "n", count: CoordinationLimits.nameBytesMax)
    static let overMaximalName = maximalName + "n"
    static let maximalWideName = String(repeating: "é", count: CoordinationLimits.nameBytesMax / 2)
    static let overMaximalWideName = maximalWideName + "é"
    static let hugeName = String(repeating: "h", count: 65_536)
    static let oddNames = ["\u{0}", "🔒", " ", "a/b", "m0\u{0}"]
    static let maximalPayload = String(repeating: "p", count: TaskLimits.payloadBytesMax)
    static let overMaximalPayload = maximalPayload + "p"

    /// A name from `pool` mostly; else empty, maximal, over-maximal, odd, or (rarely) huge.
    mutating func name(_ pool: [String]) -> String {
        switch below(1_000) {
        case 0..<880: return pick(pool)
        case 880..<910: return ""
        case 910..<940: return Self.maximalName
        case 940..<950: return Self.maximalWideName
        case 950..<970: return Self.overMaximalName
        case 970..<980: return Self.overMaximalWideName
        case 980..<999: return pick(Self.oddNames)
        default: return chance(10) ? Self.hugeName : Self.maximalName
        }
    }

    /// Durations at and past every bound a request's durations meet: 1 day (waits, lock-delays,
    /// graces, TTLs), 10 minutes (task timeouts, backoffs, visibility), the end of cluster time,
    /// the signed and unsigned maxima.
    mutating func extremeMillis() -> UInt64 {
        pick([0, 1, 86_400_000, 86_400_001, 600_000, 600_001, CoordinationLimits.clusterTimeMillisMax,
              CoordinationLimits.clusterTimeMillisMax + 1, UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max,
              UInt64.max - 1, random.next()])
    }

    /// A wait, grace or lock-delay: mostly short, sometimes extreme.
    mutating func durationMillis() -> UInt64 { chance(85) ? below(3_000) : extremeMillis() }

    /// A session or hold TTL: mostly within 1…60 s, sometimes at or past 1 ms … 1 day.
    mutating func ttlMillis() -> UInt64 { chance(85) ? 1 + below(60_000) : extremeMillis() }

    /// A point in cluster time: soon, now, at the end of cluster time and past it, or anything.
    mutating func pointInTime() -> UInt64 {
        chance(50) ? nowMillis + below(10_000)
            : pick([0, nowMillis, CoordinationLimits.clusterTimeMillisMax, CoordinationLimits.clusterTimeMillisMax + 1, UInt64.max,
                    random.next()])
    }

    /// Counts at and past every bound a count meets: task attempts (20), pulls and lists (1,000),
    /// members (1,000), semaphore permits (10⁶), worker IDs (2²²), throttle rates and bursts (2⁴⁰),
    /// and the signed extremes.
    mutating func extremeInt() -> Int {
        pick([0, 1, -1, 2, 3, 20, 21, 1_000, 1_001, CoordinationLimits.permitsMax, CoordinationLimits.permitsMax + 1,
              WorkerLeases.workersMaxLimit, WorkerLeases.workersMaxLimit + 1, 1 << 40, (1 << 40) + 1, Int.max, Int.max - 1,
              Int.min, Int.min + 1])
    }

    /// A counter's step: small mostly, else the signed extremes (overflow must be refused).
    mutating func delta() -> Int64 {
        chance(80) ? Int64(below(21)) - 10 : pick([Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 1, -1])
    }
}
