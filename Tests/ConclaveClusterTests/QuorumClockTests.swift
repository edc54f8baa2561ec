import ConclaveCore
import Testing
@testable import ConclaveCluster

/// The quorum clock as a value: rounds out, readings in, agreed elapsed time out.
@Suite struct QuorumClockTests {
    static let millis: UInt64 = 1_000_000

    /// A leader (node 1) with voters 2 and 3 whose clocks run at the given rates (per mille); each
    /// interval is 10 heartbeat rounds 10 ms apart in true time, answered by every voter at once.
    struct Fixture {
        var clock = QuorumClock()
        var trueNanos: UInt64 = 0
        var rates: [NodeID: UInt64]
        let voters: [NodeID]
        var answering: Set<NodeID>

        init(rates: [NodeID: UInt64]) {
            self.rates = rates
            self.voters = rates.keys.sorted()
            self.answering = Set(voters)
        }

        func local(_ node: NodeID) -> UInt64 { trueNanos * rates[node]! / 1000 }

        /// Runs one clock interval and returns what the leader would propose.
        mutating func interval(term: Term = 1) -> UInt64 {
            var proposed: UInt64 = 0
            for _ in 0..<10 {
                trueNanos += 10 * QuorumClockTests.millis
                let round = clock.openRound(term: term, localNanos: local(1))
                for voter in voters where voter != 1 && answering.contains(voter) {
                    clock.received(round: round, nanos: local(voter), from: voter, fromLeader: false, leaderTerm: term)
                }
                proposed += clock.agreedElapsedMillis(voters: voters, me: 1, intervalNanos: 100 * QuorumClockTests.millis)
            }
            return proposed
        }
    }

