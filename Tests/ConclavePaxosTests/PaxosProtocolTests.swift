import ConclaveCore
@testable import ConclavePaxos
import Testing

@Suite struct PaxosProtocolTests {
    @Test("single decree: a proposal runs prepare/promise then accept/accepted and every learner learns it")
    func singleDecree() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        try cluster.propose(command(7), at: 1)
        #expect(cluster.mailbox.map(\.name) == ["prepare", "prepare"])
        cluster.deliver { $0.name == "prepare" }
        #expect(cluster.mailbox.map(\.name) == ["promise", "promise"])
        cluster.deliver { $0.name == "promise" }
        #expect(cluster.nodes[1]!.phase == .leading)
        cluster.stabilize()
        for id in cluster.ids {
            #expect(cluster.applied[id] == [ChosenEntry(slot: 1, value: command(7))], "node \(id)")
        }
    }

    @Test("a value is chosen once a majority accepted it, not before")
    func chosenOnMajority() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3, 4, 5])
        cluster.elect(1)
        try cluster.propose(command(1), at: 1)
        // Node 1 accepted its own; node 2 makes two of five.
        cluster.deliver { $0.name == "accept" && $0.to == 2 }
        cluster.deliver { $0.name == "accepted" }
        #expect(cluster.nodes[1]!.chosen[1] == nil)
        cluster.deliver { $0.name == "accept" && $0.to == 3 }
        cluster.deliver { $0.name == "accepted" }
        #expect(cluster.nodes[1]!.chosen[1] == command(1))
    }

    @Test("phase 1 adopts the value accepted in the highest ballot; the proposer's own value takes the next slot")
    func adoptsHighestAccepted() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        let older = Ballot(round: 1, node: 2)
        let newer = Ballot(round: 2, node: 3)
        cluster.disks[2] = AcceptorState(promised: older, accepted: [1: AcceptedEntry(slot: 1, ballot: older, value: command(20))])
        cluster.disks[3] = AcceptorState(promised: newer, accepted: [1: AcceptedEntry(slot: 1, ballot: newer, value: command(30))])
        // Node 1 has heard of the newer ballot (its acceptor promised it), so it prepares above it.
        cluster.disks[1] = AcceptorState(promised: newer)
        for id in cluster.ids { cluster.crashAndRestart(id) }
        try cluster.propose(command(10), at: 1)
        #expect(cluster.nodes[1]!.ballot > newer, "a new ballot goes above every ballot heard of")
        cluster.deliver { $0.name == "prepare" }
        // The quorum {1, 3} reports both values; node 2's promise, arriving later, changes nothing.
        cluster.deliver { $0.name == "promise" && $0.from == 3 }
        cluster.stabilize()
        let log = cluster.log(1)
        #expect(log[1] == command(30))
        #expect(log[2] == command(10))
        #expect(cluster.log(2) == log && cluster.log(3) == log)
    }

    @Test("a proposer that has not heard of a higher ballot is refused by acceptors that promised it")
    func lowBallotRefused() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        let higher = Ballot(round: 4, node: 3)
        cluster.disks[2] = AcceptorState(promised: higher)
        cluster.disks[3] = AcceptorState(promised: higher)
        cluster.crashAndRestart(2)
        cluster.crashAndRestart(3)
        try cluster.propose(command(1), at: 1)
        cluster.stabilize()
        #expect(cluster.nodes[1]!.phase == .follower)
        #expect(cluster.nodes[1]!.leader == 3)
        #expect(cluster.abandoned[1] == [command(1)])
        #expect(cluster.log(1).isEmpty)
    }

    @Test("a new leader fills a slot no acceptor in its quorum accepted anything in with a no-op")
    func fillsGapsWithNoop() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        let old = Ballot(round: 1, node: 3)
        cluster.disks[2] = AcceptorState(promised: old, accepted: [2: AcceptedEntry(slot: 2, ballot: old, value: command(5))])
        cluster.disks[1] = AcceptorState(promised: old)
        cluster.crashAndRestart(1)
        cluster.crashAndRestart(2)
        cluster.elect(1)
        #expect(cluster.log(1) == [1: .noop, 2: command(5)])
        #expect(cluster.applied[1]?.map(\.slot) == [1, 2])
    }

    @Test("a stable distinguished proposer sends only phase 2 for later values")
    func distinguishedSkipsPhaseOne() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        try cluster.propose(command(1), at: 1)
        cluster.stabilize()
        for value in 2...4 {
            try cluster.propose(command(UInt64(value)), at: 1)
            #expect(cluster.mailbox.allSatisfy { $0.name == "accept" }, "\(cluster.mailbox)")
            cluster.stabilize()
        }
        #expect(cluster.log(3).count == 4)
        #expect(cluster.nodes[1]!.ballot == Ballot(round: 1, node: 1), "no new ballot while stable")
    }

    @Test("a follower refuses proposals while it knows the distinguished proposer, naming it")
    func followerRefuses() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        cluster.elect(1)
        #expect(throws: PaxosError.notLeader(1)) { try cluster.propose(command(1), at: 2) }
    }

    @Test("a proposer holds at most pendingValuesMax values waiting")
    func pendingLimit() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3]) { $0.pendingValuesMax = 2 }
        try cluster.propose(command(1), at: 1)
        try cluster.propose(command(2), at: 1)
        #expect(throws: PaxosError.overloaded(2)) { try cluster.propose(command(3), at: 1) }
    }

    @Test("a higher ballot preempts a leader: it steps down and hands back its unchosen values")
    func preemptedLeaderAbandons() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(command(1), at: 1)
        cluster.mailbox.removeAll()   // its accepts are lost
        cluster.elect(2)
        #expect(cluster.nodes[1]!.phase == .follower)
        #expect(cluster.nodes[1]!.leader == 2)
        #expect(cluster.nodes[1]!.preemptions == 1)
        #expect(cluster.abandoned[1] == [command(1)])
    }

    @Test("a crash keeps the acceptor's promise: after restart it still refuses a lower ballot")
    func crashKeepsPromise() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        cluster.elect(3)
        let promised = cluster.nodes[2]!.acceptor.promised
        #expect(promised == Ballot(round: 1, node: 3))
        cluster.crashAndRestart(2)
        #expect(cluster.nodes[2]!.acceptor.promised == promised)
        cluster.nodes[2]!.step(PaxosMessage(from: 1, to: 2, kind: .prepare(ballot: Ballot(round: 1, node: 1), fromSlot: 1)))
        #expect(cluster.nodes[2]!.ready().messages.map(\.kind) == [.nack(ballot: Ballot(round: 1, node: 1), promised: promised)])
    }

    @Test("a learner that missed chosen values catches up from the leader's heartbeat, a bounded batch at a time")
    func catchUp() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3]) { $0.catchUpEntriesPerMessageMax = 2 }
        cluster.elect(1)
        for value in 1...5 {
            try cluster.propose(command(UInt64(value)), at: 1)
            cluster.stabilize { $0.to != 3 }
        }
        #expect(cluster.nodes[3]!.chosenThrough == 0)
        #expect(cluster.nodes[1]!.chosenThrough == 5)
        var replies: [Int] = []
        for _ in 0..<4 {
            cluster.tick(1)
            cluster.deliver { $0.name == "heartbeat" }
            cluster.deliver { $0.name == "catch-up" }
            for case .catchUpReply(let entries) in cluster.mailbox.map(\.kind) { replies.append(entries.count) }
            cluster.deliver { $0.name == "catch-up-reply" }
            cluster.mailbox.removeAll()
        }
        #expect(replies.allSatisfy { $0 <= 2 })
        #expect(cluster.nodes[3]!.chosenThrough == 5)
        #expect(cluster.log(3) == cluster.log(1))
        #expect(cluster.applied[3] == cluster.applied[1])
    }

    @Test("duelling proposers without backoff preempt each other and choose nothing")
    func duellingLivelock() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3]) {
            $0.distinguishedProposer = false
            $0.randomizedBackoff = false
        }
        try cluster.propose(command(1), at: 1)
        try cluster.propose(command(2), at: 2)
        cluster.runRounds(200)
        #expect(cluster.nodes[1]!.chosen.isEmpty && cluster.nodes[2]!.chosen.isEmpty)
        #expect(cluster.nodes[1]!.preemptions > 50 && cluster.nodes[2]!.preemptions > 50)
    }

    @Test("randomized backoff ends the duel: both values are chosen", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func duellingWithBackoff(seed: UInt64) throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3], seed: seed) { $0.distinguishedProposer = false }
        try cluster.propose(command(1), at: 1)
        try cluster.propose(command(2), at: 2)
        cluster.runRounds(200)
        let values = Set(cluster.log(3).values)
        #expect(values.contains(command(1)) && values.contains(command(2)))
        #expect(cluster.log(1) == cluster.log(3))
    }

    @Test("switching the backoff on in a running duel ends it; the acceptors' promises stay", arguments: [1, 2, 3] as [UInt64])
    func duelEndedMidRun(seed: UInt64) throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3], seed: seed) {
            $0.distinguishedProposer = false
            $0.randomizedBackoff = false
        }
        try cluster.propose(command(1), at: 1)
        try cluster.propose(command(2), at: 2)
        cluster.runRounds(100)
        #expect(cluster.log(3).isEmpty)
        let promised = cluster.nodes[3]!.acceptor.promised
        for id in cluster.ids { cluster.nodes[id]!.setProposerPolicy(distinguishedProposer: false, randomizedBackoff: true) }
        #expect(cluster.nodes[3]!.acceptor.promised == promised)
        #expect(cluster.nodes[1]!.config.randomizedBackoff && !cluster.nodes[1]!.config.distinguishedProposer)
        cluster.runRounds(200)
        let values = Set(cluster.log(3).values)
        #expect(values.contains(command(1)) && values.contains(command(2)))
        #expect(cluster.log(1) == cluster.log(3))
    }

    @Test("a follower that hears no heartbeat takes over after its randomized timeout")
    func leaderTimeout() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(command(1), at: 1)
        cluster.stabilize()
        cluster.nodes[1] = nil
        cluster.runRounds(60)
        let leaders = cluster.ids.filter { cluster.nodes[$0]!.phase == .leading }
        #expect(leaders.count == 1)
        try cluster.propose(command(2), at: leaders[0])
        cluster.runRounds(5)
        #expect(cluster.log(2)[2] == command(2) || cluster.log(2).values.contains(command(2)))
    }
}

