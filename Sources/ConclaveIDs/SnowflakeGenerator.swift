/// A Snowflake ID generator for one (datacenter, worker), as a value: time comes in as `nowMillis`
/// (milliseconds since 1970, read by the caller), decisions go out as `SnowflakeDecision`. It never
/// reads a clock and never sleeps; `.wait(untilMillis:)` tells the caller how long to.
///
/// Guarantee: every ID one generator issues is strictly greater than the one before, whatever the
/// clock does. Across generators, IDs are unique as long as no two live generators share a
/// (datacenter, worker) pair — which the worker-ID lease (below) provides.
///
/// Policies, in the order `next` applies them:
/// - **Before the epoch**: refused (`.beforeEpoch`).
/// - **Clock rollback**: the generator remembers the last millisecond it used. A clock that reads up
///   to `rollbackWaitMillisMax` behind it gets `.wait(untilMillis:)` for that millisecond (or the next
///   one if its sequence is used up); further behind, `.refused(.clockRolledBack)`, until the clock
///   catches up. A clock that jumped forward and then came back is therefore refused until real time
///   reaches the jump: never a duplicate, never a smaller ID.
/// - **Sequence exhaustion**: once a millisecond's `layout.idsPerMillisMax` IDs are issued,
///   `.wait(untilMillis:)` the next millisecond.
/// - **Timestamp overflow**: a timestamp past `layout.timestampMillisMax` after the epoch is refused
///   (`.timestampExhausted`); no ID ever wraps.
/// - **Worker-ID lease**: the generator issues an ID only while its timestamp `t` satisfies
///   `t + leaseSafetyMarginMillis < leaseExpiresAtMillis`; otherwise `.refused(.leaseEnding)`. The
///   check uses the ID's timestamp, never less than the last one used, so a backward clock step
///   cannot stretch the lease.
///
/// Worker-ID lease contract, for the caller that leases worker IDs through consensus:
/// 1. Compute the local deadline as (local time when the acquire/renew request was *sent*) + TTL,
///    which is never later than the cluster's own view of the expiry; record it in the lease
///    record through consensus; once committed, pass it to `init` or `renewLease(expiresAtMillis:)`.
/// 2. A new holder of a worker ID passes the previous holder's recorded deadline as
///    `startAfterMillis`. The previous holder's IDs all carry timestamps before that deadline (rule
///    above), so the new holder's IDs, which carry later timestamps, are all greater — even when
///    the two nodes' clocks disagree. If the new holder's clock is far behind, it is refused as a
///    rollback until its clock passes the deadline.
///
/// `next` is O(1) and allocation-free; the common case (a new millisecond, or the next sequence
/// number in the current one) is a few compares, a shift and an or.
public struct SnowflakeGenerator: Hashable, Sendable {
    public let configuration: SnowflakeConfiguration
    /// The local time (ms since 1970) at which this generator's worker-ID lease could expire.
    public private(set) var leaseExpiresAtMillis: UInt64

    /// The datacenter and worker bits of every ID, precomputed.
    private let nodeBits: UInt64
    /// Milliseconds after the epoch of the last ID issued (or of `startAfterMillis`).
    private var lastElapsedMillis: UInt64
    /// The sequence number the next ID in `lastElapsedMillis` gets; `sequenceMax + 1` when used up.
    private var nextSequence: UInt64
    /// Timestamps (ms after the epoch) from this one on are refused: the smaller of the layout's
    /// end and the lease's safety deadline. Cached for the fast path.
    private var issueLimitElapsedMillis: UInt64

