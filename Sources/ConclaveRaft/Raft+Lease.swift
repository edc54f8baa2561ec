import ConclaveCore

/// The leader's lease for `RaftConfig.leaseReads`: from the voters' echoes of numbered heartbeat
/// rounds and the ticks those rounds were sent at, whether a quorum has promised (by resetting
/// its election timer) to elect no one else for long enough.
extension Raft {
    /// True while a quorum of voters (this leader included) has echoed a heartbeat sent less than
    /// `leaseTicks` ago, and no transfer was started this term. A TimeoutNow cannot be recalled:
    /// it may reach its target after the transfer "timed out" (delayed, duplicated, or queued in a
    /// paused process) and its campaign ignores the voters' leases, so a transfer forfeits lease
    /// reads until the term ends; reads then take a heartbeat round, which is safe regardless.
    var holdsLease: Bool {
        guard config.leaseReads, !leaseForfeited else { return false }
        var sentTicks = voters.compactMap { $0 == id ? leaderTicks : progress[$0]?.roundAcknowledgedSentTick }
        guard sentTicks.count >= quorum else { return false }
        sentTicks.sort(by: >)
        return leaderTicks - sentTicks[quorum - 1] < config.leaseTicks
    }

    /// A follower echoed heartbeat `round`: it is the newest it has acknowledged, sent at the tick
    /// recorded for it (nil when that tick is too old for any lease).
    func recordEcho(of round: UInt64, by follower: inout Progress) {
        guard round <= heartbeatRound, round > follower.roundAcknowledged else { return }
        follower.roundAcknowledged = round
        follower.roundAcknowledgedSentTick = roundSendTicks.last { $0.round <= round }?.tick
    }

    /// Numbers the next heartbeat round (from 1 in each term), noting the tick it goes out at.
    mutating func nextHeartbeatRound() -> UInt64 {
        heartbeatRound += 1
        if roundSendTicks.last?.tick != leaderTicks {
            roundSendTicks.append((round: heartbeatRound, tick: leaderTicks))
        }
        return heartbeatRound
    }

    /// One leader tick: rounds sent at ticks a lease can no longer use are forgotten, so the table
    /// holds at most `leaseTicks` + 1 entries.
    mutating func advanceLeaseClock() {
        leaderTicks += 1
        let expired = roundSendTicks.prefix { $0.tick + config.leaseTicks <= leaderTicks }.count
        roundSendTicks.removeFirst(expired)
    }
}
