import ConclaveTimers
import Testing

/// The four queues under test, small enough that tests reach their rounds, levels and limits.
enum QueueKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case quaternaryHeap, binaryHeap, hashedWheel, hierarchicalWheel

    var testDescription: String { rawValue }

    /// A queue of this kind. Wheels get few slots (8 for the hashed wheel, 4 per level for the
    /// hierarchical one) so short tests already span many rounds and levels.
    func make(capacity: Int = 10_000, tickMillis: UInt64 = 1, startMillis: UInt64 = 0) throws -> any TimerQueue {
        switch self {
        case .quaternaryHeap: try DaryHeap(arity: 4, capacity: capacity, startMillis: startMillis)
        case .binaryHeap: try DaryHeap(arity: 2, capacity: capacity, startMillis: startMillis)
        case .hashedWheel: try HashedWheel(tickMillis: tickMillis, slotCount: 8, capacity: capacity, startMillis: startMillis)
        case .hierarchicalWheel:
            try HierarchicalWheel(tickMillis: tickMillis, slotsPerLevel: 4, capacity: capacity, startMillis: startMillis)
        }
    }

    var isWheel: Bool { self == .hashedWheel || self == .hierarchicalWheel }
}

extension FiredTimer {
    /// What must agree across queues: handle indexes are each queue's own business.
    var essence: String { "\(timerID)@\(deadlineMillis)#\(handle.sequence)" }
}
