import ConclaveCore
import ConclaveResilience
import Testing
@testable import ConclaveCoordination

/// Cluster-wide throttles, applied entry by entry as the log would.
@Suite struct ThrottleTests {
    static let ms: UInt64 = 1_000_000

    static func define(_ replica: inout Replica, _ name: String = "api", count: Int = 1_000, periodMillis: UInt64 = 1_000,
                       burst: Int = 0) -> CoordinationResult {
        replica.run(1, .throttle(.define(name: name, count: count, periodMillis: periodMillis, maxBurst: burst)))
    }

    static func take(_ replica: inout Replica, _ name: String = "api", quantity: Int = 1, stampNanos: UInt64) -> CellRateDecision? {
        guard case .throttled(let decision) = replica.run(2, .throttle(.take(name: name, quantity: quantity, stampNanos: stampNanos))) else {
            return nil
        }
        return decision
    }

    @Test("a new throttle admits its burst at once, then refuses with the exact wait")
    func burstThenRefuse() {
        var replica = Replica()
        #expect(Self.define(&replica, count: 10, burst: 2) == .done)
        for _ in 0..<3 { #expect(Self.take(&replica, stampNanos: 0)?.allowed == true) }
        let refused = Self.take(&replica, stampNanos: 0)
        #expect(refused?.allowed == false)
        #expect(refused?.retryAfterNanos == 100 * Self.ms)
        #expect(replica.machine.throttles.throttles["api"]?.allowed == 3)
        #expect(replica.machine.throttles.throttles["api"]?.refused == 1)
    }

    @Test("stamps meter requests between clock entries; without them a clock step admits only the burst")
    func stampsMeterBetweenClockEntries() {
        var stamped = Replica()
        _ = Self.define(&stamped, count: 1_000, burst: 0)
        stamped.elapse(100)
        var admitted = 0
        for step in 0..<100 where Self.take(&stamped, stampNanos: (100 + UInt64(step)) * Self.ms)?.allowed == true { admitted += 1 }
        #expect(admitted == 100, "one request per millisecond at 1,000/s")

        var unstamped = Replica()
        _ = Self.define(&unstamped, count: 1_000, burst: 0)
        unstamped.elapse(100)
        admitted = 0
        for _ in 0..<100 where Self.take(&unstamped, stampNanos: 0)?.allowed == true { admitted += 1 }
        #expect(admitted == 1, "every take decided at the same cluster instant")
    }

    @Test("a stamp is clamped to at most 100 ms past cluster time, so a wild clock cannot freeze a throttle")
    func stampsAreClamped() {
        var replica = Replica()
        _ = Self.define(&replica, count: 1, burst: 0)
        #expect(Self.take(&replica, stampNanos: .max)?.allowed == true)
        replica.elapse(1_100)
        #expect(Self.take(&replica, stampNanos: 0)?.allowed == true, "decided at 100 ms, so free again at 1,100 ms")
        #expect(ThrottleTable.decisionNanos(5 * Self.ms, clusterMillis: 10) == 10 * Self.ms, "a lagging stamp is raised")
        #expect(ThrottleTable.decisionNanos(150 * Self.ms, clusterMillis: 10) == 110 * Self.ms)
    }

    @Test("the throttle's time never moves back: an early stamp after a late one is decided at the late one")
    func monotonic() {
        var replica = Replica()
        _ = Self.define(&replica, count: 1_000, burst: 0)
        #expect(Self.take(&replica, stampNanos: 50 * Self.ms)?.allowed == true)
        #expect(Self.take(&replica, stampNanos: 10 * Self.ms)?.allowed == false)
    }

    @Test("defining again with the same limit keeps the state; a new limit starts idle and keeps the counts")
    func redefine() {
        var replica = Replica()
        _ = Self.define(&replica, count: 1, burst: 0)
        #expect(Self.take(&replica, stampNanos: 0)?.allowed == true)
        _ = Self.define(&replica, count: 1, burst: 0)
        #expect(Self.take(&replica, stampNanos: 0)?.allowed == false)
        _ = Self.define(&replica, count: 2, burst: 0)
        #expect(Self.take(&replica, stampNanos: 0)?.allowed == true)
        #expect(replica.machine.throttles.throttles["api"]?.allowed == 2)
        #expect(replica.machine.throttles.throttles["api"]?.refused == 1)
    }

    @Test("bad definitions and unknown names are refused, saying what is accepted")
    func refusals() {
        var replica = Replica()
        #expect(Self.take(&replica, stampNanos: 0) == nil)
        #expect(replica.run(2, .throttle(.take(name: "nope", quantity: 1, stampNanos: 0)))
                == .refused(.invalidRequest("unknown throttle 'nope'; define it first")))
        #expect(Self.define(&replica, count: 0) == .refused(.invalidRequest(
            "throttle 'api': invalid count 0: expected an integer from 1 to 1099511627776")))
        #expect(Self.define(&replica, periodMillis: 0) == .refused(.invalidRequest("throttle period 0 ms; accepted: 1…86400000 ms")))
        #expect(Self.define(&replica, "") == .refused(.invalidName("empty; names are 1…256 bytes")))
        #expect(replica.machine.throttles.throttles.isEmpty)
    }

    @Test("throttle commands survive the log encoding")
    func encoding() {
        for command in [ThrottleCommand.define(name: "api", count: 7, periodMillis: 250, maxBurst: 3),
                        .take(name: "api", quantity: 2, stampNanos: 123_456_789)] {
            let request = CoordinationRequest(client: 4, sequence: 9, command: .throttle(command))
            #expect(CoordinationRequest(decoding: request.encoded()) == request)
        }
    }

    @Test("a snapshot restores every throttle exactly: the restored replica decides as the original does")
    func snapshotRoundTrip() throws {
        var original = Replica()
        _ = Self.define(&original, count: 3, periodMillis: 1_000, burst: 4)
        _ = Self.define(&original, "other", count: 1_000, periodMillis: 1, burst: 0)
        for step in 0..<6 { _ = Self.take(&original, stampNanos: UInt64(step) * 7 * Self.ms) }
        original.elapse(50)
        var restored = original
        restored.machine = try CoordinationStateMachine(restoring: original.machine.snapshotData())
        #expect(restored.machine == original.machine)
        #expect(restored.machine.throttles == original.machine.throttles)
        for step in 0..<20 {
            let stamp = 50 * Self.ms + UInt64(step) * 40 * Self.ms
            #expect(Self.take(&restored, stampNanos: stamp) == Self.take(&original, stampNanos: stamp))
        }
    }
}
