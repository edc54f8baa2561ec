/// What cron needs from a time zone: the UTC offset at an instant, and the instants a wall-clock time
/// names. Kept this small so the pure core can ship a fixed-offset zone and the runtime layer can
/// back it with the system's zone rules (ConclaveCluster's `FoundationTimeZone`: IANA names, DST).
///
/// Instants are seconds since the Unix epoch; local times are `LocalDateTime.localSeconds`.
public protocol TimeZoneRules {
    /// Seconds east of UTC in effect at `epochSeconds` (New York in winter: −18000).
    func utcOffsetSeconds(atEpochSeconds epochSeconds: Int64) -> Int
    /// The instants whose wall-clock time is `localSeconds`. A default implementation derives it
    /// from `utcOffsetSeconds`; see `LocalTimeResolution` for gaps and overlaps.
    func resolve(localSeconds: Int64) -> LocalTimeResolution
}

/// How a wall-clock time maps to instants in a zone.
public enum LocalTimeResolution: Equatable, Sendable {
    /// Exactly one instant shows this time (almost always).
    case unique(epochSeconds: Int64)
    /// The clocks were turned back and this time shows twice (fall back): the first and the second instant.
    case ambiguous(firstEpochSeconds: Int64, secondEpochSeconds: Int64)
    /// The clocks were turned forward over this time (spring forward): no instant shows it. Carries
    /// the first instant after the gap, the moment of the transition, which a cron schedule fires at.
    case skipped(nextEpochSeconds: Int64)
}

extension TimeZoneRules {
    /// Default resolution from offsets alone. Assumes what holds for real zones: offsets change by
    /// less than a day at a time, and transitions lie more than a day apart. Each offset seen a day
    /// either side is tried; an instant counts when the zone agrees with the offset it was built
    /// from. With none, the time is in a gap, whose end is found by bisection (≤ 17 probes for a gap
    /// under 36 hours, to the second).
    public func resolve(localSeconds: Int64) -> LocalTimeResolution {
        let offsets = [
            utcOffsetSeconds(atEpochSeconds: localSeconds - 86_400),
            utcOffsetSeconds(atEpochSeconds: localSeconds + 86_400),
        ]
        var instants: [Int64] = []
        for offset in offsets {
            let instant = localSeconds - Int64(offset)
            if utcOffsetSeconds(atEpochSeconds: instant) == offset, !instants.contains(instant) { instants.append(instant) }
        }
        instants.sort()
        if instants.count >= 2 {
            return .ambiguous(firstEpochSeconds: instants[0], secondEpochSeconds: instants[instants.count - 1])
        }
        if let only = instants.first { return .unique(epochSeconds: only) }
        // A gap: before the transition the offset is the earlier one, after it the later one.
        var low = localSeconds - Int64(max(offsets[0], offsets[1]))
        var high = localSeconds - Int64(min(offsets[0], offsets[1]))
        let offsetBefore = utcOffsetSeconds(atEpochSeconds: low)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if utcOffsetSeconds(atEpochSeconds: middle) == offsetBefore { low = middle } else { high = middle }
        }
        return .skipped(nextEpochSeconds: high)
    }
}
