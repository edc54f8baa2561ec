import ConclaveCluster
import Testing
@testable import ConclaveConsole

/// The embedded cluster's pieces through its façade: determinism, time controls, rates from the
/// simulator's counters, breakers fed by node state, and the timer tokens that route outputs.
@Suite struct EmbeddedClusterTests {
    static let second: UInt64 = 1_000_000_000

    @Test("the same seed and the same calls give the same snapshot")
    func deterministic() throws {
        func run() throws -> ClusterSnapshot {
            let cluster = try EmbeddedCluster(seed: 5)
            cluster.advance(until: 2 * Self.second)
            _ = cluster.apply(.kill(.leader))
            _ = cluster.apply(.lockAcquire(name: "console-lock", client: 1, ttlMillis: nil))
            cluster.advance(until: 4 * Self.second)
            _ = cluster.apply(.time(.step))
            return cluster.snapshot()
        }
        let first = try run()
        #expect(first == (try run()))
        #expect(first.isPaused)
        #expect(first.lastStep != nil)
    }

    @Test("paused, advance does nothing; a step runs one event time; speeds outside 0.01…100 are refused")
    func timeControls() throws {
        let cluster = try EmbeddedCluster(seed: 3)
        cluster.advance(until: Self.second)
        #expect(cluster.apply(.time(.pause)) == .success("time paused"))
        cluster.advance(until: 2 * Self.second)
        #expect(cluster.nowNanos == Self.second)
        let next = try #require(cluster.simulator.nextEventTime)
        let shown = cluster.step()
        #expect(cluster.nowNanos == next)
        #expect(cluster.lastStep == shown)
        #expect(cluster.snapshot().events.last?.text == "step: " + shown)
        #expect(cluster.apply(.time(.speed(500))) == .failure(ControlError("speed must be in 0.01…100, got 500.0")))
        #expect(cluster.apply(.time(.faster)) == .success("speed 2×"))
        #expect(cluster.apply(.time(.resume)) == .success("time running at 2×"))
    }

    @Test("per-link rates come from the simulator's delivery counters and add up to the cluster's rate")
    func linkRatesAddUp() throws {
        let cluster = try EmbeddedCluster(seed: 7)
        cluster.advance(until: 3 * Self.second + 50_000_000)
        let snapshot = cluster.snapshot()
        let linkTotal = snapshot.links.joined().map(\.messagesPerSecond).reduce(0, +)
        #expect(snapshot.messagesPerSecond > 0)
        #expect(abs(linkTotal - snapshot.messagesPerSecond) < 1e-6 * snapshot.messagesPerSecond)
    }

    @Test("a killed node's breaker opens from its refusals while the live nodes' stay closed")
    func breakerFollowsNodeState() throws {
        let cluster = try EmbeddedCluster(seed: 3)
        cluster.advance(until: 3 * Self.second)
        let leader = try #require(cluster.snapshot().leader?.id)
        let victim: UInt64 = leader == 2 ? 3 : 2
        _ = cluster.apply(.kill(.id(victim)))
        cluster.advance(until: 6 * Self.second)
        let breakers = cluster.snapshot().breakers
        #expect(breakers[Int(victim) - 1].transitions.contains { $0.contains("closed → open") })
        for (index, breaker) in breakers.enumerated() where index != Int(victim) - 1 {
            #expect(breaker.state == .closed, "\(breaker.name): \(breaker.transitions)")
        }
    }

    @Test("timer tokens carry a client's slot and generation, or the service tick, and nothing else decodes")
    func timerTokens() {
        let client = EmbeddedTimer.client(slot: 31, generation: 0xFFFF_FFFF)
        #expect(EmbeddedTimer(token: client.token) == client)
        #expect(EmbeddedTimer(token: EmbeddedTimer.service.token) == .service)
        #expect(EmbeddedTimer(token: 42) == nil)
    }
}
