import ConclaveCore
import Testing
@testable import ConclaveCoordination

@Suite struct LockQueueTests {
    private func waiter(_ number: UInt64, session: UInt64) -> LockWaiter {
        LockWaiter(session: session, mode: .exclusive, request: RequestID(client: session, sequence: number),
                   enqueuedAtMillis: number, deadlineMillis: nil, ttlMillis: nil)
    }

    @Test("random appends, grants from the head, removals and filters: the same waiters in the same order as an array, and the same answers to 'queued?'",
          arguments: [1, 2, 3, 4] as [UInt64])
    func matchesAnArray(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var queue = LockQueue()
        var model: [LockWaiter] = []
        var number: UInt64 = 0
        for step in 0..<20_000 {
            switch UInt64.random(in: 0..<10, using: &random) {
            case 0..<5:
                number += 1
                let next = waiter(number, session: .random(in: 1...40, using: &random))
                queue.append(next)
                model.append(next)
            case 5..<8 where !model.isEmpty:
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
