import Testing
@testable import ConclaveResilience

@Suite struct ConfigurationErrorTests {
    /// The parameter a failing initializer named, or `nil` if it did not throw.
    static func rejected<Value>(_ make: () throws -> Value) -> String? {
        do {
            _ = try make()
            return nil
        } catch let error as ResilienceConfigurationError {
            return error.parameter
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("limiters name the bad parameter: rates ≤ 0, capacities ≤ 0, zero-length windows")
    func limiters() {
        #expect(Self.rejected { try TokenBucket(capacity: 0, tokensPerSecond: 1, nowNanos: 0) } == "capacity")
        #expect(Self.rejected { try TokenBucket(capacity: 1, tokensPerSecond: 0, nowNanos: 0) } == "refillTokens")
        #expect(Self.rejected { try TokenBucket(capacity: 1, refillTokens: 1, refillIntervalNanos: 0, nowNanos: 0) } == "refillIntervalNanos")
        #expect(Self.rejected { try TokenBucket(capacity: 1 << 40, refillTokens: 1, refillIntervalNanos: 1 << 30, nowNanos: 0) }
            == "capacity × refillIntervalNanos")
        #expect(Self.rejected { try SlidingWindowLog(limit: 10, windowNanos: 0) } == "windowNanos")
        #expect(Self.rejected { try SlidingWindowLog(limit: SlidingWindowLog.limitMax + 1, windowNanos: 1) } == "limit")
        #expect(Self.rejected { try SlidingWindowCounter(limit: -1, windowNanos: 1) } == "limit")
        #expect(Self.rejected { try FixedWindowCounter(limit: 1, windowNanos: 0) } == "windowNanos")
        #expect(Self.rejected { try GenericCellRateLimiter(count: 0, periodNanos: 1, maxBurst: 0, nowNanos: 0) } == "count")
        #expect(Self.rejected { try GenericCellRateLimiter(count: 1, periodNanos: 1, maxBurst: -1, nowNanos: 0) } == "maxBurst")
        #expect(Self.rejected { try WarmUpLimiter(permitsPerSecond: -2, warmUpPeriodNanos: 1, nowNanos: 0) } == "permitsPerSecond")
        #expect(Self.rejected { try WarmUpLimiter(permitsPerSecond: .nan, warmUpPeriodNanos: 1, nowNanos: 0) } == "permitsPerSecond")
        #expect(Self.rejected { try WarmUpLimiter(permitsPerSecond: 1, warmUpPeriodNanos: 1, coldFactor: 0.5, nowNanos: 0) } == "coldFactor")
        #expect(Self.rejected { try UniformQueueingLimiter(count: 1, periodNanos: 0, maxQueueingNanos: 0, nowNanos: 0) } == "periodNanos")
    }

    @Test("breakers refuse thresholds outside 0…100 %, empty windows and zero waits")
    func breakers() {
        func rejected(_ change: (inout CircuitBreakerConfiguration) -> Void) -> String? {
            var configuration = CircuitBreakerConfiguration()
            change(&configuration)
            return Self.rejected { try CircuitBreaker(configuration: configuration, nowNanos: 0) }
        }
        #expect(rejected { _ in } == nil)
        #expect(rejected { $0.failureRateThresholdPercent = 0 } == "failureRateThresholdPercent")
        #expect(rejected { $0.failureRateThresholdPercent = 100.5 } == "failureRateThresholdPercent")
        #expect(rejected { $0.slowCallRateThresholdPercent = -1 } == "slowCallRateThresholdPercent")
        #expect(rejected { $0.window = .countBased(calls: 0) } == "window.calls")
        #expect(rejected { $0.window = .timeBased(windowNanos: 0, buckets: 10) } == "window.windowNanos")
        #expect(rejected { $0.window = .timeBased(windowNanos: 1_001, buckets: 10) } == "window.windowNanos")
        #expect(rejected { $0.minimumCalls = 0 } == "minimumCalls")
        #expect(rejected { $0.waitInOpenNanos = 0 } == "waitInOpenNanos")
        #expect(rejected { $0.halfOpenProbes = 0 } == "halfOpenProbes")
        #expect(rejected { $0.failureBurst = .init(failures: 3, withinNanos: 0) } == "failureBurst.withinNanos")
        #expect(rejected { $0.transitionHistoryMax = 0 } == "transitionHistoryMax")
    }

    @Test("balancers refuse empty backend lists, and the message says what is accepted")
    func balancers() {
        #expect(Self.rejected { try RoundRobinBalancer(backendCount: 0) } == "backendCount")
        #expect(Self.rejected { try PowerOfTwoChoicesBalancer(backendCount: Backends.countMax + 1) } == "backendCount")
        #expect(Self.rejected { try ConsistentHashRing(backends: ["a"], virtualNodesPerBackend: 0) } == "virtualNodesPerBackend")
        #expect(Self.rejected { try BoundedLoadHashRing(backends: ["a"], balanceFactor: 0) } == "balanceFactor")
        #expect(Self.rejected { try ConsistentHashRing(backends: ["a", "a"]) } == "backends")
        let manyNames = (0..<2_000).map { "node-\($0)" }
        #expect(Self.rejected { try ConsistentHashRing(backends: manyNames, virtualNodesPerBackend: 4_096) }
            == "backends × virtualNodesPerBackend", "8,192,000 points exceed pointsMax")
        #expect(Self.rejected { try MaglevTable(backends: ["a"], tableSize: MaglevTable.tableSizeMax + 43) } == "tableSize")
        do {
            _ = try ShuffleBalancer(backendCount: 0, algorithm: .fisherYates)
            Issue.record("an empty backend list was accepted")
        } catch {
            #expect(error.description == "invalid backendCount 0: expected a count of backends from 1 to 65536")
        }
    }
}
