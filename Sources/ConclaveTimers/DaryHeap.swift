/// A d-ary min-heap of timers: 4-ary by default, as the Go runtime's timer heap, because a wider node
/// halves the levels a pop walks down and its children share cache lines; binary for comparison.
///
/// Layout: `entries` is the heap itself, 24 bytes per timer (deadline, schedule sequence, slot), so
/// every comparison, ties included, reads only the entries being compared; `slots` holds what does
/// not move (the caller's ID and the entry's current position), 16 bytes per timer. Handles name
/// slots, so they stay valid however entries move; every move updates the slot's position (the
/// handle→position index).
///
/// Complexity: `schedule` and `cancel` O(log_d n), `nextDeadlineMillis` O(1), each fired timer
/// O(d log_d n). Fires exactly at the deadline (no tick): at the first advance with `now ≥ deadline`.
/// Limits: at most `capacity` timers (≤ `TimerQueueLimits.capacityMax`); arity a power of two, 2…16.
public struct DaryHeap: TimerQueue, Sendable {
    /// One heap position: the ordering key (deadline, then sequence) and the slot it belongs to.
    struct Entry {
        var deadlineMillis: UInt64
        var sequence: UInt64
        var slot: UInt32
    }

    /// The part of a timer that stays put. A free slot links to the next free slot through `position`.
    struct Slot {
        var timerID: UInt64
        var position: UInt32
    }

    static let noSlot = UInt32.max
    /// Arity bounds: 2 is the binary heap; beyond 16 a pop scans more children than it saves levels.
    public static let arityRange = 2...16

    public let arity: Int
    private let arityShift: Int
    public let capacity: Int
    public private(set) var nowMillis: UInt64
    private var entries: [Entry] = []
    private var slots: [Slot] = []
    private var freeSlot = DaryHeap.noSlot
    private var nextSequence: UInt64 = 1

    /// An empty heap whose clock starts at `startMillis`.
    /// - Throws: `.invalidParameter` when `arity` is not a power of two in 2…16 or `capacity` is out of range.
    public init(arity: Int = 4, capacity: Int = TimerQueueLimits.capacityDefault, startMillis: UInt64 = 0) throws(TimerQueueError) {
        arityShift = try TimerQueueLimits.powerOfTwo(arity, "arity", in: Self.arityRange)
        try TimerQueueLimits.validateCapacity(capacity)
        self.arity = arity
        self.capacity = capacity
        self.nowMillis = startMillis
    }

    public var count: Int { entries.count }

    /// O(1): the root.
    public var nextDeadlineMillis: UInt64? { entries.first?.deadlineMillis }

    public var memoryFootprintBytes: Int {
        entries.capacity * MemoryLayout<Entry>.stride + slots.capacity * MemoryLayout<Slot>.stride
    }

