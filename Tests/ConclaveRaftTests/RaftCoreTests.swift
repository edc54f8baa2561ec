import ConclaveCore
import Testing
@testable import ConclaveRaft

@Suite struct RaftCoreTests {
    @Test("a campaign with a quorum of votes makes a leader, whose empty entry then commits")
    func electionAndEmptyEntry() {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        #expect(harness.nodes[1]!.role == .leader)
        #expect(harness.nodes[2]!.leader == 1)
        #expect(harness.nodes[1]!.committedIndex == 1)
        #expect(harness.nodes[3]!.status().commit == 1)
    }

    @Test("the vote is persisted in the same Ready as the vote response (persist before send)")
    func voteIsPersistedWithItsResponse() {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.nodes[1]!.campaign()
        harness.processReady(1)
        let request = harness.mailbox.first { $0.to == 2 }!
        harness.nodes[2]!.step(request)
        let ready = harness.nodes[2]!.ready()
        #expect(ready.messages.contains { $0.kind == .voteResponse && !$0.reject })
        #expect(ready.hardState?.vote == 1)
    }

    @Test("Figure 8: a leader does not commit an older term's entry by counting replicas")
    func leaderOnlyCommitsEntriesOfItsOwnTerm() {
        // Node 1 holds entries of term 1 that nobody else has; it is re-elected in a later term.
        // (Without CheckQuorum, so followers do not ignore the vote while they remember leader 1.)
        var harness = RaftHarness(voters: [1, 2, 3]) { $0.checkQuorum = false }
        harness.elect(1)
        harness.mailbox.removeAll()
        try! harness.nodes[1]!.propose(Array("old".utf8))
        harness.processReady(1)
        harness.mailbox.removeAll()  // the appends are lost: entry 2 (term 1) lives only on node 1
        // Node 1 restarts (losing memory, keeping disk) and wins term 2.
        var restarted = RaftConfig(id: 1)
        restarted.preVote = false
        restarted.checkQuorum = false
        harness.nodes[1] = try! Raft(config: restarted, storage: harness.storages[1]!, random: SeededGenerator(seed: 2))
        harness.nodes[1]!.campaign()
        harness.processReady(1)
        let votes = harness.mailbox.filter { $0.kind == .vote }
        harness.mailbox.removeAll()
        for request in votes {
            harness.nodes[request.to]!.step(request)
            harness.processReady(request.to)
        }
        let responses = harness.mailbox.filter { $0.kind == .voteResponse }
        harness.mailbox.removeAll()
        for response in responses { harness.nodes[1]!.step(response) }
        harness.processReady(1)
        #expect(harness.nodes[1]!.role == .leader)
        #expect(harness.nodes[1]!.term > 1)
        // Follower 2 acknowledges only entry 2 (of term 1): a majority holds it, but it must not commit.
        let appendToTwo = harness.mailbox.first { $0.kind == .append && $0.to == 2 }!
        harness.mailbox.removeAll()
        var olderOnly = appendToTwo
        olderOnly.entries = appendToTwo.entries.filter { $0.term == 1 }
        if olderOnly.entries.isEmpty {
            olderOnly.index = 1
            olderOnly.logTerm = 1
            olderOnly.entries = harness.nodes[1]!.entries(from: 2).filter { $0.term == 1 }
        }
        harness.nodes[2]!.step(olderOnly)
        harness.processReady(2)
        let ack = harness.mailbox.first { $0.kind == .appendResponse && $0.to == 1 }!
        harness.mailbox.removeAll()
        #expect(ack.index == 2)
        harness.nodes[1]!.step(ack)
        harness.processReady(1)
        #expect(harness.nodes[1]!.committedIndex == 1, "an entry of an older term committed by counting replicas")
        // Once an entry of the current term is on a majority, everything before it commits too
        // (a heartbeat resumes replication after the appends we dropped).
        harness.mailbox.removeAll()
        harness.nodes[1]!.tick()
        harness.stabilize()
        #expect(harness.nodes[1]!.committedIndex == 3)
    }

