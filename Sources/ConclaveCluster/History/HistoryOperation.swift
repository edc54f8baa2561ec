/// One operation a client asked for and what it heard back: a line of a history file
/// (`../shared/HISTORY.md`).
///
/// Which fields matter depends on `kind`; the others stay `nil` and are neither written nor read:
/// - `put`: `value`. `get`: `output`. `cas`: `expected`, `value`, `ok` (swapped or not). `delete`: none.
/// - `acquire`: `ok` (granted or refused) and `token` when granted. `release`: `ok` (the caller held it).
/// - `expire`: `holder`; an expire never has an answer, so `returnTime` is always `nil`.
///
/// Beyond HISTORY.md (README, "History operations beyond ../shared/HISTORY.md"): `acquire` may say
/// `mode`, `permits`, `capacity`, `waitMillis` (a blocking acquire), `delayMillis` (lock-delay) and
/// `holds` (the hold count the grant answered); `revoke` (`graceMillis`) and `cancel` act on a lock;
/// `fencedPut` writes `value` to a KV key if `token`, granted on `lock`, is not stale.
///
/// `returnTime == nil` means the outcome is unknown: the operation may have taken effect at any time
/// after `call`, or never, and `ok` says nothing.
public struct HistoryOperation: Equatable, Sendable {
    /// What the client asked for: KV operations on a register (`put` … `delete`, `fencedPut`) or
    /// operations on a lock (`acquire` … `cancel`); a key is one or the other.
    public enum Kind: String, Sendable, CaseIterable {
        case put, get, cas, delete, acquire, release, expire
        case revoke, cancel
        case fencedPut = "fenced-put"

        /// Whether this kind acts on a lock rather than a KV register.
        public var isLockOperation: Bool {
            switch self {
            case .put, .get, .cas, .delete, .fencedPut: false
            case .acquire, .release, .expire, .revoke, .cancel: true
            }
        }
    }

    /// How an `acquire` takes its lock; `nil` in `mode` is HISTORY.md's exclusive lock.
    public enum Mode: String, Sendable, CaseIterable {
        /// The only holder (a mutex, or the writer of a read/write lock).
        case exclusive
        /// One of any number of readers of a read/write lock.
        case shared
        /// `permits` of a semaphore's `capacity`.
        case permits
    }

    /// The client; a client never has two operations in flight.
    public var client: Int
    public var kind: Kind
    /// The KV key or the lock name.
    public var key: String
    /// The value written by `put`, `cas` and `fencedPut`.
    public var value: String?
    /// `cas` only: the value that must be current; `nil` means the key must be absent.
    public var expected: String?
    /// `get` only: the value read; `nil` means the key was absent.
    public var output: String?
    /// `cas`: swapped; `acquire`: granted; `release`: the caller held it; others: answered.
    public var ok: Bool
    /// `acquire` with `ok: true`: the fencing token granted; `fencedPut`: the token the write carries.
    public var token: UInt64?
    /// `expire` only: the client whose lock lease expiry may free.
    public var holder: Int?
    /// `acquire`: the mode (`nil`: exclusive, not written), the permits taken and the semaphore's
    /// capacity (`.permits` only), the wait of a blocking acquire (`nil`: a try-lock), the lock-delay
    /// asked for, and the hold count the grant answered (`nil`: not recorded).
    public var mode: Mode?
    public var permits: Int?
    public var capacity: Int?
    public var waitMillis: UInt64?
    public var delayMillis: UInt64?
    public var holds: Int?
    /// `fencedPut` only: the lock whose `token` guards the write.
    public var lock: String?
    /// `revoke` only: the grace its holders were given.
    public var graceMillis: UInt64?
    /// When the client sent the request, in nanoseconds on one monotonic clock.
    public var call: UInt64
    /// When the client got the answer, in nanoseconds; `nil` when the outcome is unknown.
    public var returnTime: UInt64?

    public init(
        client: Int,
        kind: Kind,
        key: String,
        value: String? = nil,
        expected: String? = nil,
        output: String? = nil,
        ok: Bool = true,
        token: UInt64? = nil,
        holder: Int? = nil,
        mode: Mode? = nil,
        permits: Int? = nil,
        capacity: Int? = nil,
        waitMillis: UInt64? = nil,
        delayMillis: UInt64? = nil,
        holds: Int? = nil,
        lock: String? = nil,
        graceMillis: UInt64? = nil,
        call: UInt64,
        returnTime: UInt64? = nil
    ) {
        self.client = client
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
        self.output = output
        self.ok = ok
        self.token = token
        self.holder = holder
        self.mode = mode
        self.permits = permits
        self.capacity = capacity
        self.waitMillis = waitMillis
        self.delayMillis = delayMillis
        self.holds = holds
        self.lock = lock
        self.graceMillis = graceMillis
        self.call = call
        self.returnTime = returnTime
    }
}

extension HistoryOperation: CustomStringConvertible {
    /// A short human form for reports, e.g. `client 4 get "k1" -> "v7" [1201000, 1204000]`.
    public var description: String {
        "client \(client) \(kind.rawValue) \(quoted(key))\(effectDescription) [\(call), \(returnTime.map(String.init) ?? "unknown")]"
    }

    private var effectDescription: String {
        let outcome = returnTime == nil ? "" : (ok ? " ok" : " refused")
        switch kind {
        case .put: return " = \(quoted(value))"
        case .get: return returnTime == nil ? "" : " -> \(quoted(output))"
        case .cas: return " \(quoted(expected)) => \(quoted(value))\(outcome)"
        case .delete: return ""
        case .acquire: return acquireDescription + outcome + (token.map { " token \($0)" } ?? "") + (holds.map { " holds \($0)" } ?? "")
        case .release, .cancel: return outcome
        case .expire: return " holder \(holder.map(String.init) ?? "none")"
        case .revoke: return (graceMillis.map { " grace \($0) ms" } ?? "") + outcome
        case .fencedPut: return " = \(quoted(value)) with \(quoted(lock)) token \(token.map(String.init) ?? "none")\(outcome)"
        }
    }

    /// ` shared`, ` 2 of 3 permits`, ` waiting 200 ms`: what sets the acquire apart from a try-lock.
    private var acquireDescription: String {
        var text = ""
        switch mode {
        case .shared?: text += " shared"
        case .permits?: text += " \(permits.map(String.init) ?? "?") of \(capacity.map(String.init) ?? "?") permits"
        case .exclusive?, nil: break
        }
        if let waitMillis { text += " waiting \(waitMillis) ms" }
        return text
    }

    private func quoted(_ text: String?) -> String {
        text.map { "\"\($0)\"" } ?? "absent"
    }
}