    public mutating func schedule(timerID: UInt64, deadlineMillis: UInt64) throws(TimerQueueError) -> TimerHandle {
        guard entries.count < capacity else { throw .full(capacity: capacity) }
        let sequence = nextSequence
        nextSequence += 1
        let slot: UInt32
        if freeSlot != Self.noSlot {
            slot = freeSlot
            freeSlot = slots[Int(slot)].position
            slots[Int(slot)] = Slot(timerID: timerID, position: 0)
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot(timerID: timerID, position: 0))
        }
        entries.append(Entry(deadlineMillis: deadlineMillis, sequence: sequence, slot: slot))
        siftUp(entries[entries.count - 1], from: entries.count - 1)
        return TimerHandle(index: slot, sequence: sequence)
    }

    /// A slot is live when the entry at its position points back at it with the handle's sequence (a
    /// free slot's position is a free-list link, never an entry that points back).
    public func isPending(_ handle: TimerHandle) -> Bool {
        guard Int(handle.index) < slots.count else { return false }
        let position = Int(slots[Int(handle.index)].position)
        return position < entries.count && entries[position].slot == handle.index && entries[position].sequence == handle.sequence
    }

    /// O(log_d n): the last entry fills the hole and moves up or down.
    public mutating func cancel(_ handle: TimerHandle) -> Bool {
        guard isPending(handle) else { return false }
        remove(at: Int(slots[Int(handle.index)].position))
        release(handle.index)
        return true
    }

    public mutating func advance(toMillis nowMillis: UInt64, into fired: inout [FiredTimer]) {
        self.nowMillis = max(self.nowMillis, nowMillis)
        while let root = entries.first, root.deadlineMillis <= self.nowMillis {
            fired.append(FiredTimer(
                timerID: slots[Int(root.slot)].timerID, deadlineMillis: root.deadlineMillis,
                handle: TimerHandle(index: root.slot, sequence: root.sequence)
            ))
            remove(at: 0)
            release(root.slot)
        }
    }

    /// The first levels of the tree, root first, holding at most `entriesMax` deadlines in all.
    public func snapshot(entriesMax: Int) -> TimerQueueSnapshot {
        var remaining = min(TimerQueueSnapshot.clamp(entriesMax), entries.count)
        var levels: [[UInt64]] = []
        var levelStart = 0
        var levelWidth = 1
        while remaining > 0 {
            let width = min(levelWidth, remaining)
            levels.append(entries[levelStart..<(levelStart + width)].map(\.deadlineMillis))
            remaining -= width
            levelStart += levelWidth
            levelWidth <<= arityShift
        }
        return TimerQueueSnapshot(
            kind: "\(arity)-ary heap", count: count, nowMillis: nowMillis, nextDeadlineMillis: nextDeadlineMillis,
            dueCount: 0, layout: .tree(arity: arity, levels: levels)
        )
    }

    // MARK: - Heap order

    /// Firing order: deadline, then schedule order (sequence) so equal deadlines fire first-come first-served.
    @inline(__always)
    private static func precedes(_ left: Entry, _ right: Entry) -> Bool {
        left.deadlineMillis != right.deadlineMillis ? left.deadlineMillis < right.deadlineMillis : left.sequence < right.sequence
    }

    /// Takes the entry at `position` out of the heap, filling the hole with the last entry.
    private mutating func remove(at position: Int) {
        let last = entries.removeLast()
        guard position < entries.count else { return }
        if position > 0, Self.precedes(last, entries[(position - 1) >> arityShift]) {
            siftUp(last, from: position)
        } else {
            siftDown(last, from: position)
        }
    }

    private mutating func release(_ slot: UInt32) {
        slots[Int(slot)] = Slot(timerID: 0, position: freeSlot)
        freeSlot = slot
    }

    /// Moves the hole at `start` up until `entry` fits, then puts it there.
    private mutating func siftUp(_ entry: Entry, from start: Int) {
        let shift = arityShift
        entries.withUnsafeMutableBufferPointer { heap in
            slots.withUnsafeMutableBufferPointer { slots in
                var position = start
                while position > 0 {
                    let parent = (position - 1) >> shift
                    let parentEntry = heap[parent]
                    guard Self.precedes(entry, parentEntry) else { break }
                    Self.place(parentEntry, at: position, heap, slots)
                    position = parent
                }
                Self.place(entry, at: position, heap, slots)
            }
        }
    }

    /// Moves the hole at `start` down, pulling up the earliest child, until `entry` fits.
    private mutating func siftDown(_ entry: Entry, from start: Int) {
        let (shift, arity) = (arityShift, arity)
        entries.withUnsafeMutableBufferPointer { heap in
            slots.withUnsafeMutableBufferPointer { slots in
                let count = heap.count
                var position = start
                while true {
                    let firstChild = (position << shift) + 1
                    guard firstChild < count else { break }
                    let endChild = min(firstChild + arity, count)
                    var earliest = firstChild
                    var earliestEntry = heap[firstChild]
                    for child in (firstChild + 1)..<endChild where Self.precedes(heap[child], earliestEntry) {
                        earliest = child
                        earliestEntry = heap[child]
                    }
                    guard Self.precedes(earliestEntry, entry) else { break }
                    Self.place(earliestEntry, at: position, heap, slots)
                    position = earliest
                }
                Self.place(entry, at: position, heap, slots)
            }
        }
    }

    /// Writes `entry` at `position` and records the move in its slot (the handle→position index).
    @inline(__always)
    private static func place(
        _ entry: Entry, at position: Int, _ heap: UnsafeMutableBufferPointer<Entry>, _ slots: UnsafeMutableBufferPointer<Slot>
    ) {
        heap[position] = entry
        slots[Int(entry.slot)].position = UInt32(position)
    }
}
