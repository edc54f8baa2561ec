import Foundation

/// One client API for coordination over any backend (#16): Conclave's own nodes over RESP, etcd v3
/// through its JSON gateway, and Redis (one instance, or Redlock over several). Each service is a
/// protocol; each backend says what it cannot do with a `ClientError.unsupported` naming why.
///
/// Calls that the server answers at once run on the caller's task, each bounded by the backend's
/// call timeout; calls that wait on the server (a blocking acquire, a watch) run on a thread and
/// connection of their own, so a long wait never holds a thread of Swift's cooperative pool.

/// What went wrong, naming the endpoint and what failed.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No endpoint answered: each one's reason.
    case unreachable(String)
    /// The caller does not hold the lock (its grant expired, was released, or another holds it).
    case notOwner(lock: String, detail: String)
    /// The server refused the request; its words.
    case refused(endpoint: String, message: String)
    /// The backend cannot do this; why, and what to use instead.
    case unsupported(backend: String, what: String, why: String)
    /// An answer the client cannot read.
    case badReply(endpoint: String, detail: String)
    /// The argument was out of range: what is accepted.
    case badArgument(String)
    /// A watch's start revision is older than the history the server keeps.
    case compacted(revision: UInt64, oldest: UInt64)

    public var description: String {
        switch self {
        case .unreachable(let why): "unreachable: \(why)"
        case .notOwner(let lock, let detail): "not the owner of lock '\(lock)': \(detail)"
        case .refused(let endpoint, let message): "\(endpoint) refused: \(message)"
        case .unsupported(let backend, let what, let why): "\(backend) cannot \(what): \(why)"
        case .badReply(let endpoint, let detail): "\(endpoint): unreadable answer: \(detail)"
        case .badArgument(let what): "bad argument: \(what)"
        case .compacted(let revision, let oldest): "revision \(revision) is compacted; the oldest kept is \(oldest)"
        }
    }
}

/// A held lock. `owner` is what proves ownership to the backend (a Redis token, an etcd key,
/// a Conclave session); `fencingToken` grows with every grant of the name where the backend has
/// one (Conclave's token, etcd's create revision) and is nil where it has none (Redis).
public struct LockGrant: Sendable, Hashable {
    public let name: String
    public let owner: String
    public let fencingToken: UInt64?
    public let ttl: Duration
    /// The latest instant the client may assume it still holds the lock: ttl from when the
    /// request was sent, less the backend's stated clock drift. Past it, act as if it is lost.
    public let validUntil: ContinuousClock.Instant

    public init(name: String, owner: String, fencingToken: UInt64?, ttl: Duration, validUntil: ContinuousClock.Instant) {
        self.name = name
        self.owner = owner
        self.fencingToken = fencingToken
        self.ttl = ttl
        self.validUntil = validUntil
    }
}

/// What a backend's locks promise, and the limits a user must know, in words.
public struct LockerTraits: Sendable, Equatable {
    public var backend: String
    /// Grants carry a fencing token that a resource can check.
    public var fencing: Bool
    /// Blocked acquirers are granted in the order they asked.
    public var fair: Bool
    public var limits: [String]

    public init(backend: String, fencing: Bool, fair: Bool, limits: [String]) {
        self.backend = backend
        self.fencing = fencing
        self.fair = fair
        self.limits = limits
    }
}

/// Mutual exclusion with leases. A lock not renewed within its ttl expires and may be granted to
/// another; `renew` extends it by its ttl again.
public protocol Locker: Sendable {
    var traits: LockerTraits { get }
    /// Takes the lock if it is free now; nil if another holds it.
    func tryLock(_ name: String, ttl: Duration) async throws -> LockGrant?
    /// Waits up to `timeout` for the lock; nil when the timeout passed first.
    func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant?
    /// Releases the lock if `grant` still holds it; `ClientError.notOwner` if not.
    func unlock(_ grant: LockGrant) async throws
    /// Extends the lock by its ttl if `grant` still holds it; `ClientError.notOwner` if not.
    func renew(_ grant: LockGrant) async throws -> LockGrant
    /// `renew` on the calling thread, for a keeper on a thread of its own: lease renewals must not
    /// wait for a turn on an executor that blocking or CPU-bound work may hold (etcd's Go client
    /// keeps leases alive from a goroutine of their own for the same reason).
    func renewBlocking(_ grant: LockGrant) throws -> LockGrant
}

