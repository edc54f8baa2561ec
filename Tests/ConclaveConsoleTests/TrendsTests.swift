import Testing
@testable import ConclaveConsole

@Suite struct TrendsTests {
    static func snapshot(seconds: Double, commit: UInt64, messages: Double = 0, wait: UInt64? = nil) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.nowNanos = UInt64(seconds * 1e9)
        var node = NodeSnapshot(id: 1, role: .leader, health: .up)
        node.commit = commit
        snapshot.nodes = [node]
        snapshot.messagesPerSecond = messages
        var lock = LockSnapshot(name: "a", kind: .mutex)
        lock.waitP50Millis = wait
        snapshot.locks = [lock]
        return snapshot
    }

    @Test("one point per second of cluster time: commits/s from the commit index, msg/s and the worst lock wait as given")
    func sampling() {
        var trends = Trends()
        trends.absorb(Self.snapshot(seconds: 0, commit: 0))
        trends.absorb(Self.snapshot(seconds: 0.5, commit: 40, messages: 10))
        #expect(trends.commitsPerSecond.isEmpty, "half a second is not a point yet")
        trends.absorb(Self.snapshot(seconds: 2, commit: 200, messages: 30, wait: 12))
        #expect(trends.commitsPerSecond == [100])
        #expect(trends.messagesPerSecond == [30])
        #expect(trends.lockWaitMillis == [12])
    }

    @Test("bounded to pointsMax; a clock that goes back starts over")
    func boundsAndReset() {
        var trends = Trends()
        for second in 0...(Trends.pointsMax + 10) { trends.absorb(Self.snapshot(seconds: Double(second), commit: UInt64(second) * 5)) }
        #expect(trends.commitsPerSecond.count == Trends.pointsMax)
        #expect(trends.commitsPerSecond.allSatisfy { $0 == 5 })
        trends.absorb(Self.snapshot(seconds: 1, commit: 0))
        #expect(trends.commitsPerSecond.isEmpty)
    }
}
