import ConclaveCore
import ConclaveTimers
import Testing

/// Random schedules, cancels and advances, from a seed, applied to all four queues at once and to a
/// plain list of pending timers that serves as the reference.
@Suite struct TimerQueuePropertyTests {
    static let seeds: [UInt64] = Array(1...12)

    /// A pending timer in the reference model.
    struct Pending {
        var timerID: UInt64
        var deadlineMillis: UInt64
        var sequence: UInt64
        var handles: [TimerHandle]
    }

    /// A deadline relative to `now`: mostly near, some exactly now or past, some far, a few absurd.
    static func randomDeadline(now: UInt64, _ random: inout SeededGenerator) -> UInt64 {
        switch random.next(upperBound: 100 as UInt64) {
        case 0..<5: return now - min(now, random.next(upperBound: 500))
        case 5..<10: return now
        case 10..<75: return now + random.next(upperBound: 300)
        case 75..<95: return now + random.next(upperBound: 200_000)
        case 95..<98: return now + (1 << 40) + random.next(upperBound: 1 << 40)
        default: return .max - random.next(upperBound: 3)
        }
    }

    @Test("advancing by whole ticks, all four queues fire exactly the reference's timers, in deadline then schedule order", arguments: seeds)
    func allQueuesAgreeOnTickBoundaries(seed: UInt64) throws {
        let tickMillis: UInt64 = [1, 5, 7][Int(seed % 3)]
        var random = SeededGenerator(seed: seed)
        var now = 20 * tickMillis  // on a tick boundary, like every advance below
        var queues = try QueueKind.allCases.map { try $0.make(capacity: 5_000, tickMillis: tickMillis, startMillis: now) }
        var pending: [Pending] = []
        var nextSequence: UInt64 = 1
        for _ in 0..<3_000 {
            switch random.next(upperBound: 10 as UInt64) {
            case 0..<5:
                let deadline = Self.randomDeadline(now: now, &random)
                let timerID = random.next(upperBound: 1_000 as UInt64)
                let handles = try queues.indices.map { try queues[$0].schedule(timerID: timerID, deadlineMillis: deadline) }
                #expect(Set(handles.map(\.sequence)) == [nextSequence])
                pending.append(Pending(timerID: timerID, deadlineMillis: deadline, sequence: nextSequence, handles: handles))
                nextSequence += 1
            case 5..<7 where !pending.isEmpty:
                let victim = pending.remove(at: Int(random.next(upperBound: UInt64(pending.count))))
                let results = queues.indices.map { queues[$0].cancel(victim.handles[$0]) }
                #expect(results.allSatisfy { $0 })
            default:
                now += tickMillis * random.next(upperBound: 40)
                let expected = pending.filter { $0.deadlineMillis <= now }
                    .sorted { ($0.deadlineMillis, $0.sequence) < ($1.deadlineMillis, $1.sequence) }
                    .map { "\($0.timerID)@\($0.deadlineMillis)#\($0.sequence)" }
                pending.removeAll { $0.deadlineMillis <= now }
                for index in queues.indices {
                    let fired = queues[index].advance(toMillis: now)
                    #expect(fired.map(\.essence) == expected, "\(QueueKind.allCases[index]) at \(now)")
                }
            }
            let reference = pending.map(\.deadlineMillis).min()
            #expect(queues.allSatisfy { $0.count == pending.count && $0.nextDeadlineMillis == reference })
        }
        for index in queues.indices {
            let rest = queues[index].advance(toMillis: .max)
            #expect(rest.count == pending.count)
        }
    }

    @Test("advancing to arbitrary instants, no timer fires early and none more than one tick late", arguments: seeds)
    func latenessIsBoundedByOneTick(seed: UInt64) throws {
        let tickMillis: UInt64 = 8
        var random = SeededGenerator(seed: seed, stream: 1)
        for kind in QueueKind.allCases {
            var queue = try kind.make(capacity: 5_000, tickMillis: tickMillis)
            var pending: [TimerHandle: UInt64] = [:]
            var clock: UInt64 = 0
            for _ in 0..<2_000 {
                if random.next(upperBound: 3 as UInt64) < 2 {
                    let deadline = clock + random.next(upperBound: 2_000)
                    pending[try queue.schedule(timerID: 0, deadlineMillis: deadline)] = deadline
                    continue
                }
                clock += random.next(upperBound: 30)
                let fired = queue.advance(toMillis: clock)
                #expect(fired.allSatisfy { $0.deadlineMillis <= clock }, "\(kind): fired early")
                #expect(fired.map(\.deadlineMillis) == fired.map(\.deadlineMillis).sorted(), "\(kind): out of order")
                for timer in fired { pending[timer.handle] = nil }
                // Whatever is still pending must not be more than one tick overdue.
                #expect(pending.values.allSatisfy { $0 + tickMillis > clock }, "\(kind): a timer is over a tick late")
                #expect(queue.count == pending.count)
            }
        }
    }
}
