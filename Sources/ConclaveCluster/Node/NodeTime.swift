/// What a node's clocks read when an input reaches it: the only way time enters a `NodeCore`
/// (it reads no clock of its own).
///
/// In a daemon all three come from the host: `clockNanos` and `timerNanos` from the same monotonic
/// clock, `wallMillis` from the wall clock (`init(monotonicNanos:wallMillis:)`). The simulator
/// gives each node a clock with its own offset and rate (`clockNanos`, `wallMillis`) but keeps the
/// node's worker pool, breakers and request table on true time (`timerNanos`), because its
/// callback targets answer in true time.
public struct NodeTime: Sendable, Equatable {
    /// The node's monotonic clock: what it stamps on messages for the quorum clock, and what it
    /// measures cluster time by since its last clock entry (throttle stamps). Never goes back.
    public var clockNanos: UInt64
    /// The node's wall clock, in milliseconds since the epoch: cron expressions are read on it.
    public var wallMillis: UInt64
    /// The time the node's timers run on: callback tries (worker pool, breakers, retry backoff)
    /// and the age of reads waiting for confirmation. `NodeOutput` deadlines are in this time.
    /// Never goes back.
    public var timerNanos: UInt64

    public init(clockNanos: UInt64, wallMillis: UInt64, timerNanos: UInt64) {
        self.clockNanos = clockNanos
        self.wallMillis = wallMillis
        self.timerNanos = timerNanos
    }

    /// A host's reading: one monotonic clock for the node's clock and its timers.
    public init(monotonicNanos: UInt64, wallMillis: UInt64) {
        self.init(clockNanos: monotonicNanos, wallMillis: wallMillis, timerNanos: monotonicNanos)
    }
}