    @Test("a rejecting follower points the leader past a whole wrong term")
    func conflictHintSkipsATerm() {
        let storage = MemoryStorage(voters: [1, 2])
        // Follower log: index 1-2 term 1, index 3-9 term 2 (a stale leader's tail).
        storage.append((1...9).map { Entry(term: $0 <= 2 ? 1 : 2, index: LogIndex($0)) })
        storage.setHardState(HardState(term: 2, vote: 0, commit: 2))
        var follower = try! Raft(config: RaftConfig(id: 2), storage: storage, random: SeededGenerator(seed: 3))
        // A leader of term 3 probes at index 12 whose term it has as 3.
        follower.step(Message(kind: .append, from: 1, to: 2, term: 3, logTerm: 3, index: 12, commit: 2))
        let response = follower.ready().messages.first { $0.kind == .appendResponse }!
        #expect(response.reject)
        #expect(response.rejectHint == 9)
        #expect(response.logTerm == 2)
        // And for a probe at index 6 whose term the leader has as 1, the follower skips its term-2 run.
        follower.step(Message(kind: .append, from: 1, to: 2, term: 3, logTerm: 1, index: 6, commit: 2))
        let second = follower.ready().messages.first { $0.kind == .appendResponse }!
        #expect(second.reject)
        #expect(second.rejectHint == 2)
        #expect(second.logTerm == 1)
    }

    @Test("proposals made between two Ready batches travel in one append per follower")
    func proposalsAreBatched() {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        for number in 0..<64 { try! harness.nodes[1]!.propose(Array("p\(number)".utf8)) }
        let ready = harness.nodes[1]!.ready()
        let appends = ready.messages.filter { $0.kind == .append }
        #expect(appends.count == 2)
        #expect(appends.allSatisfy { $0.entries.count == 64 })
    }

    @Test("pipelining stops at the in-flight window and resumes as acknowledgements arrive")
    func inFlightWindowBoundsPipelining() {
        var harness = RaftHarness(voters: [1, 2]) { $0.inFlightMessagesMax = 4 }
        harness.elect(1)
        harness.mailbox.removeAll()
        for number in 0..<10 {
            try! harness.nodes[1]!.propose(Array("p\(number)".utf8))
            harness.processReady(1)
        }
        let appends = harness.mailbox.filter { $0.kind == .append && !$0.entries.isEmpty }
        #expect(appends.count == 4, "sent \(appends.count) appends with a window of 4")
        #expect(harness.nodes[1]!.status().followers.first?.inFlight == 4)
        harness.stabilize()
        #expect(harness.nodes[2]!.status().commit == harness.nodes[1]!.lastIndex)
    }

    @Test("a follower forwards proposals to its leader; with no leader a proposal is refused")
    func forwardingAndRefusal() {
        var harness = RaftHarness(voters: [1, 2, 3])
        #expect(throws: RaftError.self) { try harness.nodes[2]!.propose(Array("x".utf8)) }
        harness.elect(1)
        try! harness.nodes[2]!.propose(Array("forwarded".utf8))
        harness.stabilize()
        #expect(harness.applied[3]!.contains { $0.data == Array("forwarded".utf8) })
    }

    @Test("a leader refuses proposals past the uncommitted byte limit")
    func uncommittedLimit() {
        var harness = RaftHarness(voters: [1, 2, 3]) { $0.uncommittedBytesMax = 100 }
        harness.elect(1)
        harness.mailbox.removeAll()
        try! harness.nodes[1]!.propose([UInt8](repeating: 1, count: 80))
        #expect(throws: RaftError.self) { try harness.nodes[1]!.propose([UInt8](repeating: 1, count: 80)) }
        harness.stabilize()
        try! harness.nodes[1]!.propose([UInt8](repeating: 2, count: 80))
    }

    static func badConfig(_ setting: String) -> RaftConfig {
        var config = RaftConfig(id: 1)
        switch setting {
        case "id": config = RaftConfig(id: 0)
        case "heartbeatTicks": config.heartbeatTicks = 0
        case "electionTimeoutTicks": config.electionTimeoutTicks = 1
        case "clockDriftTicksMax":
            config.leaseReads = true
            config.clockDriftTicksMax = 8  // a lease of 10 − 8 − 1 = 1 tick lapses between heartbeats
        default: config.inFlightMessagesMax = 0
        }
        return config
    }

