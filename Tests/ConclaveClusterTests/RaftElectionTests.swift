import ConclaveCore
import Testing
@testable import ConclaveCluster

@Suite struct RaftElectionTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5]

    @Test("a new cluster elects one leader and keeps it while nothing fails", arguments: seeds)
    func initialElection(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: seed)
        let leader = try #require(cluster.checkOneLeader(), "\(cluster.replay)")
        let term = try #require(cluster.agreedTerm(), "\(cluster.replay)")
        #expect(term >= 1)
        cluster.simulator.run(for: 2 * TestCluster.second)
        #expect(cluster.agreedTerm() == term, "term changed with no failure; \(cluster.replay)")
        #expect(cluster.checkOneLeader() == leader)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("a lost leader is replaced; with no quorum nobody leads; a quorum back elects again", arguments: seeds)
    func reElection(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: seed)
        let first = try #require(cluster.checkOneLeader())
        cluster.inject(.crash(first))
        let second = try #require(cluster.checkOneLeader(), "no new leader; \(cluster.replay)")
        #expect(second != first)
        cluster.inject(.restart(first))
        let third = try #require(cluster.checkOneLeader())
        cluster.inject(.crash(third))
        let others = cluster.simulator.nodeIDs.filter { $0 != third }
        cluster.inject(.crash(others[0]))
        cluster.simulator.run(for: 2 * TestCluster.second)
        #expect(cluster.liveLeaders.isEmpty, "a leader without a quorum; \(cluster.replay)")
        cluster.inject(.restart(others[0]))
        #expect(cluster.checkOneLeader() != nil, "\(cluster.replay)")
        cluster.inject(.restart(third))
        #expect(cluster.checkOneLeader() != nil)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("many elections: seven nodes, three crashed at a time, always one leader", arguments: seeds)
    func manyElections(seed: UInt64) throws {
        let cluster = TestCluster(nodes: 7, seed: seed)
        _ = try #require(cluster.checkOneLeader())
        var random = SeededGenerator(seed: seed, stream: 99)
        for _ in 0..<10 {
            let victims = Array(cluster.simulator.nodeIDs.shuffled(using: &random).prefix(3))
            for node in victims { cluster.inject(.crash(node)) }
            #expect(cluster.checkOneLeader() != nil, "\(cluster.replay)")
            for node in victims { cluster.inject(.restart(node)) }
        }
        #expect(cluster.checkOneLeader() != nil)
        #expect(cluster.simulator.monitor.isSafe, "\(cluster.simulator.monitor.violations)")
    }

    @Test("PreVote keeps a partitioned node from inflating terms and deposing the leader")
    func preVoteStopsTermInflation() throws {
        let cluster = TestCluster(nodes: 5, seed: 11)
        let leader = try #require(cluster.checkOneLeader())
        let term = cluster.simulator.term(of: leader)
        let follower = cluster.simulator.nodeIDs.first { $0 != leader }!
        cluster.isolate(follower)
        cluster.simulator.run(for: 5 * TestCluster.second)
        #expect(cluster.simulator.term(of: follower) == term, "the isolated node raised its term; \(cluster.replay)")
        cluster.inject(.heal)
        cluster.simulator.run(for: 2 * TestCluster.second)
        #expect(cluster.simulator.leader == leader)
        #expect(cluster.simulator.term(of: leader) == term, "the returning node deposed the leader")
    }

    @Test("without PreVote the same partition does inflate terms (the test can fail)")
    func withoutPreVoteTermsInflate() throws {
        let cluster = TestCluster(nodes: 5, seed: 11, preVote: false)
        let leader = try #require(cluster.checkOneLeader())
        let term = cluster.simulator.term(of: leader)
        let follower = cluster.simulator.nodeIDs.first { $0 != leader }!
        cluster.isolate(follower)
        cluster.simulator.run(for: 5 * TestCluster.second)
        #expect(cluster.simulator.term(of: follower) > term + 5)
    }

    @Test("CheckQuorum deposes an isolated leader within two election timeouts")
    func checkQuorumDeposesIsolatedLeader() throws {
        let cluster = TestCluster(nodes: 5, seed: 21)
        let leader = try #require(cluster.checkOneLeader())
        cluster.isolate(leader)
        // Election timeout is 10 ticks of 10 ms: two timeouts are 200 ms; allow a tick of slack.
        cluster.simulator.run(for: 210 * TestCluster.millis)
        #expect(cluster.simulator.raft(of: leader)?.role != .leader, "\(cluster.replay)")
        let other = try #require(cluster.checkOneLeader())
        #expect(other != leader)
    }

    @Test("without CheckQuorum an isolated leader keeps believing it leads")
    func withoutCheckQuorumIsolatedLeaderStays() throws {
        let cluster = TestCluster(nodes: 5, seed: 21, checkQuorum: false)
        let leader = try #require(cluster.checkOneLeader())
        cluster.isolate(leader)
        cluster.simulator.run(for: 2 * TestCluster.second)
        #expect(cluster.simulator.raft(of: leader)?.role == .leader)
    }
}
