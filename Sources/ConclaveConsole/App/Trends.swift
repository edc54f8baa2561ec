/// What the sparklines draw: rates the console samples from the snapshots it is given, one point
/// per second of the cluster's time, for any source (embedded or remote) — the views never ask
/// where the numbers came from. Bounded to `pointsMax` points each.
public struct Trends: Equatable, Sendable {
    public static let pointsMax = 120
    public static let intervalNanos: UInt64 = 1_000_000_000

    /// Entries committed per second (the highest commit index any node reports).
    public private(set) var commitsPerSecond: [Double] = []
    /// Peer messages per second, all links together.
    public private(set) var messagesPerSecond: [Double] = []
    /// The longest median lock wait (ms) among the locks, per sample.
    public private(set) var lockWaitMillis: [Double] = []
    private var mark: Mark?

    private struct Mark: Equatable, Sendable {
        var nanos: UInt64
        var commit: UInt64
    }

    public init() {}

    /// Takes a snapshot in; adds a point once a second of its time has passed since the last. A
    /// clock that went back (another source, a restart) starts the trends over.
    public mutating func absorb(_ snapshot: ClusterSnapshot) {
        let commit = snapshot.nodes.map(\.commit).max() ?? 0
        guard let mark, snapshot.nowNanos >= mark.nanos, commit >= mark.commit else {
            if let mark, snapshot.nowNanos < mark.nanos { self = Trends() }
            mark = Mark(nanos: snapshot.nowNanos, commit: commit)
            return
        }
        let elapsed = snapshot.nowNanos - mark.nanos
        guard elapsed >= Self.intervalNanos else { return }
        Self.append(Double(commit - mark.commit) / (Double(elapsed) / 1e9), to: &commitsPerSecond)
        Self.append(snapshot.messagesPerSecond, to: &messagesPerSecond)
        Self.append(Double(snapshot.locks.lazy.compactMap(\.waitP50Millis).max() ?? 0), to: &lockWaitMillis)
        self.mark = Mark(nanos: snapshot.nowNanos, commit: commit)
    }

    private static func append(_ value: Double, to points: inout [Double]) {
        points.append(value)
        if points.count > pointsMax { points.removeFirst(points.count - pointsMax) }
    }
}