    @Test("bad configurations are refused with the setting named",
          arguments: ["id", "heartbeatTicks", "electionTimeoutTicks", "inFlightMessagesMax", "clockDriftTicksMax"])
    func badConfig(setting: String) {
        do {
            try Self.badConfig(setting).validate()
            Issue.record("accepted a bad \(setting)")
        } catch {
            #expect(error.description.contains(setting))
        }
    }

    @Test("the in-flight window frees in order and caps bytes too")
    func inFlightWindow() {
        var window = InFlightWindow(messagesMax: 3, bytesMax: 100)
        window.add(lastIndex: 5, bytes: 40)
        window.add(lastIndex: 9, bytes: 40)
        #expect(!window.isFull)
        window.add(lastIndex: 12, bytes: 30)
        #expect(window.isFull)
        window.free(through: 9)
        #expect(window.count == 1 && window.bytes == 30)
        window.add(lastIndex: 20, bytes: 80)
        #expect(window.isFull)  // bytes: 110 ≥ 100
    }
}

@Suite struct RaftTransferCoreTests {
    @Test("transfer to a lagging follower: the leader catches it up, then sends TimeoutNow")
    func transferToLaggingFollower() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        // Node 3 misses ten entries (appends to it are lost), though it answers heartbeats.
        for number in 0..<10 {
            try harness.nodes[1]!.propose(Array("e\(number)".utf8))
            harness.stabilize { !($0.kind == .append && $0.to == 3) }
        }
        harness.nodes[1]!.tick()
        harness.processReady(1)
        harness.mailbox.removeAll { $0.kind == .append && $0.to == 3 }
        let lagging = harness.nodes[1]!.status().followers.first { $0.node == 3 }!
        #expect(lagging.match < harness.nodes[1]!.lastIndex)
        try harness.nodes[1]!.transferLeadership(to: 3)
        #expect(throws: RaftError.self) { try harness.nodes[1]!.propose(Array("during".utf8)) }
        harness.processReady(1)
        #expect(!harness.mailbox.contains { $0.kind == .timeoutNow }, "TimeoutNow before the target caught up")
        harness.stabilize()
        #expect(harness.nodes[3]!.role == .leader)
        #expect(harness.nodes[1]!.role == .follower)
        #expect(harness.nodes[3]!.term == harness.nodes[1]!.term)
        #expect(harness.applied[3]!.contains { $0.data == Array("e9".utf8) })
    }

    @Test("a learner neither campaigns nor grants votes; a membership entry carries the whole configuration")
    func learnerAndMembershipEntry() throws {
        let entry = MembershipEntry(change: .promote(4), resulting: ConfState(voters: [1, 2, 3, 4], learners: [5]))
        #expect(MembershipEntry(decoding: entry.encoded()) == entry)
        #expect(MembershipEntry(decoding: Array(entry.encoded().dropLast())) == nil)
        var harness = RaftHarness(voters: [1, 2])
        harness.elect(1)
        try harness.nodes[1]!.proposeConfChange(.addLearner(3))
        #expect(throws: RaftError.self) { try harness.nodes[1]!.proposeConfChange(.promote(3)) }
        harness.stabilize()
        #expect(harness.nodes[1]!.learners == [3])
        var vote = Message(kind: .vote, from: 2, to: 3, term: 5, logTerm: 9, index: 99)
        vote.transfer = true
        harness.nodes[3] = nil
        let storage = MemoryStorage(voters: [1, 2])
        var learner = try Raft(config: RaftConfig(id: 3), storage: storage, random: SeededGenerator(seed: 1))
        learner.step(vote)
        #expect(learner.ready().messages.first { $0.kind == .voteResponse }?.reject == true)
        for _ in 0..<100 { learner.tick() }
        #expect(learner.role == .follower)
    }
}

