import ConclaveCore

/// Where a node's delay-task callbacks go: how one try of a call to a target turns out. The node
/// runs the try on its worker pool behind the target's breaker and cuts it off at the task's
/// timeout.
///
/// Two kinds of targets answer this. The simulator's (`SimulatedCallbackTargets`) know the answer
/// in advance: they draw its latency and failure from one seeded stream shared by every node, so a
/// run replays exactly. A daemon's are real (an HTTP endpoint): they answer nil, the node asks its
/// driver to make the call when a worker takes the try (`NodeOutput.callback`), and the driver
/// reports the answer with `NodeCore.callbackAnswered(tag:failure:at:)` — the same pool, breaker,
/// timeout and retry logic either way.
///
/// Shared by reference: every node of a world calls the same targets. Called only from the thread
/// that drives the nodes.
public protocol CallbackTargets: AnyObject {
    /// One call to `target`, starting now: how it turns out, or nil when only making the call tells.
    func call(_ target: String) -> CallbackCall?
}

/// How one call to a callback target goes.
public struct CallbackCall: Sendable, Equatable {
    /// How long the target takes to answer (the try is cut off at its task's timeout).
    public var durationNanos: UInt64
    /// Why the target's answer is a failure; nil: it succeeds.
    public var failure: String?

    public var fails: Bool { failure != nil }

    public init(durationNanos: UInt64, fails: Bool) {
        self.init(durationNanos: durationNanos, failure: fails ? "target failed" : nil)
    }

    public init(durationNanos: UInt64, failure: String?) {
        self.durationNanos = durationNanos
        self.failure = failure
    }
}

/// A callback try for the driver to make (`NodeOutput.callback`): the call itself, with what its
/// target needs to act once (the delivery key) and the time it may take.
public struct CallbackRequest: Sendable, Equatable {
    /// Echo it in `NodeCore.callbackAnswered(tag:failure:at:)`.
    public var tag: UInt64
    public var node: NodeID
    public var task: UInt64
    public var name: String
    /// Which firing of the task (recurring tasks fire more than once).
    public var fire: UInt64
    /// 1 for the first try of this firing.
    public var attempt: Int
    public var target: String
    /// The firing's idempotency key: a retried or repeated delivery carries the same one.
    public var key: String
    public var payload: String
    /// The node counts the try failed (timed out) at this long; the driver may stop waiting then.
    public var timeoutNanos: UInt64

    public init(tag: UInt64, node: NodeID, task: UInt64, name: String, fire: UInt64, attempt: Int, target: String,
                key: String, payload: String, timeoutNanos: UInt64) {
        self.tag = tag
        self.node = node
        self.task = task
        self.name = name
        self.fire = fire
        self.attempt = attempt
        self.target = target
        self.key = key
        self.payload = payload
        self.timeoutNanos = timeoutNanos
    }
}
