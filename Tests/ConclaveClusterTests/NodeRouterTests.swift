import ConclaveCore
import ConclaveResilience
import Testing
@testable import ConclaveCluster

@Suite struct NodeRouterTests {
    static let ms: UInt64 = 1_000_000

    static func router(nodes: Int = 3, slowMillis: UInt64 = 100) throws -> NodeRouter {
        let breaker = CircuitBreakerConfiguration(
            window: .countBased(calls: 10), minimumCalls: 4, failureRateThresholdPercent: 50,
            slowCallRateThresholdPercent: 50, slowCallDurationNanos: slowMillis * ms, waitInOpenNanos: 500 * ms,
            halfOpenProbes: 1, failureBurst: .init(failures: 3, withinNanos: 1_000 * ms))
        return try NodeRouter(nodes: (1...nodes).map { NodeID($0) }, configuration: .init(breaker: breaker, maxTries: nodes),
                              random: SeededGenerator(seed: 9), nowNanos: 0)
    }

    static func route(_ router: NodeRouterSnapshot, _ node: NodeID) -> NodeRouterSnapshot.Route? {
        router.routes.first { $0.node == node }
    }

    @Test("failures on one node open its breaker, with the reason, and calls go elsewhere")
    func failuresOpenTheBreaker() throws {
        var router = try Self.router()
        for step in 0..<3 {
            #expect(router.begin(caller: 0, preferred: 2, nowNanos: UInt64(step) * Self.ms) == 2)
            router.record(caller: 0, .failure, nowNanos: UInt64(step) * Self.ms + 1)
        }
        let snapshot = router.snapshot(atNanos: 10 * Self.ms)
        #expect(Self.route(snapshot, 2)?.breaker.state == .open)
        #expect(snapshot.transitions.map(\.node) == [2])
        #expect(snapshot.transitions.first?.transition.reason == .failureBurst(failures: 3, withinNanos: 1_000 * Self.ms))
        let picked = router.begin(caller: 0, preferred: 2, nowNanos: 10 * Self.ms)
        #expect(picked != nil && picked != 2, "an open breaker is skipped")
        #expect(Self.route(router.snapshot(atNanos: 10 * Self.ms), 2)?.picks == 3)
    }

    @Test("after a failure the caller walks a shuffled order that tries every node once before reshuffling")
    func retryOrderCoversEveryNode() throws {
        var router = try Self.router(nodes: 5)
        var seen: [NodeID] = []
        for _ in 0..<5 { seen.append(router.next(caller: 3)) }
        #expect(Set(seen) == Set((1...5).map { NodeID($0) }))
        var orders: Set<[NodeID]> = []
        for _ in 0..<20 { orders.insert((0..<5).map { _ in router.next(caller: 3) }) }
        #expect(orders.count > 1, "each order is a fresh shuffle")
    }

    @Test("every breaker open: no node is offered until the wait in open passes, then one probe goes")
    func allOpenWaits() throws {
        var router = try Self.router(nodes: 2)
        for node in [NodeID(1), 2] { router.operate(node, .forceOpen, nowNanos: 0) }
        #expect(router.begin(caller: 0, preferred: 1, nowNanos: 0) == nil)
        router.operate(1, .reset, nowNanos: 1)
        #expect(router.begin(caller: 0, preferred: 2, nowNanos: 2) == 1)

        var tripped = try Self.router(nodes: 1)
        for step in 0..<3 {
            _ = tripped.begin(caller: 0, preferred: 1, nowNanos: UInt64(step))
            tripped.record(caller: 0, .failure, nowNanos: UInt64(step))
        }
        #expect(tripped.begin(caller: 0, preferred: 1, nowNanos: 499 * Self.ms) == nil)
        #expect(tripped.begin(caller: 0, preferred: 1, nowNanos: 503 * Self.ms) == 1, "probe")
        #expect(Self.route(tripped.snapshot(atNanos: 503 * Self.ms), 1)?.breaker.state == .halfOpen)
    }

    @Test("slow answers count as slow calls and open the breaker on the slow-call rate")
    func slowCalls() throws {
        var router = try Self.router(slowMillis: 100)
        var now: UInt64 = 0
        for _ in 0..<4 {
            #expect(router.begin(caller: 1, preferred: 3, nowNanos: now) == 3)
            now += 150 * Self.ms
            router.record(caller: 1, .success, from: 3, nowNanos: now)
        }
        let breaker = try #require(Self.route(router.snapshot(atNanos: now), 3)?.breaker)
        #expect(breaker.state == .open)
        #expect(breaker.totals.slowCalls == 4)
    }

    @Test("a late answer from a node the caller already moved away from judges nothing")
    func lateAnswerIgnored() throws {
        var router = try Self.router()
        #expect(router.begin(caller: 0, preferred: 1, nowNanos: 0) == 1)
        router.record(caller: 0, .success, from: 2, nowNanos: 5)
        #expect(Self.route(router.snapshot(atNanos: 5), 1)?.breaker.totals.successfulCalls == 0)
        router.record(caller: 0, .success, from: 1, nowNanos: 6)
        #expect(Self.route(router.snapshot(atNanos: 6), 1)?.breaker.totals.successfulCalls == 1)
    }

    @Test("bad router configurations are refused, naming what was wrong")
    func badConfiguration() throws {
        let breaker = CircuitBreakerConfiguration()
        #expect(throws: ResilienceConfigurationError(parameter: "nodes", value: "of 0 nodes", accepted: "at least one node")) {
            try NodeRouter(nodes: [], configuration: .init(breaker: breaker, maxTries: 1), random: SeededGenerator(seed: 1), nowNanos: 0)
        }
        #expect(throws: ResilienceConfigurationError(parameter: "maxTries", value: "0", accepted: "an integer of at least 1")) {
            try NodeRouter(nodes: [1], configuration: .init(breaker: breaker, maxTries: 0), random: SeededGenerator(seed: 1), nowNanos: 0)
        }
    }

    @Test("in a chaos run, the breaker of a killed node opens and its picks stop; it closes again after restart")
    func killedNodeOpensItsBreaker() throws {
        var options = ChaosOptions(seed: 31)
        options.nodes = 5
        options.clients = 10
        options.nemesis = []
        options.durationNanos = 8_000_000_000
        let runner = try ChaosRunner(options: options)
        runner.start()
        runner.advance(until: 1_000 * Self.ms)
        let victim: NodeID = runner.simulator.leader == 3 ? 4 : 3
        try runner.simulator.inject(.crash(victim))
        runner.advance(until: 3_000 * Self.ms)
        let whileDown = runner.nodeRouting
        let route = try #require(Self.route(whileDown, victim))
        #expect(route.breaker.state != .closed, "\(whileDown.transitions)")
        #expect(whileDown.transitions.contains { $0.node == victim && $0.transition.target == .open })
        runner.advance(until: 4_000 * Self.ms)
        #expect(Self.route(runner.nodeRouting, victim)?.picks ?? 0 <= route.picks + 10, "calls mostly stay away from the dead node")
        try runner.simulator.inject(.restart(victim))
        runner.advance(until: 7_000 * Self.ms)
        #expect(Self.route(runner.nodeRouting, victim)?.breaker.state == .closed, "\(runner.nodeRouting.transitions)")
    }
}