    @Test("correct clocks: one clock interval per interval, once a base round is agreed")
    func correctClocks() {
        var fixture = Fixture(rates: [1: 1000, 2: 1000, 3: 1000])
        #expect(fixture.interval() == 0)  // the first interval only sets the base
        for _ in 0..<10 { #expect(fixture.interval() == 100) }
    }

    @Test("a leader clock at twice true speed is held to the quorum's time")
    func fastLeader() {
        var fixture = Fixture(rates: [1: 2000, 2: 1000, 3: 1000])
        _ = fixture.interval()
        let total = (0..<10).reduce(UInt64(0)) { total, _ in total + fixture.interval() }
        #expect(total == 1_000)
    }

    @Test("a follower clock at ten times true speed changes nothing; a slow leader slows cluster time")
    func fastFollowerSlowLeader() {
        var fast = Fixture(rates: [1: 1000, 2: 10_000, 3: 1000])
        _ = fast.interval()
        #expect((0..<10).map { _ in fast.interval() }.allSatisfy { $0 == 100 })
        var slow = Fixture(rates: [1: 500, 2: 1000, 3: 1000])
        _ = slow.interval()
        #expect((0..<10).reduce(UInt64(0)) { total, _ in total + slow.interval() } == 500)
    }

    @Test("a majority of fast clocks can still speed it up (outside the fault model, stated)")
    func fastMajority() {
        var fixture = Fixture(rates: [1: 2000, 2: 2000, 3: 1000])
        _ = fixture.interval()
        #expect(fixture.interval() == 200)
    }

    @Test("a gap longer than 1.5 intervals is made up only to 1.5 intervals")
    func longWindowIsCapped() {
        var leader = QuorumClock()
        let interval = 100 * Self.millis
        var round = leader.openRound(term: 1, localNanos: 0)
        leader.received(round: round, nanos: 0, from: 2, fromLeader: false, leaderTerm: 1)
        #expect(leader.agreedElapsedMillis(voters: [1, 2, 3], me: 1, intervalNanos: interval) == 0)
        round = leader.openRound(term: 1, localNanos: 900 * Self.millis)
        leader.received(round: round, nanos: 900 * Self.millis, from: 2, fromLeader: false, leaderTerm: 1)
        #expect(leader.agreedElapsedMillis(voters: [1, 2, 3], me: 1, intervalNanos: interval) == 150)
    }

    @Test("without a quorum of answers nothing moves, and the lost time is never made up")
    func noQuorumLosesTime() {
        var fixture = Fixture(rates: [1: 1000, 2: 1000, 3: 1000])
        _ = fixture.interval()
        #expect(fixture.interval() == 100)
        fixture.answering = []
        #expect(fixture.interval() == 0)
        #expect(fixture.interval() == 0)
        fixture.answering = [2]
        // Back: the 300 ms since the base are agreed at once, but only 150 ms (1.5 intervals) are
        // taken; the rest is lost for good.
        #expect(fixture.interval() == 150)
        #expect(fixture.interval() == 100)
    }

    @Test("a new term starts over: readings of an older term are not counted")
    func newTermStartsOver() {
        var fixture = Fixture(rates: [1: 1000, 2: 1000, 3: 1000])
        _ = fixture.interval(term: 1)
        #expect(fixture.interval(term: 1) == 100)
        #expect(fixture.interval(term: 2) == 0)
        #expect(fixture.interval(term: 2) == 100)
    }

    @Test("echoes: a follower echoes the newest round heard from each leader; strays are ignored")
    func echoes() {
        var follower = QuorumClock()
        follower.received(round: 1 << 32 | 5, nanos: 0, from: 1, fromLeader: true, leaderTerm: nil)
        follower.received(round: 1 << 32 | 3, nanos: 0, from: 1, fromLeader: true, leaderTerm: nil)
        #expect(follower.round(to: 1, asLeader: false) == 1 << 32 | 5)
        #expect(follower.round(to: 2, asLeader: false) == 0)
        var leader = QuorumClock()
        let round = leader.openRound(term: 2, localNanos: 0)
        #expect(leader.round(to: 3, asLeader: true) == round)
        // An answer from an older term, or to a round not yet opened, is not a reading.
        leader.received(round: 1 << 32 | 1, nanos: 5, from: 2, fromLeader: false, leaderTerm: 2)
        leader.received(round: round + 1, nanos: 5, from: 2, fromLeader: false, leaderTerm: 2)
        #expect(leader.agreedElapsedMillis(voters: [1, 2, 3], me: 1, intervalNanos: 1) == 0)
    }

    @Test("readings per voter are bounded")
    func bounded() {
        var leader = QuorumClock()
        for step in 0..<(QuorumClock.readingsPerVoterMax * 3) {
            let round = leader.openRound(term: 1, localNanos: UInt64(step) * Self.millis)
            leader.received(round: round, nanos: UInt64(step) * Self.millis, from: 2, fromLeader: false, leaderTerm: 1)
        }
        #expect(leader.readingsHeld <= 2 * QuorumClock.readingsPerVoterMax)
    }

    /// Found by the first node processes: with a heartbeat every 10 ticks (a daemon's 100 ms), the
    /// leader asks for agreed time on the 9 ticks between rounds too; the base must survive them,
    /// or it is cleared on each and cluster time never moves.
    @Test("heartbeats rarer than ticks: the base waits for the next round instead of being dropped")
    func heartbeatsRarerThanTicks() {
        var clock = QuorumClock()
        var nanos: UInt64 = 0
        var proposed: UInt64 = 0
        for tick in 1...1_000 {  // 10 s of 10 ms ticks, a round every 10th
            nanos += 10 * Self.millis
            if tick % 10 == 0 {
                let round = clock.openRound(term: 1, localNanos: nanos)
                for voter: NodeID in [2, 3] {
                    clock.received(round: round, nanos: nanos + 1, from: voter, fromLeader: false, leaderTerm: 1)
                }
            }
            proposed += clock.agreedElapsedMillis(voters: [1, 2, 3], me: 1, intervalNanos: 100 * Self.millis)
        }
        #expect(proposed >= 9_800 && proposed <= 10_000, "cluster time moved \(proposed) ms in 10 s")
    }
}
