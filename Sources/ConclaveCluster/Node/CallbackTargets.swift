/// Where a node's delay-task callbacks go: how one try of a call to a target turns out. The node
/// runs the try on its worker pool behind the target's breaker and cuts it off at the task's
/// timeout; this answers only how long the target takes and whether it fails.
///
/// The simulator's targets (`SimulatedCallbackTargets`) draw both from one seeded stream shared by
/// every node, so a run replays exactly. Shared by reference: every node of a world calls the same
/// targets. Called only from the thread that drives the nodes.
public protocol CallbackTargets: AnyObject {
    /// One call to `target`, starting now.
    func call(_ target: String) -> CallbackCall
}

/// How one call to a callback target goes.
public struct CallbackCall: Sendable, Equatable {
    /// How long the target takes to answer (the try is cut off at its task's timeout).
    public var durationNanos: UInt64
    /// The target answers with a failure.
    public var fails: Bool

    public init(durationNanos: UInt64, fails: Bool) {
        self.durationNanos = durationNanos
        self.fails = fails
    }
}
