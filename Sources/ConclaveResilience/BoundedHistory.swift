/// The most recent `capacity` values, oldest dropped first: the bounded memory behind "recent
/// transitions" in snapshots. Appending is O(1) and allocation-free once full.
struct BoundedHistory<Element: Sendable & Equatable>: Sendable, Equatable {
    private var storage: [Element] = []
    private var oldestIndex = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1, "a history holds at least one value")
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
            return
        }
        storage[oldestIndex] = element
        oldestIndex += 1
        if oldestIndex == capacity { oldestIndex = 0 }
    }

    /// Oldest first.
    var elements: [Element] {
        Array(storage[oldestIndex...] + storage[..<oldestIndex])
    }
}
