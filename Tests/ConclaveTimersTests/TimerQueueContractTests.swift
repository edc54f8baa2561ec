import ConclaveTimers
import Testing

@Suite struct TimerQueueContractTests {
    @Test("timers fire in deadline order, equal deadlines in schedule order", arguments: QueueKind.allCases)
    func firesInOrder(kind: QueueKind) throws {
        var queue = try kind.make()
        for (timerID, deadline) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, 25)] as [(UInt64, UInt64)] {
            _ = try queue.schedule(timerID: timerID, deadlineMillis: deadline)
        }
        let fired = queue.advance(toMillis: 30)
        #expect(fired.map(\.timerID) == [2, 4, 3, 5, 1])
        #expect(fired.map(\.deadlineMillis) == [10, 10, 20, 25, 30])
        #expect(queue.count == 0)
        #expect(queue.nextDeadlineMillis == nil)
    }

    @Test("nothing fires before its deadline", arguments: QueueKind.allCases)
    func neverEarly(kind: QueueKind) throws {
        var queue = try kind.make(tickMillis: 10)
        _ = try queue.schedule(timerID: 7, deadlineMillis: 25)
        let early = queue.advance(toMillis: 24)
        #expect(early.isEmpty)
        #expect(queue.nextDeadlineMillis == 25)
        let onTime = queue.advance(toMillis: 30)
        #expect(onTime.map(\.timerID) == [7])
    }

    @Test("a wheel fires at the end of the deadline's tick; a heap at the deadline itself", arguments: QueueKind.allCases)
    func tickGranularity(kind: QueueKind) throws {
        var queue = try kind.make(tickMillis: 10)
        _ = try queue.schedule(timerID: 1, deadlineMillis: 21)
        let atDeadline = queue.advance(toMillis: 21)
        #expect(atDeadline.count == (kind.isWheel ? 0 : 1))
        let atTickEnd = queue.advance(toMillis: 30)
        #expect(atDeadline.count + atTickEnd.count == 1)
    }

    @Test("a deadline at or before the clock fires at the next advance, whatever instant it names", arguments: QueueKind.allCases)
    func pastDeadlinesFireNext(kind: QueueKind) throws {
        var queue = try kind.make(tickMillis: 10, startMillis: 1_000)
        _ = try queue.schedule(timerID: 1, deadlineMillis: 5)
        _ = try queue.schedule(timerID: 2, deadlineMillis: 1_000)
        _ = try queue.schedule(timerID: 3, deadlineMillis: 0)
        #expect(queue.nextDeadlineMillis == 0)
        let fired = queue.advance(toMillis: 999)
        #expect(fired.map(\.timerID) == [3, 1, 2])
        #expect(queue.nowMillis == 1_000)
    }

    @Test("cancel removes a pending timer once; stale and foreign handles are refused", arguments: QueueKind.allCases)
    func cancelByHandle(kind: QueueKind) throws {
        var queue = try kind.make()
        let first = try queue.schedule(timerID: 1, deadlineMillis: 50)
        let second = try queue.schedule(timerID: 2, deadlineMillis: 60)
        let cancelled = queue.cancel(first)
        let cancelledAgain = queue.cancel(first)
        #expect(cancelled && !cancelledAgain)
        #expect(!queue.isPending(first) && queue.isPending(second))
        // The freed slot is reused; the old handle must not cancel its new occupant.
        let third = try queue.schedule(timerID: 3, deadlineMillis: 70)
        #expect(third.index == first.index)
        let staleCancel = queue.cancel(first)
        let foreignCancel = queue.cancel(TimerHandle(index: 999, sequence: 1))
        let zeroCancel = queue.cancel(TimerHandle(index: 0, sequence: 0))
        #expect(!staleCancel && !foreignCancel && !zeroCancel)
        let fired = queue.advance(toMillis: 100)
        #expect(fired.map(\.timerID) == [2, 3])
        let firedCancel = queue.cancel(second)
        #expect(!firedCancel)
    }

    @Test("a full queue refuses the next timer with an error naming its capacity", arguments: QueueKind.allCases)
    func capacityIsEnforced(kind: QueueKind) throws {
        var queue = try kind.make(capacity: 3)
        for timerID in 0..<3 as Range<UInt64> { _ = try queue.schedule(timerID: timerID, deadlineMillis: 10 + timerID) }
        #expect(throws: TimerQueueError.full(capacity: 3)) { _ = try queue.schedule(timerID: 9, deadlineMillis: 1) }
        #expect(String(describing: TimerQueueError.full(capacity: 3)).contains("3 timers pending"))
        let fired = queue.advance(toMillis: 10)
        #expect(fired.count == 1)
        _ = try queue.schedule(timerID: 9, deadlineMillis: 1)
        #expect(queue.count == 3)
    }

    @Test("absurd delays are kept and fire when the clock finally gets there", arguments: QueueKind.allCases)
    func absurdDelaysAreKept(kind: QueueKind) throws {
        var queue = try kind.make(tickMillis: 7)
        _ = try queue.schedule(timerID: 1, delayMillis: .max)
        _ = try queue.schedule(timerID: 2, deadlineMillis: .max - 1)
        _ = try queue.schedule(timerID: 3, deadlineMillis: 1 << 62)
        _ = try queue.schedule(timerID: 4, deadlineMillis: 100)
        #expect(queue.count == 4)
        #expect(queue.nextDeadlineMillis == 100)
        let soon = queue.advance(toMillis: 1 << 40)
        #expect(soon.map(\.timerID) == [4])
        // 2⁶² is not a multiple of the 7 ms tick: a wheel fires it by the end of that tick.
        let later = queue.advance(toMillis: (1 << 62) + 6)
        #expect(later.map(\.timerID) == [3])
        #expect(queue.nextDeadlineMillis == UInt64.max - 1)
        let end = queue.advance(toMillis: .max)
        #expect(end.map(\.timerID) == [2, 1])
        #expect(queue.count == 0)
    }

    @Test("time never runs backwards: an earlier advance keeps the clock", arguments: QueueKind.allCases)
    func clockIsMonotonic(kind: QueueKind) throws {
        var queue = try kind.make(startMillis: 500)
        _ = try queue.schedule(timerID: 1, deadlineMillis: 600)
        let backwards = queue.advance(toMillis: 100)
        #expect(backwards.isEmpty)
        #expect(queue.nowMillis == 500)
        let forwards = queue.advance(toMillis: 600)
        #expect(forwards.map(\.timerID) == [1])
    }

    @Test("a jump over many rounds and levels fires everything due, in order", arguments: QueueKind.allCases)
    func longJump(kind: QueueKind) throws {
        var queue = try kind.make()
        let deadlines: [UInt64] = [3, 1_000_000, 17, 64, 65, 4_096, 1 << 30, 999, 16]
        for (timerID, deadline) in deadlines.enumerated() { _ = try queue.schedule(timerID: UInt64(timerID), deadlineMillis: deadline) }
        let fired = queue.advance(toMillis: 1 << 30)
        #expect(fired.map(\.deadlineMillis) == deadlines.sorted())
    }

    @Test("memory footprint counts allocated storage and stays within 64 bytes per timer at scale", arguments: QueueKind.allCases)
    func memoryPerTimer(kind: QueueKind) throws {
        var queue = try kind.make(capacity: 200_000)
        #expect(queue.memoryFootprintBytes < 4_096)
        for timerID in 0..<100_000 as Range<UInt64> { _ = try queue.schedule(timerID: timerID, deadlineMillis: timerID * 7 % 50_000 + 1) }
        let bytesPerTimer = Double(queue.memoryFootprintBytes) / Double(queue.count)
        #expect(bytesPerTimer >= 40)
        #expect(bytesPerTimer <= 64)
    }

    @Test("snapshots stay within the size asked for, however many timers are pending", arguments: QueueKind.allCases)
    func snapshotIsBounded(kind: QueueKind) throws {
        var queue = try kind.make()
        for timerID in 0..<5_000 as Range<UInt64> { _ = try queue.schedule(timerID: timerID, deadlineMillis: timerID % 3_000 + 1) }
        for entriesMax in [1, 3, 10, 1_000_000] {
            let snapshot = queue.snapshot(entriesMax: entriesMax)
            let bound = min(entriesMax, 4_096)
            #expect(snapshot.count == 5_000)
            #expect(snapshot.nextDeadlineMillis == 1)
            switch snapshot.layout {
            case .tree(_, let levels): #expect(levels.joined().count == min(bound, 5_000))
            case .rings(let rings): #expect(rings.allSatisfy { $0.slotCounts.count <= bound })
            }
        }
    }
}
