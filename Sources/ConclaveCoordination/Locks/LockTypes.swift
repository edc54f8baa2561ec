import ConclaveCore

/// What kind of lock a name is; fixed when the lock is first acquired.
public enum LockKind: Equatable, Sendable, CustomStringConvertible {
    /// One holder at a time.
    case mutex
    /// Many readers or one writer.
    case readWrite
    /// Up to `permits` permits held at once, a holder taking one or more.
    case semaphore(permits: Int)

    var capacity: Int {
        switch self {
        case .mutex, .readWrite: return 1
        case .semaphore(let permits): return permits
        }
    }

    public var description: String {
        switch self {
        case .mutex: return "mutex"
        case .readWrite: return "read/write"
        case .semaphore(let permits): return "semaphore(\(permits))"
        }
    }

    /// The kind a `description` names (as status reports carry it); nil for anything else.
    public init?(description: String) {
        switch description {
        case "mutex": self = .mutex
        case "read/write": self = .readWrite
        default:
            guard description.hasPrefix("semaphore("), description.hasSuffix(")"),
                  let permits = Int(description.dropFirst(10).dropLast()), permits > 0 else { return nil }
            self = .semaphore(permits: permits)
        }
    }
}

/// How a holder holds a lock.
public enum LockMode: Equatable, Sendable {
    case exclusive
    case shared
    case permits(Int)
}

/// Who holds a lock: a session, how, how many times over (reentrant holds), and the fencing token
/// of its grant.
public struct LockHolder: Equatable, Sendable {
    public var session: UInt64
    public var mode: LockMode
    public var holdCount: Int
    public var token: UInt64
    public var grantedAtMillis: UInt64
    /// Set when the holder was asked to let go: it is forced out at this cluster time.
    public var revokeAtMillis: UInt64?
    /// A TTL-limited hold (SET NX PX) is lost at this cluster time unless extended.
    public var expiresAtMillis: UInt64?
}

/// A queued acquire. `request` identifies the client request, so a retry finds it instead of
/// queueing twice.
public struct LockWaiter: Equatable, Sendable {
    public var session: UInt64
    public var mode: LockMode
    public var request: RequestID
    public var enqueuedAtMillis: UInt64
    /// Gives up at this cluster time (nil: waits until cancelled or its session ends).
    public var deadlineMillis: UInt64?
    /// The TTL the hold gets once granted.
    public var ttlMillis: UInt64?
}

/// A client request's identity: the client and its sequence number.
public struct RequestID: Hashable, Sendable {
    public var client: UInt64
    public var sequence: UInt64

    public init(client: UInt64, sequence: UInt64) {
        self.client = client
        self.sequence = sequence
    }
}

/// One lock's whole state, as the console shows it.
public struct LockState: Equatable, Sendable {
    public var name: String
    public var kind: LockKind
    public var holders: [LockHolder] = []
    /// In queue order. Changed only through `appendWaiter`/`removeWaiter…`, which keep
    /// `waitersHash` (their share of the replica digest) in step.
    public internal(set) var waiters = LockQueue()
    var waitersHash = StateHashSum()
    /// No waiter's deadline is earlier than this (nil: none has one) — a bound kept as waiters
    /// are queued, made exact again only when deadlines pass (`removeWaiters(where:)`), so that
    /// noting a lock's next wake-up does not scan its whole queue on every change. Derived.
    var waiterDeadlineBound = DerivedDeadline()
    /// This lock's hash as it was last stored (`LockTable` subtracts it when the lock changes),
    /// and its name's (0: not yet known). Derived, so they take no part in `==`.
    var cachedStateHash = DerivedHash()
    var cachedNameHash = DerivedHash()

