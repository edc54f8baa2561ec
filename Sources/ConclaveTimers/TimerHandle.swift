/// Names one scheduled timer so it can be cancelled, whichever queue holds it.
///
/// A handle is a slot index plus the timer's schedule sequence number. Sequence numbers are never
/// reused within a queue (they count schedules from 1), so a handle whose timer has fired or been
/// cancelled stays invalid even after its slot holds a new timer: `cancel` then returns `false`
/// instead of cancelling a stranger.
public struct TimerHandle: Hashable, Sendable, CustomStringConvertible {
    /// Where the queue keeps the timer; stable for the timer's whole life, whatever moves inside the queue.
    public let index: UInt32
    /// The timer's schedule order in its queue, from 1; also the tie-break between equal deadlines.
    public let sequence: UInt64

    public init(index: UInt32, sequence: UInt64) {
        self.index = index
        self.sequence = sequence
    }

    public var description: String { "timer #\(sequence)@\(index)" }
}
