/// Why a timer queue refused a configuration or a timer.
///
/// Bad input must reach the operator as a sentence naming what was wrong and what is accepted,
/// never as a trap inside the timer loop.
public enum TimerQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `schedule` found the queue holding `capacity` pending timers already.
    case full(capacity: Int)
    /// An initializer parameter outside what the structure supports.
    case invalidParameter(name: String, value: String, accepted: String)

    public var description: String {
        switch self {
        case .full(let capacity):
            return "timer queue is full: \(capacity) timers pending (its capacity); "
                + "cancel or fire some, or configure a larger capacity (at most \(TimerQueueLimits.capacityMax))"
        case .invalidParameter(let name, let value, let accepted):
            return "invalid \(name) \(value): expected \(accepted)"
        }
    }
}

/// Limits every timer queue shares.
public enum TimerQueueLimits {
    /// The most timers one queue can hold: slot indexes are 32-bit and `UInt32.max` means "none".
    public static let capacityMax = Int(UInt32.max) - 1
    /// The capacity a queue gets when none is given: 16 Mi timers (about 700 MB at 40 bytes each).
    public static let capacityDefault = 1 << 24
    /// `snapshot(entriesMax:)` clamps its argument to `1...snapshotEntriesMax`.
    public static let snapshotEntriesMax = 4_096

    static func validateCapacity(_ capacity: Int) throws(TimerQueueError) {
        guard capacity >= 1, capacity <= capacityMax else {
            throw .invalidParameter(name: "capacity", value: String(capacity), accepted: "an integer from 1 to \(capacityMax)")
        }
    }

    static func validateTick(_ tickMillis: UInt64) throws(TimerQueueError) {
        guard tickMillis >= 1 else {
            throw .invalidParameter(name: "tickMillis", value: "0", accepted: "at least 1 millisecond")
        }
    }

    /// `value` a power of two within `range`; returns its base-2 logarithm.
    static func powerOfTwo(_ value: Int, _ name: String, in range: ClosedRange<Int>) throws(TimerQueueError) -> Int {
        guard range.contains(value), value.nonzeroBitCount == 1 else {
            throw .invalidParameter(
                name: name, value: String(value),
                accepted: "a power of two from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value.trailingZeroBitCount
    }
}