    /// Sets `cachedStateHash` to the lock as it is now.
    mutating func refreshStateHash() {
        if cachedNameHash.value == 0 { cachedNameHash.value = StateHasher.hash(name) }
        cachedStateHash.value = stateHash(nameHash: cachedNameHash.value)
    }
    /// The latest token granted on this lock (tokens only grow).
    public var lastToken: UInt64 = 0
    /// Lock-delay (Chubby): after a holder's session dies, no grant before this cluster time.
    public var lockDelayMillis: UInt64
    public var unavailableUntilMillis: UInt64 = 0
    public var acquires = 0
    public var refusals = 0
    public var waits = 0
    /// How long the most recent granted waiters waited, in cluster milliseconds (at most
    /// `recentWaitsMax`, oldest dropped first).
    public var recentWaitsMillis: [UInt64] = []
    public static let recentWaitsMax = 128

    var permitsHeld: Int { holders.reduce(0) { $0 + $1.mode.permitCount } }

    /// The wait at `percentile` (0…100) over the recent granted waits, nil before any.
    public func waitMillis(atPercentile percentile: Double) -> UInt64? {
        guard !recentWaitsMillis.isEmpty else { return nil }
        let sorted = recentWaitsMillis.sorted()
        let rank = Int((percentile / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    mutating func recordWait(_ millis: UInt64) {
        recentWaitsMillis.append(millis)
        if recentWaitsMillis.count > Self.recentWaitsMax { recentWaitsMillis.removeFirst() }
    }
}

/// Something the runtime must tell a client that is not the answer to its own request.
public enum LockEvent: Equatable, Sendable {
    /// A queued acquire was granted (by a release, an expiry or a timeout elsewhere).
    case granted(lock: String, session: UInt64, request: RequestID, token: UInt64)
    /// A holder lost the lock without releasing it.
    case lost(lock: String, session: UInt64, token: UInt64, reason: LossReason)
    /// A holder was asked to let go before `deadlineMillis`.
    case revokeRequested(lock: String, session: UInt64, deadlineMillis: UInt64)
    /// A queued acquire ended without a grant.
    case waitEnded(lock: String, session: UInt64, request: RequestID, reason: LossReason)

    public enum LossReason: String, Equatable, Sendable {
        case sessionExpired = "session expired"
        case sessionClosed = "session closed"
        case ttlExpired = "lock TTL expired"
        case revoked
        case deadlinePassed = "deadline passed"
        case cancelled
    }
}

/// The answer to an acquire.
public enum AcquireOutcome: Equatable, Sendable {
    case granted(token: UInt64, holdCount: Int)
    /// Queued behind `position` others; the grant comes later as a `LockEvent.granted`.
    case queued(position: Int)
    /// A try-lock that could not be granted now.
    case refused(heldBy: [UInt64])
}

extension LockMode {
    var permitCount: Int {
        switch self {
        case .exclusive, .shared: return 1
        case .permits(let count): return count
        }
    }
}

/// How a holder's lease stands at a moment, for views (the console, status reports): how long it
/// has held, and what is left of its lease and the lease's length — the hold's own TTL when it has
/// one, else its session's.
public struct HolderLease: Equatable, Sendable {
    public var heldMillis: UInt64
    public var leftMillis: UInt64?
    public var lengthMillis: UInt64?
}

extension LockHolder {
    public func lease(sessions: SessionTable, nowMillis now: UInt64) -> HolderLease {
        let session = sessions.sessions[self.session]
        let end = expiresAtMillis ?? session?.expiresAtMillis
        let length = expiresAtMillis.map { $0 - min($0, grantedAtMillis) } ?? session?.ttlMillis
        return HolderLease(heldMillis: now - min(now, grantedAtMillis), leftMillis: end.map { $0 - min($0, now) }, lengthMillis: length)
    }
}

/// A lock's earliest waiter deadline, or a bound below it (see `LockState.waiterDeadlineBound`):
/// derived from the waiters, so it takes no part in `==` — a replica restored from a snapshot
/// holds the exact value where one that applied the log may hold an earlier bound, and the only
/// difference is a wake-up that finds nothing due.
struct DerivedDeadline: Equatable, Sendable {
    var millis: UInt64?

    mutating func lower(to deadline: UInt64?) {
        guard let deadline else { return }
        millis = min(millis ?? deadline, deadline)
    }

    static func == (_: Self, _: Self) -> Bool { true }
}
