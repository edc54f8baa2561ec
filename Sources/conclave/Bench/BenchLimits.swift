import ArgumentParser
import ConclaveCore
import ConclaveResilience
import Dispatch
import Foundation
import Histogram
import Synchronization

/// `conclave bench limits`: decisions per second for every limiter, the breaker and every balancer,
/// single-threaded and with two threads contending for one shared instance behind a `Mutex`.
///
/// Latency is sampled per batch of `batchSize` decisions (timing each decision would measure the clock,
/// not the decision) and reported per decision, so p50/p99 are "ns per decision within a batch".
/// Time is simulated: each decision advances a virtual clock by a fixed step, chosen per subject so a
/// realistic share of decisions is refused. The target: token bucket and breaker ≥ 20 M/s.
struct BenchLimits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Limiter, breaker and balancer decisions per second, alone and with 2 threads contending."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Decisions measured per single-threaded benchmark (the contended ones run a fifth of that).")
    var decisions = 5_000_000

    func validate() throws {
        // The contended runs make a fifth as many decisions, split over two threads in whole batches.
        guard decisions >= 10 * Driver.batchSize, decisions <= 1_000_000_000 else {
            throw ValidationError("--decisions must be from \(10 * Driver.batchSize) to 1000000000, got \(decisions)")
        }
    }

    func run() throws {
        var results: [BenchResult] = []
        for subject in try Self.subjects() {
            results.append(subject.runAlone(subject.name, decisions))
            results.append(subject.runContended(subject.name + " ×2 threads", decisions / 5))
        }
        BenchReport.emit(results, json: options.json)
    }
}

extension BenchLimits {
    /// One benchmarked thing, type-erased only at the top: each closure is built from a generic,
    /// specialized loop, so the decision itself is inlined and not called through the erasure.
    struct Subject {
        var name: String
        var runAlone: (String, Int) -> BenchResult
        var runContended: (String, Int) -> BenchResult

        init<State: Sendable>(
            _ name: String, stepNanos: UInt64, _ state: State, decide: @escaping @Sendable (inout State, UInt64) -> Bool
        ) {
            self.name = name
            runAlone = { label, decisions in
                Driver.alone(label, decisions: decisions, state: state, stepNanos: stepNanos, decide: decide)
            }
            runContended = { label, decisions in
                Driver.contended(label, decisions: decisions, state: state, stepNanos: stepNanos, decide: decide)
            }
        }
    }

    /// The measuring loops.
    enum Driver {
        static let batchSize = 1_000

        @inline(__always)
        static func alone<State>(
            _ name: String, decisions: Int, state: State, stepNanos: UInt64, decide: (inout State, UInt64) -> Bool
        ) -> BenchResult {
            var subject = state
            var histogram = BenchClock.latencyHistogram()
            var nowNanos: UInt64 = 1_000_000_000
            var allowed = 0
            let batches = decisions / batchSize
            let startNanos = BenchClock.nanoseconds()
            for _ in 0..<batches {
                let batchStartNanos = BenchClock.nanoseconds()
                for _ in 0..<batchSize {
                    nowNanos &+= stepNanos
                    if decide(&subject, nowNanos) { allowed &+= 1 }
                }
                _ = histogram.record(BenchClock.nanoseconds() - batchStartNanos)
            }
            let elapsedNanos = BenchClock.nanoseconds() - startNanos
            keepAlive(allowed)
            return result(name, decisions: batches * batchSize, elapsedNanos: elapsedNanos, histogram: histogram)
        }

        /// Two threads share one instance (and one virtual clock) behind a `Mutex`, each making half the
        /// decisions; the figure is both threads' decisions over the wall time of the whole run.
        static func contended<State: Sendable>(
            _ name: String, decisions: Int, state: State, stepNanos: UInt64,
            decide: @escaping @Sendable (inout State, UInt64) -> Bool
        ) -> BenchResult {
            let shared = Shared(state: state)
            let threadCount = 2
            let batchesPerThread = decisions / batchSize / threadCount
            let histograms = Mutex([Histogram<UInt64>]())
            let group = DispatchGroup()
            let startNanos = BenchClock.nanoseconds()
            for _ in 0..<threadCount {
                group.enter()
                let thread = Thread {
                    var histogram = BenchClock.latencyHistogram()
                    var allowed = 0
                    for _ in 0..<batchesPerThread {
                        let batchStartNanos = BenchClock.nanoseconds()
                        for _ in 0..<batchSize where shared.decide(stepNanos: stepNanos, decide) { allowed &+= 1 }
                        _ = histogram.record(BenchClock.nanoseconds() - batchStartNanos)
                    }
                    keepAlive(allowed)
                    histograms.withLock { $0.append(histogram) }
                    group.leave()
                }
                thread.start()
            }
            group.wait()
            let elapsedNanos = BenchClock.nanoseconds() - startNanos
            var merged = BenchClock.latencyHistogram()
            histograms.withLock { for histogram in $0 { merged.add(histogram) } }
            return result(name, decisions: batchesPerThread * batchSize * threadCount, elapsedNanos: elapsedNanos, histogram: merged)
        }

