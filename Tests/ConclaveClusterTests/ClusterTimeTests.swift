import ConclaveCoordination
import ConclaveCore
import Testing
@testable import ConclaveCluster

/// Cluster time on the simulator: moved by what a quorum of clocks agree on, so one bad clock —
/// the leader's included — cannot make leases run out early.
@Suite struct ClusterTimeTests {
    static let second = TestCluster.second

    /// Cluster time (as the leader applied it) gained over `nanos` of true time.
    static func clusterMillisGained(_ cluster: TestCluster, over nanos: UInt64, leader: NodeID) -> UInt64 {
        let before = cluster.simulator.coordination(of: leader).nowMillis
        cluster.simulator.run(for: nanos)
        let after = cluster.simulator.nodeIDs.filter { cluster.simulator.isUp($0) }
            .map { cluster.simulator.coordination(of: $0).nowMillis }.max() ?? 0
        return after - before
    }

    @Test("healthy clocks: cluster time keeps within 2% of true time", arguments: [3, 5] as [Int])
    func healthy(nodes: Int) throws {
        let cluster = TestCluster(nodes: nodes, seed: 11)
        let leader = try #require(cluster.checkOneLeader(), "\(cluster.replay)")
        let gained = Self.clusterMillisGained(cluster, over: 20 * Self.second, leader: leader)
        #expect(gained <= 20_000 && gained >= 19_600, "gained \(gained) ms in 20 s; \(cluster.replay)")
    }

    @Test("the leader's clock at 2000‰ (or 10,000‰) cannot make cluster time outrun true time",
          arguments: [2_000, 10_000] as [UInt64])
    func fastLeader(rate: UInt64) throws {
        let cluster = TestCluster(nodes: 3, seed: 12)
        let leader = try #require(cluster.checkOneLeader(), "\(cluster.replay)")
        try cluster.simulator.inject(.skew(leader, offsetMillis: 5_000, ratePermille: rate))
        let gained = Self.clusterMillisGained(cluster, over: 20 * Self.second, leader: leader)
        // Jitter: the quorum's windows differ by the spread of one-way delays (2.5 ms here) per
        // ~100 ms step, and with one fast clock the larger of two correct ones is taken.
        #expect(gained <= 20_300 && gained >= 18_000, "gained \(gained) ms in 20 s; \(cluster.replay)")
    }

    @Test("a minority of followers at 10,000‰ changes nothing; a slow leader only slows cluster time")
    func fastFollowersSlowLeader() throws {
        let cluster = TestCluster(nodes: 5, seed: 13)
        let leader = try #require(cluster.checkOneLeader(), "\(cluster.replay)")
        let followers = cluster.simulator.nodeIDs.filter { $0 != leader }
        for follower in followers.prefix(2) {
            try cluster.simulator.inject(.skew(follower, offsetMillis: -3_000, ratePermille: 10_000))
        }
        let gained = Self.clusterMillisGained(cluster, over: 10 * Self.second, leader: leader)
        #expect(gained <= 10_000 && gained >= 9_500, "gained \(gained) ms in 10 s; \(cluster.replay)")
        try cluster.simulator.inject(.skew(leader, offsetMillis: 0, ratePermille: 500))
        let slowed = Self.clusterMillisGained(cluster, over: 10 * Self.second, leader: leader)
        #expect(slowed <= 10_000, "gained \(slowed) ms in 10 s under a slow leader; \(cluster.replay)")
    }

    @Test("a session outlives its TTL in true time while the leader's clock runs at 2000‰")
    func leaseUnderFastLeader() throws {
        let cluster = TestCluster(nodes: 3, seed: 14)
        let simulator = cluster.simulator
        let leader = try #require(cluster.checkOneLeader(), "\(cluster.replay)")
        try simulator.inject(.skew(leader, offsetMillis: 0, ratePermille: 2_000))
        simulator.run(for: Self.second)
        let opened = simulator.now
        #expect(simulator.submit(CoordinationRequest(client: 7, sequence: 1, command: .openSession(ttlMillis: 2_000)), to: leader) == .accepted)
        let open = simulator.run(untilTrue: { $0.coordination(of: leader).sessions.contains(7) }, timeoutNanos: Self.second)
        #expect(open, "\(cluster.replay)")
        // Half the TTL in true time is where the old leader-clock rule let it lapse.
        let lapsed = simulator.run(untilTrue: { !$0.coordination(of: leader).sessions.contains(7) }, timeoutNanos: 5 * Self.second)
        #expect(lapsed, "the session never expired; \(cluster.replay)")
        // At most one clock step (100 ms) early, as with any clock, plus the jitter allowance.
        #expect(simulator.now - opened >= 1_880_000_000, "expired after \((simulator.now - opened) / 1_000_000) ms of true time; \(cluster.replay)")
    }
}
