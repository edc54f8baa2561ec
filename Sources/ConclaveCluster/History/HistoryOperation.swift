/// One operation a client asked for and what it heard back: a line of a history file
/// (`../shared/HISTORY.md`).
///
/// Which fields matter depends on `kind`; the others stay `nil` and are neither written nor read:
/// - `put`: `value`. `get`: `output`. `cas`: `expected`, `value`, `ok` (swapped or not). `delete`: none.
/// - `acquire`: `ok` (granted or refused) and `token` when granted. `release`: `ok` (the caller held it).
/// - `expire`: `holder`; an expire never has an answer, so `returnTime` is always `nil`.
///
/// `returnTime == nil` means the outcome is unknown: the operation may have taken effect at any time
/// after `call`, or never, and `ok` says nothing.
public struct HistoryOperation: Equatable, Sendable {
    /// What the client asked for. The first four are KV operations on a register, the last three
    /// operations on a lock; a key is one or the other.
    public enum Kind: String, Sendable, CaseIterable {
        case put, get, cas, delete, acquire, release, expire

        /// Whether this kind acts on a lock rather than a KV register.
        public var isLockOperation: Bool {
            switch self {
            case .put, .get, .cas, .delete: false
            case .acquire, .release, .expire: true
            }
        }
    }

    /// The client; a client never has two operations in flight.
    public var client: Int
    public var kind: Kind
    /// The KV key or the lock name.
    public var key: String
    /// The value written by `put` and `cas`.
    public var value: String?
    /// `cas` only: the value that must be current; `nil` means the key must be absent.
    public var expected: String?
    /// `get` only: the value read; `nil` means the key was absent.
    public var output: String?
    /// `cas`: swapped; `acquire`: granted; `release`: the caller held it; others: answered.
    public var ok: Bool
    /// `acquire` with `ok: true`: the fencing token granted.
    public var token: UInt64?
    /// `expire` only: the client whose lock lease expiry may free.
    public var holder: Int?
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
        case .acquire: return outcome + (token.map { " token \($0)" } ?? "")
        case .release: return outcome
        case .expire: return " holder \(holder.map(String.init) ?? "none")"
        }
    }

    private func quoted(_ text: String?) -> String {
        text.map { "\"\($0)\"" } ?? "absent"
    }
}
