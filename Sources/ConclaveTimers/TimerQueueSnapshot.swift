/// What a timer queue holds, in a bounded value the console can draw: a heap as the top levels of
/// its tree, a wheel as rings of slots with a cursor and per-slot counts.
///
/// Its size is bounded by the `entriesMax` given to `snapshot(entriesMax:)` (clamped to
/// `1...TimerQueueLimits.snapshotEntriesMax`), never by how many timers are pending.
public struct TimerQueueSnapshot: Equatable, Sendable {
    /// "4-ary heap", "hashed wheel", "hierarchical wheel", …
    public var kind: String
    /// Pending timers.
    public var count: Int
    /// The queue's clock: the latest `advance(toMillis:)`.
    public var nowMillis: UInt64
    /// The earliest pending deadline.
    public var nextDeadlineMillis: UInt64?
    /// Timers scheduled at or before `nowMillis`, waiting for the next advance (wheels only; 0 for a heap).
    public var dueCount: Int
    public var layout: Layout

    public enum Layout: Equatable, Sendable {
        /// A heap's deadlines level by level from the root; the last level may be cut short.
        case tree(arity: Int, levels: [[UInt64]])
        /// A wheel's rings, finest first (a hashed wheel has one).
        case rings([Ring])
    }

    /// One ring of a wheel.
    public struct Ring: Equatable, Sendable {
        /// Time one slot covers.
        public var slotMillis: UInt64
        public var slotCount: Int
        /// The slot the wheel's clock is in.
        public var cursor: Int
        /// Timers in the ring.
        public var count: Int
        /// Timers per slot for `min(slotCount, entriesMax)` slots, starting at `cursor` and going
        /// forward in time (index 0 is the cursor's slot).
        public var slotCounts: [Int]

        public init(slotMillis: UInt64, slotCount: Int, cursor: Int, count: Int, slotCounts: [Int]) {
            self.slotMillis = slotMillis
            self.slotCount = slotCount
            self.cursor = cursor
            self.count = count
            self.slotCounts = slotCounts
        }
    }

    public init(kind: String, count: Int, nowMillis: UInt64, nextDeadlineMillis: UInt64?, dueCount: Int, layout: Layout) {
        self.kind = kind
        self.count = count
        self.nowMillis = nowMillis
        self.nextDeadlineMillis = nextDeadlineMillis
        self.dueCount = dueCount
        self.layout = layout
    }

    /// `entriesMax` clamped to what a snapshot may hold.
    static func clamp(_ entriesMax: Int) -> Int {
        min(max(entriesMax, 1), TimerQueueLimits.snapshotEntriesMax)
    }
}