@Suite struct RaftReadIndexCoreTests {
    @Test("reads queued between two Ready batches share one heartbeat round, and all are confirmed")
    func readsShareOneRound() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        for context in 1...64 { try harness.nodes[1]!.readIndex(context: UInt64(context)) }
        let ready = harness.nodes[1]!.ready()
        #expect(ready.messages.filter { $0.kind == .heartbeat }.count == 2)
        harness.mailbox.append(contentsOf: ready.messages)
        harness.nodes[1]!.advance(ready)
        var confirmed: [ReadState] = []
        while !harness.mailbox.isEmpty {
            let batch = harness.mailbox
            harness.mailbox.removeAll()
            for message in batch {
                harness.nodes[message.to]!.step(message)
                let ready = harness.nodes[message.to]!.ready()
                if message.to == 1 { confirmed += ready.readStates }
                harness.mailbox.append(contentsOf: ready.messages)
                harness.nodes[message.to]!.advance(ready)
            }
        }
        #expect(confirmed.map(\.context) == (1...64).map(UInt64.init))
        #expect(confirmed.allSatisfy { $0.index == harness.nodes[1]!.committedIndex })
    }

    @Test("lease reads answer at once, without a heartbeat round, once a quorum answered a heartbeat; they require CheckQuorum")
    func leaseReads() throws {
        var harness = RaftHarness(voters: [1, 2, 3]) { $0.leaseReads = true }
        harness.elect(1)
        harness.nodes[1]!.tick()
        harness.stabilize()
        try harness.nodes[1]!.readIndex(context: 9)
        let ready = harness.nodes[1]!.ready()
        #expect(ready.readStates == [ReadState(index: harness.nodes[1]!.committedIndex, context: 9)])
        #expect(!ready.messages.contains { $0.kind == .heartbeat })
        var config = RaftConfig(id: 1)
        config.leaseReads = true
        config.checkQuorum = false
        #expect(throws: RaftError.self) { try config.validate() }
    }

    @Test("a new leader holds reads until it has committed an entry of its own term")
    func readsWaitForFirstCommit() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.nodes[1]!.campaign()
        harness.stabilize { $0.kind != .appendResponse }  // elected, but its empty entry not committed
        #expect(harness.nodes[1]!.role == .leader)
        try harness.nodes[1]!.readIndex(context: 5)
        #expect(harness.nodes[1]!.ready().readStates.isEmpty)
        #expect(harness.nodes[1]!.status().readsPending == 1)
    }
}

@Suite struct RaftSnapshotCoreTests {
    @Test("survivors that were mid-snapshot when their leader died still elect a leader")
    func midSnapshotSurvivorsCampaign() {
        var harness = RaftHarness(voters: [1, 2, 3], preVote: true)
        harness.elect(1)
        // Leader 1 starts sending a three-chunk snapshot to both followers, then dies.
        let chunk = SnapshotChunk(index: 50, term: 1, voters: [1, 2, 3], learners: [], offset: 0, totalBytes: 30,
                                  data: [UInt8](repeating: 7, count: 10))
        for follower: NodeID in [2, 3] {
            harness.nodes[follower]!.step(Message(kind: .snapshot, from: 1, to: follower, term: 1, chunk: chunk))
        }
        harness.nodes[1] = nil
        harness.mailbox.removeAll()
        for _ in 0..<100 where harness.nodes.values.allSatisfy({ $0.role != .leader }) {
            for survivor: NodeID in [2, 3] { harness.nodes[survivor]!.tick() }
            harness.stabilize { $0.to != 1 }
        }
        let leaders = harness.nodes.values.filter { $0.role == .leader }
        #expect(leaders.count == 1, "no leader elected among survivors that were mid-snapshot")
        #expect(leaders.first.map { $0.term > 1 } == true)
    }
}

