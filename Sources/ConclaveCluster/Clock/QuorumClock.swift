import ConclaveCore

/// Cluster time that no single clock can speed up: the leader moves it by what a quorum of voters'
/// monotonic clocks agree has elapsed, never by its own clock alone (after TigerBeetle, which
/// synchronises cluster time over a quorum of clocks and refuses to move without agreement).
///
/// How: every heartbeat broadcast opens a *round* (the term in the high 32 bits, a counter below).
/// The leader stamps its messages with the round; a voter stamps every message back to the leader
/// with the latest round it heard from it and its own monotonic clock reading at sending. The
/// leader keeps, per voter, the first reading it got for each round, and its own reading when it
/// opened the round. On each tick it takes the newest round `R` that a quorum answered both at `R`
/// and at the base round `B` (where the previous proposal ended), and once at least one clock
/// interval is agreed, proposes
///
///     Δ = min(leader's own R − B, the quorum-th largest of the voters' R − B)
///
/// All windows run between the same two probes, so they measure the same stretch of real time,
/// up to the variation of one-way delays. The quorum-th largest is no larger than some correct
/// clock's increment when at most a minority of clocks are wrong (among the quorum largest, one is
/// correct); the min with the leader's own increment keeps a correct leader's cluster time exact,
/// free of network jitter.
///
/// Time that cannot be agreed on is lost, never made up later: when no round pairs up with `B`, the
/// base moves to the newest round a quorum answered (or is cleared), and the gap is not counted.
/// Making it up would let cluster time jump while leases granted during the stall were running,
/// shortening them. So a failover or a lossy network slows cluster time (leases last longer),
/// never speeds it up.
///
/// Fault model: with any minority of clocks wrong in offset and rate, cluster time runs no faster
/// than the fastest correct voter clock plus, per clock interval, the spread of one-way delays
/// between the leader and the voters, and exactly at a correct leader's rate. A wrong *majority*
/// can still speed it up; a slow leader clock (or a slow quorum) slows it down — leases then outlive
/// their TTL in real time, which is safe but keeps dead clients' locks longer. Offsets never matter:
/// only increments of monotonic clocks are compared.
///
/// Pure: readings and the node's clock come in as arguments; bounded: at most
/// `readingsPerVoterMax` readings per voter after the base (the newest kept).
public struct QuorumClock: Sendable, Equatable {
    public static let readingsPerVoterMax = 64

    struct Reading: Sendable, Equatable {
        var round: UInt64
        var nanos: UInt64
    }

    /// As leader: the round opened last (0: none yet in this term).
    public private(set) var round: UInt64 = 0
    private var term: Term = 0
    private var ownReadings: [Reading] = []
    private var voterReadings: [NodeID: [Reading]] = [:]
    private var baseRound: UInt64?
    /// Each voter's (and our own) reading at the base round, kept aside from the rolling readings.
    private var baseReadings: [NodeID: UInt64] = [:]
    /// Agreed nanoseconds below one millisecond, carried to the next proposal.
    private var carryNanos: UInt64 = 0
    /// The newest round heard from each peer that led (a voter echoes it back).
    private var heardRounds: [NodeID: UInt64] = [:]

    public init() {}

    /// Forgets everything a leader knows (leadership lost or taken anew); what was heard is kept.
    public mutating func resetLeadership() {
        round = 0
        term = 0
        ownReadings.removeAll()
        voterReadings.removeAll()
        baseRound = nil
        baseReadings.removeAll()
        carryNanos = 0
    }

    /// Leader: a heartbeat broadcast goes out now — opens a new round, with our own reading.
    @discardableResult
    public mutating func openRound(term newTerm: Term, localNanos: UInt64) -> UInt64 {
        if newTerm != term {
            resetLeadership()
            term = newTerm
        }
        round = newTerm << 32 | ((round & 0xFFFF_FFFF) + 1)
        Self.append(Reading(round: round, nanos: localNanos), to: &ownReadings)
        return round
    }

    /// The round a message to `peer` carries: ours as leader, else the newest heard from `peer`.
    public func round(to peer: NodeID, asLeader: Bool) -> UInt64 {
        asLeader ? round : heardRounds[peer] ?? 0
    }

