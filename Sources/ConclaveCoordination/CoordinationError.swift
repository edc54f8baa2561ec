/// What the coordination services refuse, as values: the state is unchanged whenever one is thrown.
public enum CoordinationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case invalidTTL(String)
    case unknownSession(UInt64)
    case sessionExists(UInt64)
    case notOwner(lock: String, session: UInt64)
    case unknownLock(String)
    case limitReached(String)
    case invalidRequest(String)
    case unknownTask(UInt64)
    /// A command only the nodes propose (as client 0) came from a client.
    case nodeOnly(command: String, client: UInt64)
    /// A client request carried client 0, which is the nodes' own.
    case reservedClient
    /// A queued acquire ended without a grant (what a retry of it is told).
    case waitEnded(lock: String, reason: String)
    /// A refusal restored from a snapshot, kept as its message (the answer a retry gets again).
    case restored(String)

    public var description: String {
        switch self {
        case .invalidName(let reason): return "invalid name: \(reason)"
        case .invalidTTL(let reason): return "invalid TTL: \(reason)"
        case .unknownSession(let session): return "unknown session \(session) (expired, closed or never opened)"
        case .sessionExists(let session): return "session \(session) is already open"
        case .notOwner(let lock, let session): return "session \(session) does not hold lock '\(lock)'"
        case .unknownLock(let name): return "unknown lock '\(name)'"
        case .limitReached(let what): return "limit reached: \(what)"
        case .invalidRequest(let reason): return "invalid request: \(reason)"
        case .unknownTask(let id): return "unknown task \(id) (finished long ago, or never scheduled)"
        case .nodeOnly(let command, let client):
            return "\(command) is proposed by the nodes only (client 0); refused from client \(client)"
        case .waitEnded(let lock, let reason): return "the queued acquire on lock '\(lock)' ended without a grant: \(reason)"
        case .reservedClient:
            return "client 0 is reserved for the nodes' own entries (the leader's clock, scheduler membership, "
                + "claims and reports); clients use IDs from 1"
        case .restored(let message): return message
        }
    }
}

/// Limits of the coordination services (each is tested at its boundary).
public enum CoordinationLimits {
    /// Lock and key names: 1…256 bytes of UTF-8.
    public static let nameBytesMax = 256
    /// Session TTL: 1 ms … 1 day.
    public static let ttlMillisRange: ClosedRange<UInt64> = 1...86_400_000
    public static let sessionsMax = 100_000
    public static let locksMax = 100_000
    /// Waiters queued on one lock.
    public static let waitersPerLockMax = 10_000
    /// Semaphore permits.
    public static let permitsMax = 1_000_000
    /// Cluster time never passes this (2⁴³ ms, about 278 years); a clock entry that would is
    /// refused. With every duration a request carries bounded too, no deadline (cluster time plus
    /// a duration) and no nanosecond clock (cluster time × 10⁶, the throttles') can overflow.
    public static let clusterTimeMillisMax: UInt64 = 1 << 43
    /// A blocking acquire's wait, a lock-delay, a revocation's grace: 0 ms … 1 day.
    public static let durationMillisRange: ClosedRange<UInt64> = 0...86_400_000
    /// Answers kept for retries of clients without a live session. A client's last answer stays
    /// with its session while the session lives (so at most `sessionsMax` of those); after, it
    /// joins these, and past this many the least recently written is forgotten: a retry that comes
    /// back after that takes effect again (the stated limit of exactly-once).
    public static let answersWithoutSessionMax = 100_000
    /// Fenced keys whose highest written token is remembered; past this, the least recently
    /// written key's is forgotten. Safe for a key guarded by one mutex (its holder's token is
    /// that lock's newest, and only a current holder writes); what is lost is the order between
    /// holders at once (readers, semaphore permits) or between locks guarding one key.
    public static let fencesMax = 100_000
    /// Counters held. A counter back at 0 is dropped (reading an absent one gives 0); a new one
    /// past this is refused.
    public static let countersMax = 100_000
    /// A KV key's TTL (`SET … PX/EX`): 1 ms … 2⁴³ ms (about 278 years, cluster time's whole span;
    /// Redis allows more, but no key outlives cluster time anyway). With cluster time at most
    /// `clusterTimeMillisMax`, an expiry instant (now + TTL) stays below 2⁴⁴: it cannot overflow.
    public static let kvTTLMillisRange: ClosedRange<UInt64> = 1...(1 << 43)
    /// KV keys with a TTL at once (the size of the expiry index); a `set` that would add one past
    /// this is refused. A key's TTL is dropped when the key expires, is deleted or is overwritten
    /// without one.
    public static let kvExpiringKeysMax = 1 << 24
    /// Keys one `deleteKeys` or `exists` names (Redis `DEL`/`EXISTS` with many arguments); a
    /// longer request does not decode, so the door refuses it before proposing.
    public static let kvKeysPerCommandMax = 1024
    /// The most bytes of keys or values one KV answer lists (`MGET`, `KEYS`, a `SCAN` page): half
    /// a client's output buffer (`ClientPortConfiguration.outputBytesMax`, 32 MiB), so any answer
    /// can reach its client. `MGET` and `KEYS` past it are refused; a `SCAN` page stops short.
    public static let kvReplyBytesMax = 16 << 20
    /// The most keys one `KEYS` answers; past it, `KEYS` is refused (use `SCAN`).
    public static let kvKeysReplyMax = 100_000
    /// The most keys one `SCAN` step examines; a larger `COUNT` is clamped (COUNT is a hint, in
    /// Redis too).
    public static let kvScanCountMax = 10_000

    static func validate(name: String) throws(CoordinationError) {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw .invalidName("empty; names are 1…\(nameBytesMax) bytes") }
        guard bytes <= nameBytesMax else { throw .invalidName("\(bytes) bytes; names are 1…\(nameBytesMax) bytes") }
    }

    static func validate(ttlMillis: UInt64) throws(CoordinationError) {
        guard ttlMillisRange.contains(ttlMillis) else {
            throw .invalidTTL("\(ttlMillis) ms; accepted: \(ttlMillisRange.lowerBound)…\(ttlMillisRange.upperBound) ms")
        }
    }

    /// Refuses `value` outside `range`, naming the field, the value and what is accepted.
    static func validate(_ field: String, _ value: UInt64, in range: ClosedRange<UInt64>, unit: String = "") throws(CoordinationError) {
        guard value >= range.lowerBound && value <= range.upperBound else {
            throw outOfRange(field, "\(value)", "\(range.lowerBound)…\(range.upperBound)", unit: unit)
        }
    }

    static func validate(_ field: String, _ value: Int, in range: ClosedRange<Int>, unit: String = "") throws(CoordinationError) {
        guard value >= range.lowerBound && value <= range.upperBound else {
            throw outOfRange(field, "\(value)", "\(range.lowerBound)…\(range.upperBound)", unit: unit)
        }
    }

    private static func outOfRange(_ field: String, _ value: String, _ accepted: String, unit: String) -> CoordinationError {
        .invalidRequest("\(field) \(value)\(unit); accepted: \(accepted)\(unit)")
    }

    /// Refuses a duration outside `durationMillisRange`.
    static func validate(_ field: String, millis: UInt64) throws(CoordinationError) {
        try validate(field, millis, in: durationMillisRange, unit: " ms")
    }

    /// Refuses a point in cluster time past `clusterTimeMillisMax` (a task that could never fire).
    static func validate(_ field: String, clusterMillis: UInt64) throws(CoordinationError) {
        try validate(field, clusterMillis, in: 0...clusterTimeMillisMax, unit: " ms of cluster time")
    }
}
