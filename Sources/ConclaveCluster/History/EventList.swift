/// The doubly linked list of call and return events that `LinearizationSearch` walks, in arrays.
///
/// Events are numbered 1...2n in time order (a call before a return at the same instant, ties by
/// operation index); 0 is the head sentinel and 2n + 1 the end sentinel, so no link is ever nil.
/// `lift` and `unlift` are O(1) and must be undone in reverse order (a stack), as Lowe's algorithm does.
struct EventList {
    private var nextEvent: [Int32]
    private var previousEvent: [Int32]
    /// The operation of each event, with the call flag in the lowest bit: `operation << 1 | isCall`.
    private let eventOperation: [Int32]
    /// For a call event, the event of its return.
    private let returnEvent: [Int32]
    private let endEvent: Int32

    /// Builds the list for `intervals` (call, return) sorted by call; `operation(of:)` answers indices
    /// into `intervals`. Complexity: O(n log n).
    init(intervals: [(call: UInt64, returnTime: UInt64)]) {
        precondition(intervals.count < Int(Int32.max) / 2, "too many operations on one key")
        let count = intervals.count
        // (time, 0 for a call / 1 for a return, operation): sorting these gives the event order.
        var events: [(time: UInt64, isReturn: Int, operation: Int)] = []
        events.reserveCapacity(2 * count)
        for (index, interval) in intervals.enumerated() {
            events.append((interval.call, 0, index))
            events.append((interval.returnTime, 1, index))
        }
        events.sort { ($0.time, $0.isReturn, $0.operation) < ($1.time, $1.isReturn, $1.operation) }
        endEvent = Int32(2 * count + 1)
        nextEvent = (0...(2 * count + 1)).map { Int32($0 + 1) }
        previousEvent = (0...(2 * count + 1)).map { Int32($0 - 1) }
        var eventOperation = [Int32](repeating: 0, count: 2 * count + 2)
        var callEvent = [Int32](repeating: 0, count: count)
        var returnEvent = [Int32](repeating: 0, count: 2 * count + 2)
        for (position, event) in events.enumerated() {
            let number = Int32(position + 1)
            eventOperation[position + 1] = Int32(event.operation) << 1 | (event.isReturn == 0 ? 1 : 0)
            if event.isReturn == 0 {
                callEvent[event.operation] = number
            } else {
                returnEvent[Int(callEvent[event.operation])] = number
            }
        }
        self.eventOperation = eventOperation
        self.returnEvent = returnEvent
    }

    /// The first event still in the list (the end sentinel when empty).
    var first: Int32 { nextEvent[0] }

    func next(after event: Int32) -> Int32 { nextEvent[Int(event)] }

    func isCall(_ event: Int32) -> Bool { eventOperation[Int(event)] & 1 == 1 }

    func operation(of event: Int32) -> Int { Int(eventOperation[Int(event)] >> 1) }

    /// Takes a call event and its return out of the list.
    mutating func lift(_ call: Int32) {
        unlink(call)
        unlink(returnEvent[Int(call)])
    }

    /// Puts back what `lift(call)` took out; only valid for the most recent lift still in effect.
    mutating func unlift(_ call: Int32) {
        relink(returnEvent[Int(call)])
        relink(call)
    }

    /// Writes into `frontier` the operations of the calls before the first return, in list order, and
    /// returns that first return (the end sentinel when the list is empty). O(frontier length).
    @discardableResult
    func frontier(into frontier: inout [Int32]) -> Int32 {
        frontier.removeAll(keepingCapacity: true)
        var event = nextEvent[0]
        while event != endEvent && isCall(event) {
            frontier.append(eventOperation[Int(event)] >> 1)
            event = nextEvent[Int(event)]
        }
        return event
    }

    private mutating func unlink(_ event: Int32) {
        let previous = Int(previousEvent[Int(event)])
        let next = Int(nextEvent[Int(event)])
        nextEvent[previous] = Int32(next)
        previousEvent[next] = Int32(previous)
    }

    private mutating func relink(_ event: Int32) {
        nextEvent[Int(previousEvent[Int(event)])] = event
        previousEvent[Int(nextEvent[Int(event)])] = event
    }
}
