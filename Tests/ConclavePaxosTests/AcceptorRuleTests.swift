import ConclaveCore
import ConclavePaxos
import Testing

@Suite struct AcceptorRuleTests {
    let low = Ballot(round: 1, node: 1)
    let high = Ballot(round: 2, node: 1)

    @Test("an acceptor promises only ballots above the one it promised; the same ballot again changes nothing")
    func promiseOnlyHigher() {
        var acceptor = AcceptorState()
        #expect(acceptor.prepare(ballot: high, fromSlot: 1) == .promise([]))
        #expect(acceptor.prepare(ballot: low, fromSlot: 1) == .refused(promised: high))
        #expect(acceptor.promised == high)
        #expect(acceptor.prepare(ballot: high, fromSlot: 1) == .promise([]))
        #expect(acceptor.promised == high)
    }

    @Test("an acceptor accepts in a ballot at or above its promise and refuses below")
    func acceptAtLeastPromised() {
        var acceptor = AcceptorState()
        _ = acceptor.prepare(ballot: high, fromSlot: 1)
        #expect(acceptor.accept(ballot: low, slot: 1, value: command(1)) == .refused(promised: high))
        #expect(acceptor.accepted[1] == nil)
        #expect(acceptor.accept(ballot: high, slot: 1, value: command(2)) == .accepted)
        let higher = Ballot(round: 3, node: 2)
        #expect(acceptor.accept(ballot: higher, slot: 2, value: command(3)) == .accepted)
        #expect(acceptor.promised == higher, "accepting a higher ballot promises it")
    }

    @Test("a promise reports the values accepted from the prepared slot on, in slot order")
    func promiseReportsAccepted() {
        var acceptor = AcceptorState()
        _ = acceptor.accept(ballot: low, slot: 3, value: command(3))
        _ = acceptor.accept(ballot: low, slot: 1, value: command(1))
        _ = acceptor.accept(ballot: low, slot: 2, value: command(2))
        #expect(acceptor.prepare(ballot: high, fromSlot: 2) == .promise([
            AcceptedEntry(slot: 2, ballot: low, value: command(2)), AcceptedEntry(slot: 3, ballot: low, value: command(3)),
        ]))
    }

    @Test("ballots order by round then node, so two nodes never share one and next() goes above")
    func ballotsUniquePerNode() {
        let seen = Ballot(round: 5, node: 3)
        let mine = seen.next(for: 1)
        let theirs = seen.next(for: 2)
        #expect(mine > seen && theirs > seen && mine != theirs)
        #expect(Ballot(round: 5, node: 2) < Ballot(round: 5, node: 3))
        #expect(Ballot.zero < Ballot(round: 0, node: 1))
    }

    @Test("record() rebuilds the persisted state from Ready batches, keeping the highest ballot per slot")
    func recordRebuilds() {
        var disk = AcceptorState()
        disk.record(promised: high, accepted: [AcceptedEntry(slot: 1, ballot: high, value: command(2))])
        disk.record(promised: low, accepted: [AcceptedEntry(slot: 1, ballot: low, value: command(1))])
        #expect(disk.promised == high)
        #expect(disk.accepted[1]?.value == command(2))
    }
}

@Suite struct PaxosConfigTests {
    @Test("fewer than 3 acceptors are refused with the reason", arguments: [1, 2])
    func tooFewAcceptors(count: Int) {
        let config = PaxosConfig(id: 1, acceptors: (1...count).map { NodeID($0) })
        #expect(throws: PaxosError.self) { try config.validate() }
        do {
            try config.validate()
        } catch {
            #expect(error.description.contains("at least 3 acceptors"))
        }
    }

    @Test("an even count is allowed and its fault tolerance stated")
    func evenCount() throws {
        let config = PaxosConfig(id: 1, acceptors: [1, 2, 3, 4])
        try config.validate()
        #expect(config.quorum == 3)
        #expect(config.faultTolerance == 1)
        #expect(config.faultToleranceDescription.contains("tolerates 1 failed acceptor"))
        #expect(config.faultToleranceDescription.contains("even count"))
        #expect(PaxosConfig(id: 1, acceptors: [1, 2, 3, 4, 5]).faultTolerance == 2)
    }

    @Test("a node outside the acceptors, a duplicate, or a timeout not above the heartbeat is refused")
    func otherRefusals() {
        #expect(throws: PaxosError.self) { try PaxosConfig(id: 9, acceptors: [1, 2, 3]).validate() }
        #expect(throws: PaxosError.self) { try PaxosConfig(id: 1, acceptors: [1, 1, 2, 3]).validate() }
        var config = PaxosConfig(id: 1, acceptors: [1, 2, 3])
        config.leaderTimeoutTicks = 1
        #expect(throws: PaxosError.self) { try config.validate() }
    }
}