@Suite struct PaxosContractTests {
    @Test("a promise goes out in the same Ready as the promised ballot to persist (persist before send)")
    func promisePersistedWithMessage() {
        var node = try! Paxos(config: PaxosConfig(id: 2, acceptors: [1, 2, 3]), random: SeededGenerator(seed: 1))
        let ballot = Ballot(round: 1, node: 1)
        node.step(PaxosMessage(from: 1, to: 2, kind: .prepare(ballot: ballot, fromSlot: 1)))
        let ready = node.ready()
        #expect(ready.promised == ballot)
        #expect(ready.messages.map(\.kind) == [.promise(ballot: ballot, fromSlot: 1, accepted: [])])
        node.step(PaxosMessage(from: 1, to: 2, kind: .accept(ballot: ballot, slot: 1, value: command(4))))
        let second = node.ready()
        #expect(second.accepted == [AcceptedEntry(slot: 1, ballot: ballot, value: command(4))])
        #expect(second.messages.map(\.kind) == [.accepted(ballot: ballot, slot: 1)])
        #expect(node.ready().isEmpty, "each piece of work is handed out once")
    }

    @Test("a duplicated prepare is answered with the same promise and changes nothing to persist")
    func duplicatePrepare() {
        var node = try! Paxos(config: PaxosConfig(id: 2, acceptors: [1, 2, 3]), random: SeededGenerator(seed: 1))
        let prepare = PaxosMessage(from: 1, to: 2, kind: .prepare(ballot: Ballot(round: 1, node: 1), fromSlot: 1))
        node.step(prepare)
        let first = node.ready()
        node.step(prepare)
        let again = node.ready()
        #expect(again.promised == nil)
        #expect(again.messages == first.messages)
    }

    @Test("a leader re-sends accepts for at most retransmitSlotsMax slots per heartbeat, the oldest first")
    func retransmitLimit() throws {
        var cluster = PaxosHarness(acceptors: [1, 2, 3]) { $0.retransmitSlotsMax = 2 }
        cluster.elect(1)
        for value in 1...5 { try cluster.propose(command(UInt64(value)), at: 1) }
        cluster.mailbox.removeAll()   // every accept lost
        cluster.tick(1)
        let resent = cluster.mailbox.compactMap { message -> Slot? in
            if case .accept(_, let slot, _) = message.kind { return slot }
            return nil
        }
        #expect(Set(resent) == [1, 2])
        #expect(resent.count == 4, "two slots to each of two peers")
        cluster.stabilize()
        for _ in 0..<3 {
            cluster.tick(1)
            cluster.stabilize()
        }
        #expect(cluster.log(3).count == 5, "the rest follow at later heartbeats")
    }
}
