import ConclaveCore

/// The leader's view of one follower.
///
/// - `probe`: we don't know where the follower's log matches; send one append at a time and wait.
/// - `replicate`: it matches up to `match`; stream appends optimistically (pipelining), advancing
///   `next` on send, bounded by the in-flight window.
/// - `snapshot`: what it lacks was compacted away; a snapshot goes to it in chunks, a window of
///   them in flight, and appends wait until it is installed.
public struct Progress: Equatable, Sendable {
    public enum State: String, Sendable { case probe, replicate, snapshot }

    public var match: LogIndex = 0
    public var next: LogIndex
    public var state: State = .probe
    /// In probe state: an append is out and unanswered, so send no other until a reply or heartbeat.
    public var probeSent = false
    /// Heard from this follower since the last CheckQuorum round.
    public var recentActive = false
    /// Leader ticks since this follower last answered (for refusing transfers to silent nodes).
    public var ticksSinceHeard = 0
    /// In snapshot state: the snapshot's index, its size, bytes sent and bytes acknowledged.
    public var pendingSnapshotIndex: LogIndex = 0
    public var snapshotBytes = 0
    public var snapshotBytesSent = 0
    public var snapshotBytesAcknowledged = 0
    /// Acknowledged bytes at the last heartbeat answer: no progress since then means chunks
    /// were lost, and sending restarts from the acknowledged offset.
    var snapshotBytesAtHeartbeat = -1
    /// The newest heartbeat round this follower echoed (ReadIndex confirmation), and the leader
    /// tick it was sent at (the lease; nil when too old to matter).
    var roundAcknowledged: UInt64 = 0
    var roundAcknowledgedSentTick: Int?
    var inFlight: InFlightWindow

    init(next: LogIndex, inFlightMessagesMax: Int, inFlightBytesMax: Int) {
        self.next = next
        self.inFlight = InFlightWindow(messagesMax: inFlightMessagesMax, bytesMax: inFlightBytesMax)
    }

    /// Number of append messages sent and not yet acknowledged.
    public var inFlightCount: Int { inFlight.count }

    /// True when nothing more may be sent now.
    var isPaused: Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inFlight.isFull
        case .snapshot: return true
        }
    }

    mutating func becomeSnapshot(index: LogIndex, bytes: Int) {
        state = .snapshot
        pendingSnapshotIndex = index
        snapshotBytes = bytes
        snapshotBytesSent = 0
        snapshotBytesAcknowledged = 0
        snapshotBytesAtHeartbeat = -1
        inFlight.reset()
    }

    mutating func becomeProbe() {
        next = state == .snapshot ? max(match, pendingSnapshotIndex) + 1 : match + 1
        state = .probe
        probeSent = false
        pendingSnapshotIndex = 0
        inFlight.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        inFlight.reset()
    }

    /// Records that an append ending at `lastIndex` with `bytes` of entries went out.
    mutating func sent(lastIndex: LogIndex, bytes: Int) {
        switch state {
        case .replicate:
            next = lastIndex + 1
            inFlight.add(lastIndex: lastIndex, bytes: bytes)
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }

    /// The follower matches up to `index`. Returns false if that is old news.
    mutating func acknowledged(_ index: LogIndex) -> Bool {
        guard index > match else {
            return false
        }
        match = index
        next = max(next, index + 1)
        probeSent = false
        inFlight.free(through: index)
        return true
    }

    /// The follower rejected an append at `rejected`; its hint says where it may match.
    /// Returns false if the rejection is stale (answers an older append).
    mutating func rejected(_ rejected: LogIndex, hint: LogIndex) -> Bool {
        if state == .snapshot { return false }
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        next = max(min(rejected, hint + 1), match + 1)
        probeSent = false
        return true
    }
}

/// A bounded ring of in-flight appends (last index and size of each), freed in order as the
/// follower acknowledges. Caps both the message count and the bytes in flight (flow control).
struct InFlightWindow: Equatable, Sendable {
    let messagesMax: Int
    let bytesMax: Int
    private var lastIndexes: [LogIndex]
    private var sizes: [Int]
    private var start = 0
    private(set) var count = 0
    private(set) var bytes = 0

    init(messagesMax: Int, bytesMax: Int) {
        self.messagesMax = messagesMax
        self.bytesMax = bytesMax
        lastIndexes = []
        sizes = []
    }

    var isFull: Bool { count >= messagesMax || (bytesMax > 0 && bytes >= bytesMax) }

    mutating func add(lastIndex: LogIndex, bytes size: Int) {
        precondition(count < messagesMax, "in-flight window overflow")
        if lastIndexes.isEmpty {
            lastIndexes = Array(repeating: 0, count: messagesMax)
            sizes = Array(repeating: 0, count: messagesMax)
        }
        let slot = (start + count) % messagesMax
        lastIndexes[slot] = lastIndex
        sizes[slot] = size
        count += 1
        bytes += size
    }

    mutating func free(through index: LogIndex) {
        while count > 0 && lastIndexes[start] <= index {
            bytes -= sizes[start]
            start = (start + 1) % messagesMax
            count -= 1
        }
    }

    /// Frees the oldest slot (its append is presumed lost).
    mutating func freeFirst() {
        guard count > 0 else { return }
        bytes -= sizes[start]
        start = (start + 1) % messagesMax
        count -= 1
    }

    mutating func reset() {
        start = 0
        count = 0
        bytes = 0
    }
}