    /// - Parameters:
    ///   - leaseExpiresAtMillis: the worker-ID lease's local deadline (see the lease contract above).
    ///   - startAfterMillis: every ID will carry a timestamp strictly after this (ms since 1970): the
    ///     previous holder's recorded lease deadline, or 0 for a worker ID never used before.
    /// - Throws: `IDInputError` for a configuration out of range, or a `startAfterMillis` past the
    ///   last millisecond the layout encodes.
    public init(configuration: SnowflakeConfiguration, leaseExpiresAtMillis: UInt64, startAfterMillis: UInt64 = 0)
        throws(IDInputError)
    {
        try configuration.validate()
        let layout = configuration.layout
        try IDInputError.require(
            startAfterMillis, in: 0...(configuration.epochMillis + layout.timestampMillisMax), "startAfterMillis", unit: "ms"
        )
        self.configuration = configuration
        self.leaseExpiresAtMillis = leaseExpiresAtMillis
        nodeBits = layout.node(datacenterID: configuration.datacenterID, workerID: configuration.workerID)
        if startAfterMillis >= configuration.epochMillis {
            lastElapsedMillis = startAfterMillis - configuration.epochMillis
            nextSequence = layout.sequenceMax + 1
        } else {
            lastElapsedMillis = 0
            nextSequence = 0
        }
        issueLimitElapsedMillis = 0
        issueLimitElapsedMillis = issueLimit()
    }

    /// The timestamp (ms since 1970) of the last ID issued, or `startAfterMillis` before the first:
    /// the high-water mark a caller may record with its lease.
    public var lastTimestampMillis: UInt64 { configuration.epochMillis + lastElapsedMillis }

    /// Replaces the lease deadline (after a renewal has committed). A smaller value is accepted too:
    /// it only makes the generator stop sooner. `startAfterMillis`, the grant's floor, is honoured
    /// even when the worker ID is the one this generator already carries: a grant of an ID that was
    /// lost and granted back must not stamp inside another holder's range. O(1).
    public mutating func renewLease(expiresAtMillis: UInt64, startAfterMillis: UInt64 = 0) {
        leaseExpiresAtMillis = expiresAtMillis
        let epochMillis = configuration.epochMillis
        if startAfterMillis >= epochMillis, startAfterMillis - epochMillis > lastElapsedMillis {
            lastElapsedMillis = min(startAfterMillis - epochMillis, configuration.layout.timestampMillisMax)
            nextSequence = configuration.layout.sequenceMax + 1
        }
        issueLimitElapsedMillis = issueLimit()
    }

    /// The next ID at clock reading `nowMillis` (ms since 1970), or a wait or a refusal; see the
    /// type's policies. A wait or refusal changes nothing.
    public mutating func next(nowMillis: UInt64) -> SnowflakeDecision {
        let elapsedMillis = nowMillis &- configuration.epochMillis
        if nowMillis >= configuration.epochMillis, elapsedMillis < issueLimitElapsedMillis {
            if elapsedMillis > lastElapsedMillis {
                lastElapsedMillis = elapsedMillis
                nextSequence = 1
                return .id(configuration.layout.compose(timestampMillis: elapsedMillis, node: nodeBits, sequence: 0))
            }
            if elapsedMillis == lastElapsedMillis, nextSequence <= configuration.layout.sequenceMax {
                let sequence = nextSequence
                nextSequence = sequence + 1
                return .id(configuration.layout.compose(timestampMillis: elapsedMillis, node: nodeBits, sequence: sequence))
            }
        }
        return decideOffFastPath(nowMillis: nowMillis)
    }

    /// Appends up to `count` IDs to `ids`, all at clock reading `nowMillis`, and says whether it
    /// stopped short. At most the rest of one millisecond's sequence can be issued per reading, so a
    /// `count` above `layout.idsPerMillisMax` always ends in `.waiting`. A `count` of 0 or less
    /// appends nothing and is `.complete`. The same IDs as `count` calls to `next(nowMillis:)`, at
    /// O(1) per ID with no per-ID decision.
    public mutating func next(count: Int, nowMillis: UInt64, appendingTo ids: inout [UInt64]) -> SnowflakeBatchResult {
        var issued = 0
        while issued < count {
            switch next(nowMillis: nowMillis) {
            case .id(let first):
                ids.append(first)
                issued += 1
                // The rest of this millisecond: same timestamp, so the same limits; the sequence is the
                // low bits, so consecutive sequence numbers are consecutive IDs.
                let run = min(UInt64(count - issued), configuration.layout.sequenceMax + 1 - nextSequence)
                if run > 0 {
                    ids.append(contentsOf: (first + 1)...(first + run))
                    nextSequence += run
                    issued += Int(run)
                }
            case .wait(let untilMillis):
                return .waiting(issued: issued, untilMillis: untilMillis)
            case .refused(let refusal):
                return .refused(issued: issued, refusal)
            }
        }
        return .complete
    }