        private static func result(_ name: String, decisions: Int, elapsedNanos: UInt64, histogram: Histogram<UInt64>) -> BenchResult {
            BenchResult(
                name: name, unit: "decisions/s", value: Double(decisions) * 1e9 / Double(max(elapsedNanos, 1)),
                p50: Double(histogram.valueAtPercentile(50)) / Double(batchSize),
                p99: Double(histogram.valueAtPercentile(99)) / Double(batchSize),
                n: UInt64(decisions)
            )
        }

        /// Stops the optimizer from deleting a loop whose result nothing reads.
        @inline(never)
        static func keepAlive(_ value: Int) {
            if value == Int.min { print(value) }
        }
    }

    /// One instance and its virtual clock, shared by the contending threads.
    final class Shared<State: Sendable>: Sendable {
        private let guarded: Mutex<(state: State, nowNanos: UInt64)>

        init(state: State) {
            guarded = Mutex((state, 1_000_000_000))
        }

        func decide(stepNanos: UInt64, _ decide: (inout State, UInt64) -> Bool) -> Bool {
            guarded.withLock { guarded in
                guarded.nowNanos &+= stepNanos
                return decide(&guarded.state, guarded.nowNanos)
            }
        }
    }
}

/// What `conclave bench limits` measures, each configured so that its decisions are realistic: limiters
/// refuse part of the traffic, the breaker stays closed with a few failures, balancers pick among 8
/// backends (7 for the shuffles, the example).
extension BenchLimits {
    static func subjects() throws -> [Subject] {
        try limiters() + breakers() + balancers() + hashing()
    }

    /// A subject's state paired with its own seeded generator, for the randomized balancers.
    struct Seeded<Value: Sendable>: Sendable {
        var value: Value
        var generator = SeededGenerator(seed: 2026)
    }

    static func limiters() throws -> [Subject] {
        [
            // Half a token per nanosecond against one request per nanosecond: half are refused.
            Subject("token bucket allow", stepNanos: 1,
                         try TokenBucket(capacity: 100, refillTokens: 1, refillIntervalNanos: 2, nowNanos: 0)) { bucket, now in
                bucket.allow(nowNanos: now)
            },
            Subject("token bucket reserve", stepNanos: 1,
                         try TokenBucket(capacity: 100, refillTokens: 1, refillIntervalNanos: 2, nowNanos: 0)) { bucket, now in
                if case .granted = bucket.reserve(nowNanos: now, maxWaitNanos: 50) { return true }
                return false
            },
            Subject("GCRA allow", stepNanos: 1,
                         try GenericCellRateLimiter(count: 1, periodNanos: 2, maxBurst: 99, nowNanos: 0)) { limiter, now in
                limiter.allow(nowNanos: now)
            },
            Subject("GCRA request (full answer)", stepNanos: 1,
                         try GenericCellRateLimiter(count: 1, periodNanos: 2, maxBurst: 99, nowNanos: 0)) { limiter, now in
                limiter.request(nowNanos: now).allowed
            },
            Subject("sliding window log (limit 1000)", stepNanos: 1,
                         try SlidingWindowLog(limit: 1_000, windowNanos: 2_000)) { log, now in
                log.allow(nowNanos: now)
            },
            Subject("sliding window counter", stepNanos: 1,
                         try SlidingWindowCounter(limit: 1_000, windowNanos: 2_000)) { counter, now in
                counter.allow(nowNanos: now)
            },
            Subject("fixed window", stepNanos: 1,
                         try FixedWindowCounter(limit: 1_000, windowNanos: 2_000)) { counter, now in
                counter.allow(nowNanos: now)
            },
            Subject("warm-up acquire", stepNanos: 1,
                         try WarmUpLimiter(permitsPerSecond: 500_000_000, warmUpPeriodNanos: 1_000_000, nowNanos: 0)) { limiter, now in
                limiter.acquire(nowNanos: now, maxWaitNanos: 100) != nil
            },
            Subject("uniform queueing acquire", stepNanos: 1,
                         try UniformQueueingLimiter(count: 1, periodNanos: 2, maxQueueingNanos: 100, nowNanos: 0)) { limiter, now in
                limiter.acquire(nowNanos: now) != nil
            },
        ]
    }

