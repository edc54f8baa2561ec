import ConclaveResilience
import Synchronization
import Testing
@testable import ConclaveCluster

/// A clock that moves only when the test says so. Sleepers are kept with their deadlines; the test
/// waits (without polling) until the sleepers it expects are registered, checks their deadlines, and
/// advances time to wake them.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (left: Instant, right: Instant) -> Bool { left.offset < right.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready: [CheckedContinuation<Void, Never>] = state.withLock { state in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return []
                    }
                    if deadline <= state.now {
                        continuation.resume()  // a deadline already reached: no sleep, as a real clock
                        return []
                    }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    let count = state.sleepers.count
                    let due = state.watchers.filter { $0.count <= count }.map(\.continuation)
                    state.watchers.removeAll { $0.count <= count }
                    return due
                }
                for watcher in ready { watcher.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns once at least `count` sleepers are asleep.
    func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = state.withLock { state -> Bool in
                if state.sleepers.count >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if already { continuation.resume() }
        }
    }

    /// Wakes every `waitForSleepers` caller, met or not: a waiter that ended without sleeping calls this,
    /// so a broken bucket fails the test's next expectation instead of hanging it.
    func releaseWatchers() {
        let watchers = state.withLock { state in
            defer { state.watchers.removeAll() }
            return state.watchers.map(\.continuation)
        }
        for watcher in watchers { watcher.resume() }
    }

    /// Sleepers' deadlines, earliest first, as offsets from time 0.
    var sleeperDeadlines: [Duration] { state.withLock { $0.sleepers.map(\.deadline.offset).sorted() } }

    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

@Suite struct AsyncTokenBucketTests {

    /// Capacity 2, one token per 100 ms, on a manual clock.
    static func bucket(_ clock: ManualClock) throws -> AsyncTokenBucket<ManualClock> {
        try AsyncTokenBucket(capacity: 2, refillTokens: 1, refillIntervalNanos: 100_000_000, clock: clock)
    }

    /// Waits on the bucket in a task that, when it ends, releases anyone waiting for sleepers.
    static func waiter(_ bucket: AsyncTokenBucket<ManualClock>, _ clock: ManualClock, _ tokens: Int,
                       deadline: ManualClock.Instant) -> Task<TokenWaitError?, Never> {
        Task {
            defer { clock.releaseWatchers() }
            do {
                try await bucket.wait(tokens, deadline: deadline)
                return nil
            } catch {
                return error as? TokenWaitError
            }
        }
    }

    @Test("tokens in the bucket are granted at once, without sleeping")
    func immediate() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        try await bucket.wait(2, deadline: clock.now)
        #expect(clock.sleeperDeadlines.isEmpty)
        #expect(bucket.availableTokens == 0)
    }

    @Test("an empty bucket makes waiters sleep exactly until their tokens are paid back, in reservation order")
    func waitersSleepInOrder() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        #expect(bucket.allow(2))
        let deadline = clock.now.advanced(by: .seconds(1))
        let first = Self.waiter(bucket, clock, 1, deadline: deadline)
        await clock.waitForSleepers(1)
        let second = Self.waiter(bucket, clock, 1, deadline: deadline)
        await clock.waitForSleepers(2)
        #expect(clock.sleeperDeadlines == [.milliseconds(100), .milliseconds(200)])
        clock.advance(by: .milliseconds(100))
        #expect(await first.value == nil)
        #expect(clock.sleeperDeadlines == [.milliseconds(200)])
        clock.advance(by: .milliseconds(100))
        #expect(await second.value == nil)
    }

    @Test("more tokens than the capacity are refused at once, naming both numbers")
    func moreThanCapacity() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        await #expect(throws: TokenWaitError.moreThanCapacity(requested: 3, capacity: 2)) {
            try await bucket.wait(3, deadline: clock.now.advanced(by: .seconds(60)))
        }
        #expect(TokenWaitError.moreThanCapacity(requested: 3, capacity: 2).description
                == "3 tokens requested; accepted: 0…2 (the bucket's capacity)")
    }

    @Test("a deadline that cannot be met is refused at once, says when the tokens would be ready, and takes nothing")
    func deadlineUnreachable() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        #expect(bucket.allow(2))
        clock.advance(by: .milliseconds(30))
        await #expect(throws: TokenWaitError.deadlineUnreachable(readyInNanos: 70_000_000, deadlineInNanos: 50_000_000)) {
            try await bucket.wait(1, deadline: clock.now.advanced(by: .milliseconds(50)))
        }
        #expect(clock.sleeperDeadlines.isEmpty)
        clock.advance(by: .milliseconds(70))
        #expect(bucket.availableTokens == 1, "the refused wait took nothing")
    }

    @Test("reservations stop at the capacity borrowed ahead")
    func reservationsFull() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        #expect(bucket.allow(2))
        let deadline = clock.now.advanced(by: .seconds(10))
        let borrowers = Self.waiter(bucket, clock, 2, deadline: deadline)
        await clock.waitForSleepers(1)
        await #expect(throws: TokenWaitError.reservationsFull(capacity: 2)) {
            try await bucket.wait(1, deadline: deadline)
        }
        clock.advance(by: .milliseconds(200))
        #expect(await borrowers.value == nil)
    }

    @Test("a waiter cancelled in its sleep throws .cancelled and its tokens stay spent")
    func cancelled() async throws {
        let clock = ManualClock()
        let bucket = try Self.bucket(clock)
        #expect(bucket.allow(2))
        let waiter = Self.waiter(bucket, clock, 1, deadline: clock.now.advanced(by: .seconds(1)))
        await clock.waitForSleepers(1)
        waiter.cancel()
        #expect(await waiter.value == .cancelled(forfeitedTokens: 1))
        clock.advance(by: .milliseconds(100))
        #expect(bucket.availableTokens == 0, "the forfeited token paid back the reservation")
    }
}
