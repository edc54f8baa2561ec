/// The answer to `SnowflakeGenerator.next(nowMillis:)`.
public enum SnowflakeDecision: Hashable, Sendable {
    /// A new ID, strictly greater than every ID this generator issued before.
    case id(UInt64)
    /// No ID now, and nothing changed: ask again once the clock reads `untilMillis` (ms since 1970).
    /// Given when the millisecond's sequence is used up, or the clock stepped back by no more than
    /// the configured `rollbackWaitMillisMax`. The generator never sleeps; the caller does.
    case wait(untilMillis: UInt64)
    /// No ID, and nothing changed; waiting will not help without outside action (a fixed clock, a
    /// renewed lease, a new epoch).
    case refused(SnowflakeRefusal)
}

/// Why a `SnowflakeGenerator` issued no ID. All times are milliseconds since 1970.
public enum SnowflakeRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// The clock reads a time before the layout's epoch, which no ID can encode.
    case beforeEpoch(nowMillis: UInt64, epochMillis: UInt64)
    /// The clock stepped back further than the policy waits out; an ID now could repeat or precede
    /// one already issued.
    case clockRolledBack(nowMillis: UInt64, lastMillis: UInt64, waitMillisMax: UInt64)
    /// The next ID's timestamp is past the last millisecond the layout encodes from its epoch.
    case timestampExhausted(nowMillis: UInt64, lastEncodableMillis: UInt64)
    /// The next ID's timestamp is within the safety margin of the worker-ID lease's expiry (or past
    /// it): another generator may soon hold this worker ID.
    case leaseEnding(timestampMillis: UInt64, leaseExpiresAtMillis: UInt64, safetyMarginMillis: UInt64)

    public var description: String {
        switch self {
        case let .beforeEpoch(now, epoch):
            return "clock reads \(now) ms, before the epoch \(epoch) ms; IDs can only encode times from the epoch on"
        case let .clockRolledBack(now, last, waitMax):
            return "clock stepped back \(last - min(last, now)) ms (reads \(now) ms; IDs already carry \(last) ms); "
                + "the policy waits out at most \(waitMax) ms, so no ID until the clock passes \(last) ms"
        case let .timestampExhausted(now, lastEncodable):
            return "clock reads \(now) ms, past the last millisecond the layout encodes from its epoch (\(lastEncodable) ms); "
                + "choose a later epoch or a wider timestamp"
        case let .leaseEnding(timestamp, expires, margin):
            return "the worker-ID lease expires at \(expires) ms and IDs stop \(margin) ms before that; "
                + "the next ID would carry \(timestamp) ms: renew the lease"
        }
    }
}

/// The answer to `SnowflakeGenerator.next(count:nowMillis:appendingTo:)`.
public enum SnowflakeBatchResult: Hashable, Sendable {
    /// Every ID asked for was appended.
    case complete
    /// `issued` IDs (fewer than asked, possibly 0) were appended; ask for the rest at `untilMillis`.
    case waiting(issued: Int, untilMillis: UInt64)
    /// `issued` IDs were appended before the generator refused.
    case refused(issued: Int, SnowflakeRefusal)
}
