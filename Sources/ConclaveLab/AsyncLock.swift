import Synchronization

/// A lock for Swift concurrency: a waiter suspends (its continuation joins a FIFO queue) instead of
/// blocking its thread, so the cooperative pool's few threads keep running other tasks. Release
/// hands the lock straight to the first waiter, so it is fair like the ticket lock, without spinning.
///
/// The queue holds at most one continuation per waiting task; the lab bounds tasks to 64.
public final class AsyncLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Holds the lock on return; suspends while others hold it.
    public func acquire() async {
        if tryAcquire() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let grantedNow = state.withLock { state in
                if !state.held {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if grantedNow { continuation.resume() }
        }
    }

    public func tryAcquire() -> Bool {
        state.withLock { state in
            guard !state.held else { return false }
            state.held = true
            return true
        }
    }

    /// Gives the lock to the longest waiter (it stays held) or frees it.
    public func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            precondition(state.held, "released an async lock that was not held")
            guard state.head < state.waiters.count else {
                state.held = false
                return nil
            }
            let first = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return first
        }
        next?.resume()
    }
}