@Suite struct RaftMembershipCoreTests {
    @Test("a new leader proposes no membership change until an entry of its own term commits")
    func noChangeBeforeFirstCommit() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.nodes[1]!.campaign()
        harness.stabilize { $0.kind != .appendResponse }  // elected; its empty entry not yet committed
        #expect(harness.nodes[1]!.role == .leader)
        #expect(harness.nodes[1]!.committedIndex == 0)
        do {
            try harness.nodes[1]!.proposeConfChange(.addLearner(4))
            Issue.record("a membership change was accepted before the leader's first commit")
        } catch {
            #expect(error.description.contains("term"), "\(error)")
        }
        harness.nodes[1]!.tick()  // a heartbeat brings the acknowledgements back
        harness.stabilize()
        #expect(harness.nodes[1]!.committedIndex == 1)
        try harness.nodes[1]!.proposeConfChange(.addLearner(4))
    }

    @Test("a membership entry holds at most 255 voters and 255 learners: one more is refused, not truncated")
    func memberCountLimit() throws {
        let storage = MemoryStorage(voters: [1])
        storage.applySnapshot(Snapshot(index: 1, term: 1, voters: [1], learners: (2...256).map { NodeID($0) }))
        var config = RaftConfig(id: 1)
        config.applied = 1
        var leader = try Raft(config: config, storage: storage, random: SeededGenerator(seed: 4))
        leader.campaign()
        while leader.hasReady {
            let ready = leader.ready()
            storage.append(ready.entries)
            leader.advance(ready)
        }
        #expect(leader.role == .leader && leader.committedIndex == 2)
        #expect(leader.learners.count == 255)
        do {
            try leader.proposeConfChange(.addLearner(999))
            Issue.record("a 256th learner was accepted")
        } catch {
            #expect(error.description.contains("255"), "\(error)")
        }
        try leader.proposeConfChange(.remove(256))
        let encoded = MembershipEntry(change: .remove(256), resulting: leader.confState.applying(.remove(256))).encoded()
        #expect(MembershipEntry(decoding: encoded)?.resulting.learners.count == 254)
    }
}

@Suite struct RaftReadRoundTests {
    @Test("a read whose context is 0 is confirmed like any other")
    func contextZero() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        try harness.nodes[1]!.readIndex(context: 0)
        harness.stabilize()
        #expect(harness.readStates[1] == [ReadState(index: 1, context: 0)])
    }

    @Test("a late acknowledgement of an earlier round never confirms a read queued after it, whatever the contexts")
    func staleAcknowledgementOfSameContext() throws {
        var harness = RaftHarness(voters: [1, 2, 3])
        harness.elect(1)
        harness.mailbox.removeAll()
        // Follower 2 asks with context 7; the leader's heartbeat round goes out to 2 and 3.
        try harness.nodes[2]!.readIndex(context: 7)
        harness.processReady(2)
        harness.deliver { $0.kind == .readIndex }
        harness.deliver { $0.kind == .heartbeat }
        // Node 2's answer confirms its read; node 3's answer to the same round is held back.
        harness.deliver { $0.kind == .heartbeatResponse && $0.from == 2 }
        harness.deliver { $0.kind == .readIndexResponse }
        #expect(harness.readStates[2]?.map(\.context) == [7])
        // The leader's own read, also context 7: its round is lost on the way.
        try harness.nodes[1]!.readIndex(context: 7)
        harness.processReady(1)
        harness.mailbox.removeAll { $0.kind == .heartbeat }
        // Node 3's late answer predates this read: it must not confirm it.
        harness.deliver { $0.kind == .heartbeatResponse && $0.from == 3 }
        #expect(harness.readStates[1, default: []].isEmpty, "a read confirmed by an acknowledgement older than the read")
        harness.nodes[1]!.tick()
        harness.stabilize()
        #expect(harness.readStates[1] == [ReadState(index: 1, context: 7)])
    }
}

@Suite struct RaftLeaseTests {
    /// Three voters with lease reads; the lease is 10 − 2 − 1 = 7 ticks.
    static func cluster() -> RaftHarness {
        var harness = RaftHarness(voters: [1, 2, 3]) {
            $0.leaseReads = true
            $0.clockDriftTicksMax = 2
        }
        harness.elect(1)
        return harness
    }

    /// Asks the leader for a read and reports whether it was answered at once (by the lease).
    static func answeredAtOnce(_ harness: inout RaftHarness, context: UInt64) throws -> Bool {
        try harness.nodes[1]!.readIndex(context: context)
        let ready = harness.nodes[1]!.ready()
        harness.mailbox.append(contentsOf: ready.messages)
        harness.nodes[1]!.advance(ready)
        return ready.readStates.contains { $0.context == context }
    }

