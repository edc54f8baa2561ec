import ConclaveCore

/// Snowflake worker IDs leased to sessions through consensus, so no two live generators share one.
///
/// A session leases the lowest free ID below `workersMax`, stating the deadline (on its own clock)
/// until which it may issue IDs; renewing moves the deadline. When the session ends the ID is free
/// again, and its last deadline stays recorded: the next holder is told to issue only IDs stamped
/// after it (`startAfterMillis`), so its IDs exceed the previous holder's whatever the two clocks
/// say. (The generator side of this contract is `SnowflakeGenerator`.)
public struct WorkerLeases: Equatable, Sendable {
    public struct Lease: Equatable, Sendable {
        public var worker: Int
        public var session: UInt64
        public var deadlineMillis: UInt64
    }

    /// Worker IDs a layout can have: up to 2^22 (the widest worker field that leaves room).
    public static let workersMaxLimit = 1 << 22

    public internal(set) var leases: [Int: Lease] = [:]
    /// The last deadline recorded for each worker ID ever leased.
    public internal(set) var lastDeadlines: [Int: UInt64] = [:]

    public init() {}

    /// Leases (or renews) the session's worker ID; returns it and the deadline its IDs must follow:
    /// the highest deadline any earlier holder of that ID recorded (0 on a renewal: the holder
    /// already follows it).
    mutating func lease(session: UInt64, workersMax: Int, deadlineMillis: UInt64) throws(CoordinationError) -> (worker: Int, startAfterMillis: UInt64) {
        guard (1...Self.workersMaxLimit).contains(workersMax) else {
            throw .invalidRequest("workersMax \(workersMax); accepted: 1…\(Self.workersMaxLimit)")
        }
        if let held = leases.values.first(where: { $0.session == session }) {
            guard deadlineMillis >= held.deadlineMillis else {
                throw .invalidRequest("a renewal may not move worker \(held.worker)'s deadline back (\(deadlineMillis) < \(held.deadlineMillis))")
            }
            leases[held.worker]?.deadlineMillis = deadlineMillis
            // The recorded deadline only grows: it may still be an earlier holder's, whose clock ran
            // ahead of this one's (seed 851079 found the overwrite: a renewal on a slower clock lowered
            // it, and the next holder stamped inside that earlier holder's range).
            lastDeadlines[held.worker] = max(lastDeadlines[held.worker] ?? 0, deadlineMillis)
            return (held.worker, 0)
        }
        guard let worker = (0..<workersMax).first(where: { leases[$0] == nil }) else {
            throw .limitReached("all \(workersMax) worker IDs are leased")
        }
        let startAfter = lastDeadlines[worker] ?? 0
        leases[worker] = Lease(worker: worker, session: session, deadlineMillis: deadlineMillis)
        lastDeadlines[worker] = max(startAfter, deadlineMillis)
        return (worker, startAfter)
    }

    /// The session ended: its worker ID is free (its deadline stays recorded).
    mutating func release(session: UInt64) {
        for (worker, lease) in leases where lease.session == session { leases[worker] = nil }
    }
}
