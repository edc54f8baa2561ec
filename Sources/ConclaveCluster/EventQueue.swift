/// A min-heap of timed items; ties break by insertion order, so equal times replay identically.
/// Push and pop are O(log n).
struct EventQueue<Item> {
    private struct Slot {
        var time: UInt64
        var sequence: UInt64
        var item: Item
    }

    private var slots: [Slot] = []
    private var nextSequence: UInt64 = 0

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }
    var nextTime: UInt64? { slots.first?.time }

    mutating func push(_ item: Item, at time: UInt64) {
        slots.append(Slot(time: time, sequence: nextSequence, item: item))
        nextSequence += 1
        var child = slots.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(slots[child], slots[parent]) else { break }
            slots.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, item: Item)? {
        guard !slots.isEmpty else { return nil }
        slots.swapAt(0, slots.count - 1)
        let top = slots.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < slots.count && precedes(slots[left], slots[smallest]) { smallest = left }
            if right < slots.count && precedes(slots[right], slots[smallest]) { smallest = right }
            if smallest == parent { break }
            slots.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.item)
    }

    private func precedes(_ first: Slot, _ second: Slot) -> Bool {
        first.time != second.time ? first.time < second.time : first.sequence < second.sequence
    }
}