    @Test("the lease runs electionTimeout − drift − 1 ticks from the newest heartbeat a quorum answered, then reads take a round")
    func leaseExpiresWithoutAcknowledgements() throws {
        var harness = Self.cluster()
        harness.nodes[1]!.tick()
        harness.stabilize()
        var atOnce: [Bool] = []
        for context in 1...9 as ClosedRange<UInt64> {
            atOnce.append(try Self.answeredAtOnce(&harness, context: context))
            harness.nodes[1]!.tick()
            harness.mailbox.removeAll()  // the followers are cut off: nothing comes back
        }
        #expect(harness.nodes[1]!.role == .leader)
        #expect(atOnce == [true, true, true, true, true, true, true, false, false])
        #expect(harness.nodes[1]!.status().readsPending == 2)
    }

    @Test("the lease counts from when the answered heartbeat was sent, not from when its answer arrived")
    func leaseCountsFromTheSend() throws {
        for (ticksInFlight, expected) in [(3, true), (7, false)] {
            var harness = Self.cluster()
            harness.mailbox.removeAll()
            harness.nodes[1]!.tick()
            harness.processReady(1)
            harness.deliver { $0.kind == .heartbeat }
            let answers = harness.mailbox
            harness.mailbox.removeAll()
            for _ in 0..<ticksInFlight {
                harness.nodes[1]!.tick()
                harness.processReady(1)
                harness.mailbox.removeAll()
            }
            harness.mailbox = answers
            harness.deliver { _ in true }
            #expect(try Self.answeredAtOnce(&harness, context: 1) == expected, "answers \(ticksInFlight) ticks late")
        }
    }

    @Test("no lease read while a transfer is pending, nor for the rest of the term once one was started")
    func noLeaseAroundTransfers() throws {
        var harness = Self.cluster()
        harness.nodes[1]!.tick()
        harness.stabilize()
        #expect(try Self.answeredAtOnce(&harness, context: 1))
        // Node 3 is cut off, so the transfer to it stays pending until it aborts.
        let cutOff = { (message: Message) in message.to != 3 && message.from != 3 }
        try harness.nodes[1]!.transferLeadership(to: 3)
        #expect(try !Self.answeredAtOnce(&harness, context: 2), "a lease read during a transfer")
        for _ in 0..<10 {
            harness.nodes[1]!.tick()
            harness.stabilize(filter: cutOff)
        }
        #expect(harness.nodes[1]!.leadTransferee == noNode && harness.nodes[1]!.role == .leader)
        #expect(harness.readStates[1]?.map(\.context) == [2], "the pending read was confirmed by a round")
        #expect(try !Self.answeredAtOnce(&harness, context: 3), "a lease read after an aborted transfer")
        harness.stabilize(filter: cutOff)
        #expect(harness.readStates[1]?.map(\.context) == [2, 3])
    }

    @Test("with lease reads, a restarted voter grants no vote for an election timeout")
    func restartedVoterHonoursTheLease() throws {
        let storage = MemoryStorage(voters: [1, 2, 3])
        storage.setHardState(HardState(term: 4, vote: 1, commit: 0))
        var config = RaftConfig(id: 2)
        config.leaseReads = true
        var voter = try Raft(config: config, storage: storage, random: SeededGenerator(seed: 5))
        let request = Message(kind: .preVote, from: 3, to: 2, term: 5, logTerm: 0, index: 0)
        let granted = { (voter: inout Raft) -> Bool in
            voter.step(request)
            return voter.ready().messages.contains { $0.kind == .preVoteResponse && !$0.reject }
        }
        let atRestart = granted(&voter)
        for _ in 0..<config.electionTimeoutTicks - 1 { voter.tick() }
        let beforeTimeout = granted(&voter)
        voter.tick()
        let afterTimeout = granted(&voter)
        #expect(!atRestart, "a pre-vote granted right after a restart")
        #expect(!beforeTimeout && afterTimeout)
    }
}
