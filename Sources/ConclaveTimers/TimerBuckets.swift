/// What both wheels share: the clock in ticks, and timer nodes in one array, linked by index into
/// buckets (intrusive doubly linked lists), so inserting into and unlinking from any bucket is O(1)
/// and allocation-free once the arrays have grown.
///
/// Bucket 0 is the due list (timers scheduled at or before the clock, fired by the next advance);
/// the wheel decides what buckets 1… mean. A node is 40 bytes (deadline, sequence, timer ID, two
/// links and its bucket); free nodes have sequence 0 and are chained through `next`, reused last
/// freed first so a busy wheel keeps touching the same memory.
///
/// The hot operations write each node once through a buffer pointer: element-wise writes to an
/// array in a struct pay a uniqueness check each, which cost a third of a schedule+cancel pair.
struct TimerBuckets: Sendable {
    struct Node {
        var deadlineMillis: UInt64
        var sequence: UInt64
        var timerID: UInt64
        var previous: UInt32
        var next: UInt32
        var bucket: UInt32
    }

    /// A bucket's first node and how many it holds (one array, so one uniqueness check for both).
    struct Bucket {
        var head: UInt32
        var count: UInt32
    }

    static let none = UInt32.max
    static let dueBucket = 0

    private(set) var nodes: [Node] = []
    private var buckets: [Bucket]
    private var freeNode = TimerBuckets.none
    private var nextSequence: UInt64 = 1
    private(set) var count = 0
    let capacity: Int
    let tickLength: TickLength
    /// Ticks wholly passed: every timer due at or before this tick has fired. The wheel moves it.
    var currentTick: UInt64
    /// The clock: the latest instant advanced to.
    private(set) var nowMillis: UInt64

    /// - Throws: `.invalidParameter` for a zero tick or a capacity out of range.
    init(tickMillis: UInt64, bucketCount: Int, capacity: Int, startMillis: UInt64) throws(TimerQueueError) {
        try TimerQueueLimits.validateTick(tickMillis)
        try TimerQueueLimits.validateCapacity(capacity)
        buckets = Array(repeating: Bucket(head: Self.none, count: 0), count: bucketCount)
        self.capacity = capacity
        tickLength = TickLength(millis: tickMillis)
        currentTick = tickLength.lastTick(atMillis: startMillis)
        nowMillis = startMillis
    }

    var bucketCount: Int { buckets.count }

    var memoryFootprintBytes: Int {
        nodes.capacity * MemoryLayout<Node>.stride + buckets.capacity * MemoryLayout<Bucket>.stride
    }

    mutating func addBuckets(_ added: Int) {
        buckets.append(contentsOf: repeatElement(Bucket(head: Self.none, count: 0), count: added))
    }

    /// Throws `.full` when one more timer would exceed the capacity; call before changing anything.
    @inline(__always)
    func requireRoom() throws(TimerQueueError) {
        guard count < capacity else { throw .full(capacity: capacity) }
    }

    /// Whether a deadline belongs on the due list: at or before the clock.
    @inline(__always)
    func isDue(_ deadlineMillis: UInt64) -> Bool { deadlineMillis <= nowMillis }

    /// A new node for the timer, at the head of `bucket`, with the next sequence number. The caller
    /// has checked `requireRoom()`.
    @inline(__always)
    mutating func insert(timerID: UInt64, deadlineMillis: UInt64, into bucket: Int) -> TimerHandle {
        let head = buckets[bucket].head
        let node = Node(
            deadlineMillis: deadlineMillis, sequence: nextSequence, timerID: timerID,
            previous: Self.none, next: head, bucket: UInt32(bucket)
        )
        nextSequence += 1
        count += 1
        let index: UInt32
        if freeNode != Self.none {
            index = freeNode
            freeNode = nodes.withUnsafeMutableBufferPointer { nodes in
                let nextFree = nodes[Int(index)].next
                nodes[Int(index)] = node
                if head != Self.none { nodes[Int(head)].previous = index }
                return nextFree
            }
        } else {
            index = UInt32(nodes.count)
            nodes.append(node)
            if head != Self.none { nodes[Int(head)].previous = index }
        }
        buckets[bucket] = Bucket(head: index, count: buckets[bucket].count + 1)
        return TimerHandle(index: index, sequence: node.sequence)
    }

    /// Puts a node detached by `detach` at the head of `bucket` (a cascade).
    @inline(__always)
    mutating func relink(_ index: UInt32, into bucket: Int) {
        let head = buckets[bucket].head
        nodes.withUnsafeMutableBufferPointer { nodes in
            nodes[Int(index)].previous = Self.none
            nodes[Int(index)].next = head
            nodes[Int(index)].bucket = UInt32(bucket)
            if head != Self.none { nodes[Int(head)].previous = index }
        }
        buckets[bucket] = Bucket(head: index, count: buckets[bucket].count + 1)
    }

    /// Whether the handle names a node that is allocated (pending) now.
    @inline(__always)
    func isLive(_ handle: TimerHandle) -> Bool {
        Int(handle.index) < nodes.count && handle.sequence != 0 && nodes[Int(handle.index)].sequence == handle.sequence
    }

