import ConclaveCore
import ConclaveRaft

/// What happened in a run, in order: a rolling hash over every event (so two runs can be compared
/// in O(1)) and the first `linesMax` events as text (for reading and diffing).
public struct SimulationTrace: Sendable {
    public let linesMax: Int
    public private(set) var lines: [String] = []
    public private(set) var hash: UInt64 = StableHash.fnvOffsetBasis
    public private(set) var eventCount = 0

    init(linesMax: Int) {
        self.linesMax = linesMax
    }

    mutating func record(_ time: UInt64, _ text: @autoclosure () -> String, hash value: UInt64) {
        eventCount += 1
        fold(time)
        fold(value)
        if lines.count < linesMax {
            lines.append("\(Self.format(time)) \(text())")
        }
    }

    mutating func record(_ time: UInt64, _ message: Message) {
        eventCount += 1
        fold(time)
        fold(UInt64(message.kind.rawValue) | message.from << 8 | message.to << 16)
        fold(message.term)
        fold(message.index &* 31 &+ message.logTerm)
        fold(message.commit &+ UInt64(message.entries.count) << 40 &+ (message.reject ? 1 << 63 : 0))
        if lines.count < linesMax {
            lines.append("\(Self.format(time)) \(message)")
        }
    }

    private mutating func fold(_ value: UInt64) {
        hash = StableHash.fold(hash, value)
    }

    static func format(_ time: UInt64) -> String {
        let micros = time / 1_000
        let millisPart = micros / 1_000
        let fraction = micros % 1_000
        return "\(millisPart).\(String(repeating: "0", count: 3 - String(fraction).count))\(fraction)ms"
    }
}

/// Counters for a run's summary and the console.
public struct SimulationStatistics: Equatable, Sendable {
    public var messagesSent = 0
    public var messagesDelivered = 0
    public var messagesDropped = 0
    /// Append responses that rejected (log mismatch): how hard leaders had to search for a match.
    public var appendsRejected = 0
    public var snapshotsTaken = 0
    public var snapshotsInstalled = 0
    public var leaderChanges = 0
    public var faultsInjected = 0
}