    /// A message arrived. From a leader (`fromLeader`: appends, heartbeats, snapshots) its round is
    /// remembered to echo; to us as leader of `leaderTerm`, an echo of one of our rounds is a reading.
    public mutating func received(round messageRound: UInt64, nanos: UInt64, from peer: NodeID,
                                  fromLeader: Bool, leaderTerm: Term?) {
        guard messageRound != 0 else { return }
        if fromLeader {
            heardRounds[peer] = max(heardRounds[peer] ?? 0, messageRound)
            return
        }
        guard let leaderTerm, leaderTerm == term, messageRound >> 32 == term, messageRound <= round,
              messageRound > baseRound ?? 0 else { return }
        var readings = voterReadings[peer] ?? []
        guard messageRound > readings.last?.round ?? 0 else { return }  // the first answer per round counts
        Self.append(Reading(round: messageRound, nanos: nanos), to: &readings)
        voterReadings[peer] = readings
    }

    /// Leader, on each of its ticks: whole milliseconds of agreed elapsed time to propose now, or 0.
    /// A proposal waits until at least `intervalNanos` are agreed (so network jitter is a small
    /// share of each step) and carries at most one and a half times that (a longer gap, such as a
    /// stall after which answers return, is lost, not made up: a lease granted during the stall
    /// sees cluster time jump by at most that much). `voters` is the current configuration; `me`
    /// is this node.
    public mutating func agreedElapsedMillis(voters: [NodeID], me: NodeID, intervalNanos: UInt64) -> UInt64 {
        let quorum = voters.count / 2 + 1
        guard baseRound != nil, let pairing = newestPairing(voters: voters, me: me, quorum: quorum) else {
            // No round after the base pairs up with it. While no quorum has answered any newer
            // round either (the next heartbeat has not gone out or come back), keep waiting on the
            // base. Once a quorum has answered a newer round without pairing up (the voters that
            // answered it did not answer the base), the time since the base is lost, and the new
            // base is that round.
            let newest = ownReadings.reversed().first { candidate in
                voters.filter { reading(of: $0, me: me, at: candidate.round) != nil }.count >= quorum
            }
            if baseRound != nil && newest == nil { return 0 }
            setBase(newest?.round, voters: voters, me: me)
            carryNanos = 0
            return 0
        }
        let agreed = min(pairing.increments.sorted(by: >)[quorum - 1], pairing.own ?? .max)
        guard agreed >= intervalNanos else { return 0 }
        let elapsed = min(agreed, intervalNanos + intervalNanos / 2) + carryNanos
        setBase(pairing.round, voters: voters, me: me)
        carryNanos = elapsed % 1_000_000
        return elapsed / 1_000_000
    }

    /// The newest round that at least `quorum` voters answered, each having answered the base too,
    /// with their increments since the base and the leader's own (nil when the leader is no voter).
    private func newestPairing(voters: [NodeID], me: NodeID, quorum: Int) -> (round: UInt64, increments: [UInt64], own: UInt64?)? {
        for candidate in ownReadings.reversed() {
            var increments: [UInt64] = []
            var own: UInt64?
            for voter in voters {
                guard let start = baseReadings[voter], let end = reading(of: voter, me: me, at: candidate.round),
                      end >= start else { continue }
                increments.append(end - start)
                if voter == me { own = end - start }
            }
            if increments.count >= quorum { return (candidate.round, increments, own) }
        }
        return nil
    }

    /// Moves the base to `newBase` (its readings kept aside) and drops every reading up to it.
    private mutating func setBase(_ newBase: UInt64?, voters: [NodeID], me: NodeID) {
        baseRound = newBase
        baseReadings.removeAll()
        guard let newBase else { return }
        for voter in voters {
            if let nanos = reading(of: voter, me: me, at: newBase) { baseReadings[voter] = nanos }
        }
        ownReadings.removeAll { $0.round <= newBase }
        for voter in voterReadings.keys.sorted() { voterReadings[voter]!.removeAll { $0.round <= newBase } }
    }

    /// A voter's (or, for `me`, our own) first reading at `round`. Readings are sorted by round.
    private func reading(of voter: NodeID, me: NodeID, at round: UInt64) -> UInt64? {
        let readings = voter == me ? ownReadings : voterReadings[voter] ?? []
        var low = 0
        var high = readings.count
        while low < high {
            let middle = (low + high) / 2
            if readings[middle].round < round { low = middle + 1 } else { high = middle }
        }
        return low < readings.count && readings[low].round == round ? readings[low].nanos : nil
    }

    /// Readings held, ours and the voters' (for tests of the bound).
    var readingsHeld: Int { ownReadings.count + voterReadings.values.reduce(0) { $0 + $1.count } }

    private static func append(_ reading: Reading, to readings: inout [Reading]) {
        if readings.count >= readingsPerVoterMax { readings.removeFirst(readings.count - readingsPerVoterMax + 1) }
        readings.append(reading)
    }
}