    /// Unlinks and frees a pending timer; returns the bucket it left, or nil for a dead handle.
    @inline(__always)
    mutating func cancel(_ handle: TimerHandle) -> Int? {
        guard isLive(handle) else { return nil }
        let bucket = unlink(handle.index)
        _ = free(handle.index)
        return bucket
    }

    /// Takes a linked node out of its bucket; returns the bucket.
    @inline(__always)
    @discardableResult
    mutating func unlink(_ index: UInt32) -> Int {
        let (bucket, newHead) = nodes.withUnsafeMutableBufferPointer { nodes -> (Int, UInt32?) in
            let node = nodes[Int(index)]
            if node.next != Self.none { nodes[Int(node.next)].previous = node.previous }
            guard node.previous != Self.none else { return (Int(node.bucket), node.next) }
            nodes[Int(node.previous)].next = node.next
            return (Int(node.bucket), nil)
        }
        buckets[bucket] = Bucket(head: newHead ?? buckets[bucket].head, count: buckets[bucket].count - 1)
        return bucket
    }

    /// Returns an unlinked node to the free list; its handle is dead from now on.
    @inline(__always)
    mutating func free(_ index: UInt32) -> FiredTimer {
        let freed = nodes.withUnsafeMutableBufferPointer { nodes in
            let node = nodes[Int(index)]
            nodes[Int(index)] = Node(
                deadlineMillis: 0, sequence: 0, timerID: 0, previous: Self.none, next: freeNode, bucket: Self.none
            )
            return node
        }
        freeNode = index
        count -= 1
        return FiredTimer(
            timerID: freed.timerID, deadlineMillis: freed.deadlineMillis,
            handle: TimerHandle(index: index, sequence: freed.sequence)
        )
    }

    /// Empties `bucket` at once and returns its first node; the nodes keep their `next` links, so
    /// the caller walks the detached chain and relinks or frees each node.
    mutating func detach(_ bucket: Int) -> UInt32 {
        let head = buckets[bucket].head
        buckets[bucket] = Bucket(head: Self.none, count: 0)
        return head
    }

    /// The start of every advance: moves the clock (never backwards), fires the due list into
    /// `fired`, and returns the last tick now wholly passed, which the wheel advances to.
    mutating func beginAdvance(toMillis nowMillis: UInt64, into fired: inout [FiredTimer]) -> UInt64 {
        self.nowMillis = max(self.nowMillis, nowMillis)
        var index = detach(Self.dueBucket)
        while index != Self.none {
            let next = nodes[Int(index)].next
            fired.append(free(index))
            index = next
        }
        return tickLength.lastTick(atMillis: self.nowMillis)
    }

    func head(of bucket: Int) -> UInt32 { buckets[bucket].head }

    func count(of bucket: Int) -> Int { Int(buckets[bucket].count) }

    func isEmpty(_ bucket: Int) -> Bool { buckets[bucket].head == Self.none }

    /// The earliest deadline in `bucket` satisfying `include`, walking the whole bucket.
    func earliestDeadline(in bucket: Int, where include: (Node) -> Bool = { _ in true }) -> UInt64? {
        var earliest: UInt64?
        var index = buckets[bucket].head
        while index != Self.none {
            let node = nodes[Int(index)]
            if include(node) { earliest = Swift.min(earliest ?? .max, node.deadlineMillis) }
            index = node.next
        }
        return earliest
    }
}

/// Milliseconds to wheel ticks. A 64-bit division costs tens of cycles on every schedule and every
/// cascade; a power-of-two tick (1 ms included) takes a shift instead.
struct TickLength: Sendable {
    let millis: UInt64
    /// log₂ `millis` when it is a power of two, else nil.
    private let shift: UInt64?

    init(millis: UInt64) {
        self.millis = millis
        shift = millis.nonzeroBitCount == 1 ? UInt64(millis.trailingZeroBitCount) : nil
    }

    /// ⌈deadline / tick⌉ without overflow: the tick whose end the deadline falls at or before.
    @inline(__always)
    func tick(ofDeadline deadlineMillis: UInt64) -> UInt64 {
        if let shift {
            let quotient = deadlineMillis >> shift
            return deadlineMillis & (millis - 1) == 0 ? quotient : quotient + 1
        }
        let (quotient, remainder) = deadlineMillis.quotientAndRemainder(dividingBy: millis)
        return remainder == 0 ? quotient : quotient + 1
    }

    /// The last tick wholly passed at `nowMillis`. The end of time, `UInt64.max`, counts as past every
    /// tick: otherwise a deadline in the clock's last, partial tick (`UInt64.max` itself when the tick
    /// does not divide it) could never fire.
    @inline(__always)
    func lastTick(atMillis nowMillis: UInt64) -> UInt64 {
        if nowMillis == .max { return .max }
        if let shift { return nowMillis >> shift }
        return nowMillis / millis
    }
}