    /// The whole policy in one place. `next` issues the common cases before reaching it; what arrives
    /// here ends in a wait or a refusal (neither changes anything) or, should the fast path ever decline
    /// an ID the policy allows, in that ID.
    private mutating func decideOffFastPath(nowMillis: UInt64) -> SnowflakeDecision {
        let epochMillis = configuration.epochMillis
        guard nowMillis >= epochMillis else {
            return .refused(.beforeEpoch(nowMillis: nowMillis, epochMillis: epochMillis))
        }
        let elapsedMillis = nowMillis - epochMillis
        let sequenceUsedUp = nextSequence > configuration.layout.sequenceMax
        let targetMillis: UInt64
        let mustWait: Bool
        if elapsedMillis < lastElapsedMillis {
            guard lastElapsedMillis - elapsedMillis <= configuration.rollbackWaitMillisMax else {
                return .refused(.clockRolledBack(
                    nowMillis: nowMillis, lastMillis: lastTimestampMillis, waitMillisMax: configuration.rollbackWaitMillisMax
                ))
            }
            (targetMillis, mustWait) = (sequenceUsedUp ? lastElapsedMillis + 1 : lastElapsedMillis, true)
        } else if elapsedMillis == lastElapsedMillis, sequenceUsedUp {
            (targetMillis, mustWait) = (lastElapsedMillis + 1, true)
        } else {
            (targetMillis, mustWait) = (elapsedMillis, false)
        }
        if let refusal = limitRefusal(targetMillis: targetMillis, nowMillis: nowMillis) { return .refused(refusal) }
        if mustWait { return .wait(untilMillis: epochMillis + targetMillis) }
        let sequence = targetMillis == lastElapsedMillis ? nextSequence : 0
        lastElapsedMillis = targetMillis
        nextSequence = sequence + 1
        return .id(configuration.layout.compose(timestampMillis: targetMillis, node: nodeBits, sequence: sequence))
    }

    /// Why an ID carrying `targetMillis` (after the epoch) may not be issued, if it may not.
    private func limitRefusal(targetMillis: UInt64, nowMillis: UInt64) -> SnowflakeRefusal? {
        let layout = configuration.layout
        if targetMillis > layout.timestampMillisMax {
            return .timestampExhausted(nowMillis: nowMillis, lastEncodableMillis: configuration.epochMillis + layout.timestampMillisMax)
        }
        if targetMillis >= leaseLimitElapsedMillis() {
            return .leaseEnding(
                timestampMillis: configuration.epochMillis + targetMillis, leaseExpiresAtMillis: leaseExpiresAtMillis,
                safetyMarginMillis: configuration.leaseSafetyMarginMillis
            )
        }
        return nil
    }

    /// Timestamps (ms after the epoch) from this one on fall within the lease's safety margin.
    private func leaseLimitElapsedMillis() -> UInt64 {
        let deadlineMillis = leaseExpiresAtMillis - min(leaseExpiresAtMillis, configuration.leaseSafetyMarginMillis)
        return deadlineMillis - min(deadlineMillis, configuration.epochMillis)
    }

    private func issueLimit() -> UInt64 {
        min(configuration.layout.timestampMillisMax + 1, leaseLimitElapsedMillis())
    }
}
