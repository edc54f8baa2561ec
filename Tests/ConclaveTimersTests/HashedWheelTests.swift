import ConclaveTimers
import Testing

@Suite struct HashedWheelTests {
    @Test("slot count must be a power of two from 2 to 2^20 and the tick at least 1 ms")
    func rejectsBadConfiguration() {
        for slotCount in [0, 1, 3, 1_000, 1 << 21] {
            #expect(throws: TimerQueueError.invalidParameter(
                name: "slotCount", value: "\(slotCount)", accepted: "a power of two from 2 to 1048576"
            )) { _ = try HashedWheel(slotCount: slotCount) }
        }
        #expect(throws: TimerQueueError.invalidParameter(name: "tickMillis", value: "0", accepted: "at least 1 millisecond")) {
            _ = try HashedWheel(tickMillis: 0)
        }
    }

    @Test("a timer hashes to its tick's slot with the rounds still to go")
    func slotAndRounds() throws {
        var wheel = try HashedWheel(tickMillis: 10, slotCount: 8)
        _ = try wheel.schedule(timerID: 1, deadlineMillis: 995)  // tick 100 = 12 × 8 + 4
        #expect(wheel.rounds(forDeadlineMillis: 995) == 12)
        #expect(wheel.rounds(forDeadlineMillis: 80) == 0)
        #expect(wheel.rounds(forDeadlineMillis: 90) == 1)
        let snapshot = wheel.snapshot(entriesMax: 64)
        guard case .rings(let rings) = snapshot.layout else { Issue.record("not rings"); return }
        #expect(rings.count == 1)
        #expect(rings[0].slotCounts == [0, 0, 0, 0, 1, 0, 0, 0])
        #expect(rings[0].slotMillis == 10 && rings[0].cursor == 0 && rings[0].count == 1)
    }

    @Test("a pass over a slot fires the timers due this round and keeps later rounds")
    func passKeepsLaterRounds() throws {
        var wheel = try HashedWheel(tickMillis: 1, slotCount: 4)
        for (timerID, deadline) in [(1, 2), (2, 6), (3, 10), (4, 3)] as [(UInt64, UInt64)] {
            _ = try wheel.schedule(timerID: timerID, deadlineMillis: deadline)
        }
        // Ticks 2, 6 and 10 share slot 2.
        let first = wheel.advance(toMillis: 2)
        #expect(first.map(\.timerID) == [1])
        #expect(wheel.nextDeadlineMillis == 3)
        let second = wheel.advance(toMillis: 6)
        #expect(second.map(\.timerID) == [4, 2])
        #expect(wheel.nextDeadlineMillis == 10)
        let snapshot = wheel.snapshot(entriesMax: 4)
        guard case .rings(let rings) = snapshot.layout else { return }
        #expect(rings[0].cursor == 2)
        #expect(rings[0].slotCounts == [1, 0, 0, 0])
    }

    @Test("the due list shows in the snapshot until the next advance")
    func dueListIsVisible() throws {
        var wheel = try HashedWheel(tickMillis: 1, slotCount: 8, startMillis: 100)
        _ = try wheel.schedule(timerID: 1, deadlineMillis: 50)
        #expect(wheel.snapshot(entriesMax: 8).dueCount == 1)
        let fired = wheel.advance(toMillis: 100)
        #expect(fired.map(\.timerID) == [1])
        #expect(wheel.snapshot(entriesMax: 8).dueCount == 0)
    }
}
