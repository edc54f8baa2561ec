import ConclaveResilience
import Synchronization

/// A token bucket callers can wait on: `wait(n, deadline:)` suspends until `n` tokens are theirs, or
/// says at once why that cannot happen by the deadline. The decision is the pure `TokenBucket.reserve`;
/// this type only owns the lock and the sleeping, on a clock it is given — `ContinuousClock` for real,
/// a manual clock in tests, so no test waits on the wall clock.
///
/// Contract:
/// - Waiters are served in the order they reserved: each reservation takes its tokens at once, ahead
///   of refill, and sleeps until the bucket has paid them back. So a waiter never loses its place to a
///   later caller, and the bucket's rate holds across all of them (`TokenBucket`'s bound).
/// - Refusals cost nothing: when the count is more than the capacity, when the tokens would be ready
///   only after the deadline, or when `capacity` tokens are already reserved ahead, `wait` throws
///   without taking a token.
/// - A waiter cancelled while asleep forfeits its tokens (they were reserved; giving them back would
///   let later reservations jump the queue). It throws `.cancelled`.
public final class AsyncTokenBucket<WaitClock: Clock>: Sendable where WaitClock.Duration == Duration {
    private let clock: WaitClock
    /// Bucket time 0: nanoseconds for the pure bucket are measured from here.
    private let origin: WaitClock.Instant
    private let bucket: Mutex<TokenBucket>
    public let capacity: Int

    /// - Throws: `ResilienceConfigurationError` for the bucket's bad parameters (see `TokenBucket`).
    public init(capacity: Int, refillTokens: Int, refillIntervalNanos: UInt64, clock: WaitClock)
        throws(ResilienceConfigurationError)
    {
        self.clock = clock
        origin = clock.now
        bucket = Mutex(try TokenBucket(capacity: capacity, refillTokens: refillTokens,
                                       refillIntervalNanos: refillIntervalNanos, nowNanos: 0))
        self.capacity = capacity
    }

    /// Takes `tokens` now if the bucket holds them, without waiting.
    public func allow(_ tokens: Int = 1) -> Bool {
        let now = nanos(at: clock.now)
        return bucket.withLock { $0.allow(tokens, nowNanos: now) }
    }

    /// Returns once `tokens` tokens are the caller's, no later than `deadline`.
    /// - Throws: `TokenWaitError` — `.moreThanCapacity` (no wait would do), `.deadlineUnreachable` (the
    ///   tokens are ready only after the deadline; says when), `.reservationsFull`, or `.cancelled`.
    public func wait(_ tokens: Int = 1, deadline: WaitClock.Instant) async throws(TokenWaitError) {
        guard tokens >= 0, tokens <= capacity else { throw .moreThanCapacity(requested: tokens, capacity: capacity) }
        let start = clock.now
        let startNanos = nanos(at: start)
        let maxWaitNanos = start < deadline ? Self.nanos(start.duration(to: deadline)) : 0
        let reservation = bucket.withLock { $0.reserve(tokens, nowNanos: startNanos, maxWaitNanos: maxWaitNanos) }
        switch reservation {
        case .granted(let waitNanos):
            guard waitNanos > 0 else { return }
            do {
                try await clock.sleep(until: start.advanced(by: .nanoseconds(Int64(clamping: waitNanos))), tolerance: nil)
            } catch {
                throw .cancelled(forfeitedTokens: tokens)
            }
        case .refused(.waitTooLong(let waitNanos)):
            throw .deadlineUnreachable(readyInNanos: waitNanos, deadlineInNanos: maxWaitNanos)
        case .refused(.reservationsFull):
            throw .reservationsFull(capacity: capacity)
        case .refused(.moreThanCapacity):
            throw .moreThanCapacity(requested: tokens, capacity: capacity)
        }
    }

    /// Whole tokens available now (0 while reservations are being paid back).
    public var availableTokens: Int {
        let now = nanos(at: clock.now)
        return bucket.withLock { $0.availableTokens(atNanos: now) }
    }

    private func nanos(at instant: WaitClock.Instant) -> UInt64 {
        origin < instant ? Self.nanos(origin.duration(to: instant)) : 0
    }

    private static func nanos(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}

/// Why `AsyncTokenBucket.wait` did not grant its tokens.
public enum TokenWaitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// More tokens than the bucket can ever hold: no wait would do.
    case moreThanCapacity(requested: Int, capacity: Int)
    /// The tokens would be ready in `readyInNanos`, after the deadline (`deadlineInNanos` from now).
    case deadlineUnreachable(readyInNanos: UInt64, deadlineInNanos: UInt64)
    /// `capacity` tokens are already reserved by earlier waiters.
    case reservationsFull(capacity: Int)
    /// The waiting task was cancelled; its reserved tokens are spent.
    case cancelled(forfeitedTokens: Int)

    public var description: String {
        switch self {
        case .moreThanCapacity(let requested, let capacity):
            return "\(requested) tokens requested; accepted: 0…\(capacity) (the bucket's capacity)"
        case .deadlineUnreachable(let ready, let deadline):
            return "the tokens are ready in \(ready) ns, after the deadline in \(deadline) ns"
        case .reservationsFull(let capacity):
            return "\(capacity) tokens are already reserved ahead of refill"
        case .cancelled(let tokens):
            return "cancelled while waiting; \(tokens) reserved tokens forfeited"
        }
    }
}
