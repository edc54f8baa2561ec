import ConclaveCore
import ConclaveCoordination
import ConclaveRaft
import Testing
@testable import ConclaveCluster

/// ReadIndex, leader transfer and membership change, on the simulator.
@Suite struct RaftOperationsTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// Submits a request to `node` and runs until its answer arrives (or 3 virtual seconds pass).
    static func ask(_ cluster: TestCluster, _ request: KVRequest, at node: NodeID) -> KVResult? {
        guard case .accepted = cluster.simulator.submit(request, to: node) else { return nil }
        let deadline = cluster.simulator.now + 3 * TestCluster.second
        while let output = cluster.simulator.nextOutput(until: deadline) {
            if case .reply(_, let applied) = output, applied.client == request.client, applied.sequence == request.sequence {
                return applied.result
            }
        }
        return nil
    }

    @Test("ReadIndex serves gets on leader and followers without growing the log", arguments: seeds)
    func readIndexAddsNoEntries(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        #expect(Self.ask(cluster, KVRequest(client: 1, sequence: 1, command: .put(key: "x", value: "1")), at: leader) != nil)
        let lastIndex = cluster.simulator.raft(of: leader)!.lastIndex
        for (sequence, node) in cluster.simulator.nodeIDs.enumerated() {
            let answer = Self.ask(cluster, KVRequest(client: 2, sequence: UInt64(sequence + 1), command: .get(key: "x")), at: node)
            #expect(answer == .value("1"), "node \(node); \(cluster.replay)")
        }
        #expect(cluster.simulator.raft(of: leader)!.lastIndex == lastIndex, "reads appended to the log")
    }

    @Test("a deposed leader cannot serve a stale ReadIndex read")
    func staleLeaderCannotRead() throws {
        let cluster = TestCluster(nodes: 5, seed: 4)
        let old = try #require(cluster.checkOneLeader())
        #expect(Self.ask(cluster, KVRequest(client: 1, sequence: 1, command: .put(key: "x", value: "old")), at: old) != nil)
        cluster.isolate(old)
        let new = try #require(cluster.checkOneLeader())
        #expect(new != old)
        #expect(Self.ask(cluster, KVRequest(client: 1, sequence: 2, command: .put(key: "x", value: "new")), at: new) != nil)
        // The old leader may still think it leads for a moment; its read must not answer "old".
        let answer = Self.ask(cluster, KVRequest(client: 2, sequence: 1, command: .get(key: "x")), at: old)
        #expect(answer != .value("old"))
    }

    /// The GC-pause case: a cut-off leader paused with a fresh lease must not, on waking, serve a
    /// read it queued while paused before its clock has caught up with the time that passed.
    @Test("with lease reads, a leader paused past its lease does not serve a stale read when it wakes")
    func pausedLeaseHolderCannotRead() throws {
        let cluster = TestCluster(nodes: 5, seed: 4) { $0.leaseReads = true }
        let old = try #require(cluster.checkOneLeader())
        #expect(Self.ask(cluster, KVRequest(client: 1, sequence: 1, command: .put(key: "x", value: "old")), at: old) != nil)
        cluster.isolate(old)
        cluster.inject(.pause(old, millis: 1_000))
        let new = try #require(cluster.checkOneLeader())
        #expect(new != old)
        #expect(Self.ask(cluster, KVRequest(client: 1, sequence: 2, command: .put(key: "x", value: "new")), at: new) != nil)
        let answer = Self.ask(cluster, KVRequest(client: 2, sequence: 1, command: .get(key: "x")), at: old)
        #expect(answer != .value("old"), "\(cluster.replay)")
    }

    @Test("leader transfer under load, end to end: the target leads and the cluster goes on", arguments: seeds)
    func transferUnderLoad(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        let target = cluster.simulator.nodeIDs.first { $0 != leader }!
        for number in 0..<20 { _ = cluster.simulator.propose(Array("load \(number)".utf8), at: leader) }
        try cluster.simulator.transferLeadership(to: target)
        #expect(cluster.simulator.run(untilTrue: { $0.leader == target }, timeoutNanos: TestCluster.second), "\(cluster.replay)")
        _ = try #require(cluster.one("after transfer", expectedNodes: 3))
        #expect(cluster.logsAgree())
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("a transfer to a partitioned node aborts after an election timeout; the leader resumes")
    func transferAbortedDuringPartition() throws {
        let cluster = TestCluster(nodes: 5, seed: 6)
        let leader = try #require(cluster.checkOneLeader())
        let target = cluster.simulator.nodeIDs.first { $0 != leader }!
        try cluster.simulator.transferLeadership(to: target)
        cluster.isolate(target)
        #expect(cluster.simulator.status(of: leader).raft?.leadTransferee == target)
        #expect(!cluster.simulator.propose(Array("during".utf8), at: leader), "proposals must wait during a transfer")
        cluster.simulator.run(for: 150 * TestCluster.millis)
        #expect(cluster.simulator.status(of: leader).raft?.leadTransferee == noNode, "transfer never aborted")
        #expect(cluster.simulator.leader == leader)
        _ = try #require(cluster.one("after abort", expectedNodes: 4))
    }

    @Test("refused transfers: to itself, a learner, an unknown or a silent node; the cluster is unchanged")
    func badTransfers() throws {
        let cluster = TestCluster(nodes: 3, seed: 7)
        let leader = try #require(cluster.checkOneLeader())
        let learner = try cluster.simulator.addNode()
        try cluster.simulator.changeMembership(.addLearner(learner))
        cluster.simulator.run(for: 200 * TestCluster.millis)
        let follower = cluster.simulator.nodeIDs.first { $0 != leader && $0 != learner }!
        cluster.inject(.crash(follower))
        cluster.simulator.run(for: 500 * TestCluster.millis)
        for (target, reason) in [(leader, "already leads"), (learner, "learner"), (follower, "has not answered")] {
            do {
                try cluster.simulator.transferLeadership(to: target)
                Issue.record("transfer to \(target) accepted")
            } catch {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
        #expect(throws: SimulationError.self) { try cluster.simulator.transferLeadership(to: 99) }
        #expect(cluster.simulator.leader == leader)
    }

    @Test("grow 3 → 5 under load: learners catch up (by snapshot), are promoted, and then vote", arguments: seeds)
    func grow(seed: UInt64) throws {
        let cluster = RaftSnapshotTests.cluster(nodes: 3, seed: seed)
        try RaftSnapshotTests.write(cluster, 120, prefix: "a", expectedNodes: 3)
        for _ in 0..<2 {
            let node = try cluster.simulator.addNode()
            try cluster.simulator.changeMembership(.addLearner(node))
            try RaftSnapshotTests.write(cluster, 10, prefix: "g\(node)", expectedNodes: 3)
            #expect(cluster.simulator.run(untilTrue: { simulator in
                guard let progress = simulator.replicationProgress(of: node) else { return false }
                return progress.match == progress.last
            }, timeoutNanos: 3 * TestCluster.second), "learner \(node) never caught up; \(cluster.replay)")
            try cluster.simulator.changeMembership(.promote(node))
            cluster.simulator.run(for: 100 * TestCluster.millis)
        }
        #expect(cluster.simulator.membership?.voters.count == 5)
        #expect(cluster.simulator.statistics.snapshotsInstalled >= 2)
        // With five voters, two crashed nodes leave a quorum.
        let leader = try #require(cluster.checkOneLeader())
        let others = cluster.simulator.nodeIDs.filter { $0 != leader }
        cluster.inject(.crash(others[0]))
        cluster.inject(.crash(others[1]))
        _ = try #require(cluster.one("five voters", expectedNodes: 3), "\(cluster.replay)")
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("shrink 5 → 3 under load, removing the leader itself; it steps down and never returns", arguments: seeds)
    func shrinkRemovingLeader(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 5, seed: seed)
        let leader = try #require(cluster.checkOneLeader())
        _ = try #require(cluster.one("before", expectedNodes: 5))
        let follower = cluster.simulator.nodeIDs.first { $0 != leader }!
        try cluster.simulator.changeMembership(.remove(follower))
        _ = try #require(cluster.one("after first removal", expectedNodes: 4))
        try cluster.simulator.changeMembership(.remove(leader))
        #expect(cluster.simulator.run(untilTrue: { $0.leader != nil && $0.leader != leader }, timeoutNanos: 3 * TestCluster.second),
                "\(cluster.replay)")
        _ = try #require(cluster.one("after leader removal", expectedNodes: 3))
        #expect(cluster.simulator.membership?.voters.count == 3)
        #expect(cluster.simulator.raft(of: leader)?.role == .follower)
        cluster.simulator.run(for: 3 * TestCluster.second)
        #expect(cluster.simulator.raft(of: leader)?.role == .follower, "a removed node campaigned")
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("a removed node with a higher term does not depose anyone")
    func removedNodeCannotDisrupt() throws {
        let cluster = TestCluster(nodes: 5, seed: 8, preVote: false)
        let leader = try #require(cluster.checkOneLeader())
        let removed = cluster.simulator.nodeIDs.first { $0 != leader }!
        // Cut the node off first so it never learns of its removal, and let its term run up.
        cluster.isolate(removed)
        try cluster.simulator.changeMembership(.remove(removed))
        _ = try #require(cluster.one("removed", expectedNodes: 4))
        cluster.simulator.run(for: 3 * TestCluster.second)
        #expect(cluster.simulator.term(of: removed) > cluster.simulator.term(of: leader))
        let term = cluster.simulator.term(of: leader)
        cluster.inject(.heal)
        cluster.simulator.run(for: 3 * TestCluster.second)
        #expect(cluster.simulator.leader == leader, "\(cluster.replay)")
        #expect(cluster.simulator.term(of: leader) == term, "the removed node's term deposed the leader")
    }

    @Test("learners never vote: a learner majority cannot elect anyone")
    func learnersNeverVote() throws {
        let cluster = TestCluster(nodes: 1, seed: 9)
        let leader = try #require(cluster.checkOneLeader())
        var learners: [NodeID] = []
        for _ in 0..<2 {
            let node = try cluster.simulator.addNode()
            try cluster.simulator.changeMembership(.addLearner(node))
            cluster.simulator.run(for: 300 * TestCluster.millis)
            learners.append(node)
        }
        #expect(cluster.simulator.membership == ConfState(voters: [leader], learners: learners))
        cluster.inject(.crash(leader))
        cluster.simulator.run(for: 3 * TestCluster.second)
        #expect(cluster.simulator.leaders.isEmpty)
        for learner in learners {
            #expect(cluster.simulator.raft(of: learner)?.vote == noNode, "learner \(learner) voted")
            #expect(cluster.simulator.raft(of: learner)?.role == .follower)
        }
    }

    @Test("refused membership changes leave the cluster unchanged")
    func badMembershipChanges() throws {
        let cluster = TestCluster(nodes: 3, seed: 10)
        let leader = try #require(cluster.checkOneLeader())
        let before = cluster.simulator.membership
        let cases: [(ConfChange, String)] = [
            (.addLearner(leader), "already a voter"), (.promote(leader), "already a voter"),
            (.promote(42), "not a learner"), (.remove(42), "not a member"), (.addLearner(0), "node 0"),
        ]
        for (change, reason) in cases {
            do {
                try cluster.simulator.changeMembership(change)
                Issue.record("\(change) accepted")
            } catch {
                #expect(error.description.contains(reason), "\(change): \(error)")
            }
        }
        // Removing a voter while another is down would leave too few responsive voters.
        let others = cluster.simulator.nodeIDs.filter { $0 != leader }
        cluster.inject(.crash(others[0]))
        cluster.simulator.run(for: 500 * TestCluster.millis)
        #expect(throws: SimulationError.self) { try cluster.simulator.changeMembership(.remove(others[1])) }
        // One change at a time.
        let node = try cluster.simulator.addNode()
        try cluster.simulator.changeMembership(.addLearner(node))
        #expect(throws: SimulationError.self) { try cluster.simulator.changeMembership(.promote(node)) }
        cluster.simulator.run(for: 300 * TestCluster.millis)
        #expect(cluster.simulator.membership?.voters == before?.voters)
    }
}