    static func breakers() throws -> [Subject] {
        let countBased = CircuitBreakerConfiguration(window: .countBased(calls: 100), minimumCalls: 20)
        let timeBased = CircuitBreakerConfiguration(window: .timeBased(windowNanos: 10_000_000, buckets: 10), minimumCalls: 20)
        return [
            Subject("breaker acquire+record (count window)", stepNanos: 1,
                         try CircuitBreaker(configuration: countBased, nowNanos: 0), decide: breakerCall),
            Subject("breaker acquire+record (time window)", stepNanos: 1,
                         try CircuitBreaker(configuration: timeBased, nowNanos: 0), decide: breakerCall),
            Subject("fallback path begin+complete", stepNanos: 1,
                         FallbackPath(breaker: try CircuitBreaker(configuration: countBased, nowNanos: 0))) { path, now in
                guard let permit = path.begin(nowNanos: now).permit else { return false }
                _ = path.complete(now % 16 == 0 ? .failure : .success, permit: permit, durationNanos: 100, nowNanos: now)
                return true
            },
        ]
    }

    /// One call through a breaker; every 16th fails (6 %, well under the 50 % threshold).
    @Sendable static func breakerCall(_ breaker: inout CircuitBreaker, _ now: UInt64) -> Bool {
        guard let permit = breaker.acquire(nowNanos: now).permit else { return false }
        _ = breaker.record(now % 16 == 0 ? .failure : .success, permit: permit, durationNanos: 100, nowNanos: now)
        return true
    }

    static func balancers() throws -> [Subject] {
        [
            Subject("round robin pick", stepNanos: 1, try RoundRobinBalancer(backendCount: 8)) { balancer, _ in
                balancer.pick() == 0
            },
            Subject("random pick", stepNanos: 1, Seeded(value: try RandomBalancer(backendCount: 8))) { seeded, _ in
                seeded.value.pick(using: &seeded.generator) == 0
            },
            Subject("Fisher–Yates shuffle pick (7)", stepNanos: 1,
                         Seeded(value: try ShuffleBalancer(backendCount: 7, algorithm: .fisherYates))) { seeded, _ in
                seeded.value.pick(using: &seeded.generator) == 0
            },
            Subject("naive shuffle pick (7)", stepNanos: 1,
                         Seeded(value: try ShuffleBalancer(backendCount: 7, algorithm: .naivePairSwaps))) { seeded, _ in
                seeded.value.pick(using: &seeded.generator) == 0
            },
            Subject("power of two choices pick+complete", stepNanos: 1,
                         Seeded(value: try PowerOfTwoChoicesBalancer(backendCount: 8))) { seeded, _ in
                let backend = seeded.value.pick(using: &seeded.generator)
                seeded.value.complete(backend: backend)
                return backend == 0
            },
            Subject("least loaded pick+complete", stepNanos: 1, try LeastLoadedBalancer(backendCount: 8)) { balancer, _ in
                let backend = balancer.pick()
                balancer.complete(backend: backend)
                return backend == 0
            },
        ]
    }

    static func hashing() throws -> [Subject] {
        let names = (1...8).map { "node-\($0)" }
        return [
            Subject("consistent hash lookup (8×160 points)", stepNanos: 1, try ConsistentHashRing(backends: names)) { ring, now in
                ring.backendIndex(forKeyHash: StableHash.mix(now)) == 0
            },
            Subject("bounded-load hash assign+release", stepNanos: 1, try BoundedLoadHashRing(backends: names)) { ring, now in
                let backend = ring.assign(keyHash: StableHash.mix(now))
                if now % 2 == 0 { ring.release(backend: backend) }
                return backend == 0
            },
            Subject("Maglev lookup (M = 65537)", stepNanos: 1, try MaglevTable(backends: names)) { table, now in
                table.backendIndex(forKeyHash: StableHash.mix(now)) == 0
            },
        ]
    }
}
