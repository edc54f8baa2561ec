import ConclaveCore
import ConclaveTimers
import Testing

@Suite struct DaryHeapTests {
    @Test("arity must be a power of two from 2 to 16, and the error says so", arguments: [0, 1, 3, 6, 32])
    func rejectsBadArity(arity: Int) {
        #expect(throws: TimerQueueError.invalidParameter(name: "arity", value: "\(arity)", accepted: "a power of two from 2 to 16")) {
            _ = try DaryHeap(arity: arity)
        }
    }

    @Test("capacity must be from 1 to the 32-bit slot limit", arguments: [0, -5, TimerQueueLimits.capacityMax + 1])
    func rejectsBadCapacity(capacity: Int) {
        #expect(throws: TimerQueueError.self) { _ = try DaryHeap(capacity: capacity) }
        let message = String(describing: TimerQueueError.invalidParameter(name: "capacity", value: "0", accepted: "an integer from 1 to 4294967294"))
        #expect(message == "invalid capacity 0: expected an integer from 1 to 4294967294")
    }

    @Test("the snapshot is the tree level by level, each level arity times wider, parents never later than children")
    func snapshotIsTheTree() throws {
        var heap = try DaryHeap(arity: 4)
        var random = SeededGenerator(seed: 5)
        for timerID in 0..<30 as Range<UInt64> { _ = try heap.schedule(timerID: timerID, deadlineMillis: random.next(upperBound: 1_000)) }
        let snapshot = heap.snapshot(entriesMax: 100)
        guard case .tree(let arity, let levels) = snapshot.layout else { Issue.record("not a tree"); return }
        #expect(arity == 4)
        #expect(levels.map(\.count) == [1, 4, 16, 9])
        #expect(levels[0][0] == heap.nextDeadlineMillis)
        for depth in 1..<levels.count {
            for (position, deadline) in levels[depth].enumerated() {
                #expect(levels[depth - 1][position / 4] <= deadline)
            }
        }
        #expect(snapshot.kind == "4-ary heap")
        let cut = heap.snapshot(entriesMax: 7)
        guard case .tree(_, let cutLevels) = cut.layout else { return }
        #expect(cutLevels.map(\.count) == [1, 4, 2])
    }

    @Test("handles stay valid while their entries move: every survivor cancels exactly once", arguments: [2, 4, 8, 16])
    func handlesSurviveMoves(arity: Int) throws {
        var heap = try DaryHeap(arity: arity)
        var random = SeededGenerator(seed: UInt64(arity))
        var handles: [TimerHandle] = []
        for timerID in 0..<2_000 as Range<UInt64> {
            handles.append(try heap.schedule(timerID: timerID, deadlineMillis: random.next(upperBound: 10_000)))
        }
        handles.shuffle(using: &random)
        let (gone, kept) = (handles[..<1_000], handles[1_000...])
        for handle in gone {
            let cancelled = heap.cancel(handle)
            #expect(cancelled)
        }
        let fired = heap.advance(toMillis: 5_000)
        let firedHandles = Set(fired.map(\.handle))
        #expect(gone.allSatisfy { !firedHandles.contains($0) && !heap.isPending($0) })
        for handle in kept where !firedHandles.contains(handle) {
            let cancelled = heap.cancel(handle)
            #expect(cancelled)
        }
        #expect(heap.count == 0)
    }

    @Test("peek is the earliest deadline and costs nothing to ask")
    func peek() throws {
        var heap = try DaryHeap(arity: 2)
        #expect(heap.nextDeadlineMillis == nil)
        let late = try heap.schedule(timerID: 1, deadlineMillis: 90)
        let early = try heap.schedule(timerID: 2, deadlineMillis: 40)
        #expect(heap.nextDeadlineMillis == 40)
        _ = heap.cancel(early)
        #expect(heap.nextDeadlineMillis == 90)
        _ = heap.cancel(late)
        #expect(heap.nextDeadlineMillis == nil)
    }
}
