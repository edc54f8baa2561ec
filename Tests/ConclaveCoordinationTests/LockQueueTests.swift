import ConclaveCore
import Testing
@testable import ConclaveCoordination

@Suite struct LockQueueTests {
    private func waiter(_ number: UInt64, session: UInt64) -> LockWaiter {
        LockWaiter(session: session, mode: .exclusive, request: RequestID(client: session, sequence: number),
                   enqueuedAtMillis: number, deadlineMillis: nil, ttlMillis: nil)
    }

    @Test("random appends, grants from the head, removals and filters: the same waiters in the same order as an array, and the same answers to 'queued?', counted or scanned",
          arguments: [(1, 5), (2, 5), (3, 4), (4, 4)] as [(UInt64, UInt64)])
    func matchesAnArray(seed: UInt64, appendsInTen: UInt64) {
        var random = SeededGenerator(seed: seed)
        var queue = LockQueue()
        var model: [LockWaiter] = []
        var number: UInt64 = 0
        var countedSteps = 0
        for step in 0..<20_000 {
            defer { if queue.counted { countedSteps += 1 } }
            switch UInt64.random(in: 0..<10, using: &random) {
            case 0..<appendsInTen:
                number += 1
                let next = waiter(number, session: .random(in: 1...40, using: &random))
                queue.append(next)
                model.append(next)
            case appendsInTen..<8 where !model.isEmpty:
                #expect(queue.removeFirst() == model.removeFirst(), "seed \(seed) step \(step)")
            case 8 where !model.isEmpty:
                let position = Int.random(in: 0..<model.count, using: &random)
                #expect(queue.remove(at: position) == model.remove(at: position), "seed \(seed) step \(step)")
            case 9:
                let session = UInt64.random(in: 1...40, using: &random)
                queue.removeAll { $0.session == session }
                model.removeAll { $0.session == session }
            default:
                break
            }
            guard step % 97 == 0 else { continue }
            #expect(Array(queue) == model, "seed \(seed) step \(step)")
            #expect(queue.count == model.count && queue.first == model.first)
            for session in 1...40 as ClosedRange<UInt64> {
                #expect(queue.contains(session: session) == model.contains { $0.session == session }, "seed \(seed) step \(step)")
            }
            for probe in model.prefix(3) + model.suffix(3) { #expect(queue.contains(request: probe.request)) }
            #expect(!queue.contains(request: RequestID(client: 1, sequence: number + 1)))
        }
        // Half appends grow the queue past `countedFrom` (counted); fewer keep it short (scanned).
        #expect(appendsInTen >= 5 ? countedSteps > 1_000 : countedSteps < 19_000,
                "seed \(seed): counted in \(countedSteps) of 20,000 steps")
    }

    @Test("a queue counts from countedFrom waiters, scans again once emptied, and counts again when it grows back")
    func countingComesAndGoes() {
        var queue = LockQueue()
        for round in 0..<3 {
            let base = UInt64(round * 100)
            for number in 1...UInt64(LockQueue.countedFrom) {
                #expect(!queue.counted)
                queue.append(waiter(base + number, session: base + number))
            }
            #expect(queue.counted, "round \(round)")
            #expect(queue.contains(session: base + 1) && queue.contains(request: RequestID(client: base + 3, sequence: base + 3)))
            while !queue.isEmpty { _ = queue.removeFirst() }
            #expect(!queue.counted && !queue.contains(session: base + 1), "round \(round)")
        }
    }

    @Test("equal queues are equal however far their heads moved; a waiter changed in place is counted under its new request")
    func equalityAndInPlaceChange() {
        var moved = LockQueue()
        var fresh = LockQueue()
        for number in 1...100 as ClosedRange<UInt64> { moved.append(waiter(number, session: number)) }
        for _ in 0..<60 { _ = moved.removeFirst() }
        for number in 61...100 as ClosedRange<UInt64> { fresh.append(waiter(number, session: number)) }
        #expect(moved == fresh)
        _ = fresh.removeFirst()
        #expect(moved != fresh)

        moved[0].request = RequestID(client: 999, sequence: 1)
        #expect(moved.contains(request: RequestID(client: 999, sequence: 1)))
        #expect(!moved.contains(request: RequestID(client: 61, sequence: 61)))
        #expect(moved.contains(session: 61))
    }
}