extension Locker {
    /// Runs `body` holding the lock, renewed every ttl/3 by a `LeaseKeeper` thread while it runs,
    /// and releases it after (also when `body` throws). Throws `ClientError.refused` if the lock
    /// was not had within `timeout`. The renewals stop if one fails; for an unfenced side effect,
    /// keep a `LeaseKeeper` of your own and check its `lost` and grant's `validUntil` first.
    public func withLock<T: Sendable>(
        _ name: String, ttl: Duration, timeout: Duration, _ body: @Sendable (LockGrant) async throws -> T
    ) async throws -> T {
        guard let grant = try await lock(name, ttl: ttl, timeout: timeout) else {
            throw ClientError.refused(endpoint: traits.backend, message: "lock '\(name)' not had within \(timeout)")
        }
        let keeper = LeaseKeeper(self, grant)
        do {
            let result = try await body(grant)
            try? await unlock(keeper.stop())
            return result
        } catch {
            try? await unlock(keeper.stop())
            throw error
        }
    }
}

/// Keeps a grant alive from a thread of its own: renews it every ttl/3 until stopped or a renewal
/// fails (then `lost` says why). Independent of Swift's cooperative pool, so a pool held by other
/// work cannot let the lease lapse.
public final class LeaseKeeper: @unchecked Sendable {
    private let lock = NSLock()
    private let wake = NSCondition()
    private var current: LockGrant
    private var stopped = false
    private var failure: (any Error)?

    public init(_ locker: any Locker, _ grant: LockGrant) {
        current = grant
        let thread = Thread { [self] in
            wake.lock()
            defer { wake.unlock() }
            while !stopped {
                _ = wake.wait(until: Date().addingTimeInterval(Double(grant.ttl.millisecondsRoundedUp) / 3_000))
                guard !stopped else { return }
                do {
                    let renewed = try locker.renewBlocking(lock.withLock { current })
                    lock.withLock { current = renewed }
                } catch {
                    lock.withLock { failure = error }
                    return
                }
            }
        }
        thread.name = "conclave-lease-keeper"
        thread.start()
    }

    /// The newest grant (its `validUntil` moves with each renewal).
    public var grant: LockGrant { lock.withLock { current } }

    /// Why renewing stopped, if a renewal failed: the lock may be lost.
    public var lost: (any Error)? { lock.withLock { failure } }

    /// Stops renewing; the newest grant.
    @discardableResult
    public func stop() -> LockGrant {
        wake.lock()
        stopped = true
        wake.signal()
        wake.unlock()
        return grant
    }
}

/// Unique IDs that increase within one source.
public protocol IDSource: Sendable {
    /// `count` (1…1,000) new IDs, increasing.
    func next(_ count: Int) async throws -> [UInt64]
}

/// A rate limit decision in redis-cell's shape (GCRA).
public struct ThrottleDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int
    public var remaining: Int
    /// When to retry if not allowed.
    public var retryAfter: Duration?
    public var resetAfter: Duration

    public init(allowed: Bool, limit: Int, remaining: Int, retryAfter: Duration?, resetAfter: Duration) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.retryAfter = retryAfter
        self.resetAfter = resetAfter
    }
}

/// A cluster-wide rate limit: `burst` at once, `count` per `period`, metered on the server's time.
public protocol Throttle: Sendable {
    func take(_ key: String, burst: Int, count: Int, period: Duration, quantity: Int) async throws -> ThrottleDecision
}

/// A message popped from a delay queue, hidden from other consumers until acknowledged or its
/// visibility ends.
public struct DelayedMessage: Sendable, Equatable {
    public var id: String
    public var payload: String
    public init(id: String, payload: String) {
        self.id = id
        self.payload = payload
    }
}

/// Messages delivered to a queue after a delay, at least once.
public protocol DelayQueue: Sendable {
    /// Schedules `payload` into `queue` after `delay`; answers the task's ID.
    func schedule(_ queue: String, payload: String, after delay: Duration) async throws -> String
    /// Up to `count` due messages, hidden for `visibility`.
    func pop(_ queue: String, count: Int, visibility: Duration) async throws -> [DelayedMessage]
    /// Acknowledges a popped message: it is done and not delivered again.
    func ack(_ queue: String, _ message: DelayedMessage) async throws
}

/// One change to a key, or its deletion (`value == nil`), at a revision.
public struct ConfigEvent: Sendable, Equatable {
    public var key: String
    public var value: String?
    public var revision: UInt64
    public init(key: String, value: String?, revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }
}

/// Keys with revisions, and watches that resume from a revision.
public protocol ConfigStore: Sendable {
    func get(_ key: String) async throws -> (value: String, revision: UInt64)?
    /// Sets the key; answers the new revision.
    func set(_ key: String, _ value: String) async throws -> UInt64
    /// Deletes the key; answers the new revision.
    func delete(_ key: String) async throws -> UInt64
    /// Every change under `prefix` after `revision` (0: from now), in revision order, until the
    /// stream is dropped. Resuming from the last revision seen misses nothing and repeats nothing.
    func watch(_ prefix: String, after revision: UInt64) -> AsyncThrowingStream<ConfigEvent, Error>
}
