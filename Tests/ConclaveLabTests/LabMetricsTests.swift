import Testing
@testable import ConclaveLab

@Suite struct LabMetricsTests {
    @Test("Jain's index: 1 for equal shares, 1/n for one taker, by hand in between")
    func jain() {
        #expect(LabMetrics.jainIndex([5, 5, 5, 5]) == 1)
        #expect(LabMetrics.jainIndex([8, 0, 0, 0]) == 0.25)
        #expect(abs(LabMetrics.jainIndex([1, 2]) - 0.9) < 1e-12)  // 9 / (2·5)
        #expect(abs(LabMetrics.jainIndex([1, 2, 3]) - 36.0 / 42.0) < 1e-12)
        #expect(LabMetrics.jainIndex([]) == 1)
        #expect(LabMetrics.jainIndex([0, 0]) == 1)
    }

    @Test("wasted share is the CPU beyond the work asked for, never below zero")
    func wasted() {
        #expect(LabMetrics.wastedShare(cpuNanos: 100, usefulNanos: 25) == 0.75)
        #expect(LabMetrics.wastedShare(cpuNanos: 100, usefulNanos: 200) == 0)
        #expect(LabMetrics.wastedShare(cpuNanos: 0, usefulNanos: 10) == 0)
    }

    @Test("a result's figures come from its workers and its counter")
    func resultFigures() {
        let configuration = LabConfiguration(strategy: .unlocked, threads: 2, criticalNanos: 100, thinkNanos: 400,
                                             durationNanos: 1_000_000_000)
        var latency = LabMetrics.latencyHistogram()
        for value in [100, 200, 300] as [UInt64] { latency.record(value) }
        let result = LabResult(
            configuration: configuration, elapsedNanos: 500_000_000,
            workers: [LabWorkerRecord(operations: 30, failedAttempts: 60, cpuNanos: 40_000, longestGapNanos: 7),
                      LabWorkerRecord(operations: 10, failedAttempts: 0, cpuNanos: 40_000, longestGapNanos: 9)],
            latency: latency, cpuNanos: 80_000, counter: 37)
        #expect(result.operations == 40)
        #expect(result.operationsPerSecond == 80)
        #expect(result.lostUpdates == 3)
        #expect(result.failedAttemptsPerSuccess == 1.5)
        #expect(result.usefulNanos == 20_000)
        #expect(result.wastedShare == 0.75)
        #expect(result.fairness == 0.8)  // 1600 / (2·1000)
        #expect(result.longestStarvationNanos == 9)
    }
}

@Suite struct LabConfigurationTests {
    @Test("every field's bounds are accepted")
    func bounds() throws {
        for threads in [1, 64] {
            for critical in [0, 1_000_000] as [UInt64] {
                for duration in [10_000_000, 60_000_000_000] as [UInt64] {
                    let configuration = LabConfiguration(strategy: .mutex, threads: threads, criticalNanos: critical,
                                                         thinkNanos: 10_000_000, durationNanos: duration)
                    #expect(try configuration.validated() == configuration)
                }
            }
        }
    }

    @Test("out of range is refused, naming the flag and the range")
    func refused() {
        func message(_ configuration: LabConfiguration) -> String? {
            do { _ = try configuration.validated() } catch { return error.description }
            return nil
        }
        #expect(message(LabConfiguration(strategy: .mutex, threads: 0)) == "--threads must be in 1…64, got 0")
        #expect(message(LabConfiguration(strategy: .mutex, threads: 65)) == "--threads must be in 1…64, got 65")
        #expect(message(LabConfiguration(strategy: .mutex, threads: 1, criticalNanos: 1_000_001))
            == "--critical-ns must be in 0…1000000, got 1000001")
        #expect(message(LabConfiguration(strategy: .mutex, threads: 1, thinkNanos: 10_000_001))
            == "--think-ns must be in 0…10000000, got 10000001")
        #expect(message(LabConfiguration(strategy: .mutex, threads: 1, durationNanos: 9_000_000))
            == "--duration must be in 10ms…60s, got 9ms")
        #expect(message(LabConfiguration(strategy: .mutex, threads: 1, durationNanos: 61_000_000_000))
            == "--duration must be in 10ms…60s, got 61s")
    }
}
