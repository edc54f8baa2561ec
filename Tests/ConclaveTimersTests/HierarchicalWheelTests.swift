import ConclaveTimers
import Testing

@Suite struct HierarchicalWheelTests {
    @Test("slots per level must be a power of two from 2 to 64", arguments: [0, 1, 3, 100, 128])
    func rejectsBadSlotCount(slotsPerLevel: Int) {
        #expect(throws: TimerQueueError.invalidParameter(
            name: "slotsPerLevel", value: "\(slotsPerLevel)", accepted: "a power of two from 2 to 64"
        )) { _ = try HierarchicalWheel(slotsPerLevel: slotsPerLevel) }
    }

    @Test("levels are created on demand, up to the one that spans every 64-bit tick", arguments: [(2, 64), (4, 32), (8, 22), (64, 11)])
    func overflowLevelsOnDemand(slotsPerLevel: Int, levelsMax: Int) throws {
        var wheel = try HierarchicalWheel(tickMillis: 1, slotsPerLevel: slotsPerLevel)
        #expect(wheel.levelsMax == levelsMax)
        #expect(wheel.levelCount == 1)
        _ = try wheel.schedule(timerID: 1, deadlineMillis: UInt64(slotsPerLevel) - 1)
        #expect(wheel.levelCount == 1)
        _ = try wheel.schedule(timerID: 2, deadlineMillis: UInt64(slotsPerLevel) * UInt64(slotsPerLevel) + 1)
        #expect(wheel.levelCount == 3)
        _ = try wheel.schedule(timerID: 3, deadlineMillis: .max)
        #expect(wheel.levelCount == levelsMax)
        guard case .rings(let rings) = wheel.snapshot(entriesMax: 64).layout else { Issue.record("not rings"); return }
        #expect(rings.count == levelsMax)
        #expect(rings.map(\.count).reduce(0, +) == 3)
        let fired = wheel.advance(toMillis: .max)
        #expect(fired.map(\.timerID) == [1, 2, 3])
    }

    @Test("an expired bucket cascades its timers down a level at a time until they fire on their tick")
    func cascadesDown() throws {
        var wheel = try HierarchicalWheel(tickMillis: 1, slotsPerLevel: 4)
        _ = try wheel.schedule(timerID: 1, deadlineMillis: 37)  // level 2: slot 2 covers ticks 32…47
        #expect(ringCounts(wheel) == [0, 0, 1])
        let atBucketStart = wheel.advance(toMillis: 32)
        #expect(atBucketStart.isEmpty)
        #expect(ringCounts(wheel) == [0, 1, 0])  // now in level 1, ticks 36…39
        let atLowerStart = wheel.advance(toMillis: 36)
        #expect(atLowerStart.isEmpty)
        #expect(ringCounts(wheel) == [1, 0, 0])
        let beforeTick = wheel.advance(toMillis: 36)
        let onTick = wheel.advance(toMillis: 37)
        #expect(beforeTick.isEmpty && onTick.map(\.timerID) == [1])
    }

    @Test("the next deadline is the earliest over all levels, not the earliest bucket's")
    func nextDeadlineAcrossLevels() throws {
        var wheel = try HierarchicalWheel(tickMillis: 1, slotsPerLevel: 64, startMillis: 60)
        _ = try wheel.schedule(timerID: 1, deadlineMillis: 124)  // level 1, bucket from tick 64
        _ = try wheel.schedule(timerID: 2, deadlineMillis: 70)  // level 0
        #expect(ringCounts(wheel) == [1, 1])
        #expect(wheel.nextDeadlineMillis == 70)
    }

    @Test("a long idle jump flushes only the buckets that hold timers")
    func idleJump() throws {
        var wheel = try HierarchicalWheel(tickMillis: 1, slotsPerLevel: 64)
        for timerID in 0..<10 as Range<UInt64> { _ = try wheel.schedule(timerID: timerID, deadlineMillis: (timerID + 1) << 40) }
        let fired = wheel.advance(toMillis: 5 << 40)
        #expect(fired.map(\.timerID) == [0, 1, 2, 3, 4])
        #expect(wheel.count == 5 && wheel.nextDeadlineMillis == 6 << 40)
        #expect(wheel.nowMillis == 5 << 40)
    }

    private func ringCounts(_ wheel: HierarchicalWheel) -> [Int] {
        guard case .rings(let rings) = wheel.snapshot(entriesMax: 64).layout else { return [] }
        return rings.map(\.count)
    }
}
