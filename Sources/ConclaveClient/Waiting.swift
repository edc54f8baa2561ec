import Foundation

/// Runs `body`, which may block for a long time (a parked acquire, a watch's read), on a thread of
/// its own and resumes the caller with its result; a cancelled caller runs `onCancel` (which
/// should end the blocked read, e.g. by shutting its socket) and the body's error surfaces.
func waitOnOwnThread<T: Sendable>(
    onCancel: @escaping @Sendable () -> Void = {}, _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "conclave-client-wait"
            thread.start()
        }
    } onCancel: {
        onCancel()
    }
}

/// Runs an async client call to completion from a thread that is not a task (a control thread,
/// a benchmark loop), and hands back its result or error. Never call it from a task: it blocks
/// the calling thread until the call is done.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let outcome = Guarded<Result<T, any Error>?>(nil)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.with { $0 = result }
        done.signal()
    }
    done.wait()
    return try outcome.with { $0! }.get()
}

/// A value guarded by a lock, for the backends' connection state.
final class Guarded<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func with<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// Runs `body` only if the lock is free now; nil if another thread holds it.
    func withIfFree<T>(_ body: (inout Value) -> T) -> T? {
        guard lock.try() else { return nil }
        defer { lock.unlock() }
        return body(&value)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up (at least 1 for a positive duration).
    var millisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        return millis + (attoseconds % 1_000_000_000_000_000 > 0 ? 1 : 0)
    }
}

/// A random owner token: 128 bits as hex, unguessable by another client.
func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(32)
    for _ in 0..<2 {
        var word: UInt64 = generator.next()
        for _ in 0..<16 {
            bytes.append(digits[Int(word & 15)])
            word >>= 4
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// What a stream's feeding thread and its consumer share: whether the consumer dropped the
/// stream, and how to end the read the thread is blocked in.
final class StreamFeed: @unchecked Sendable {
    private let state = Guarded<(stopped: Bool, shutdown: (() -> Void)?)>((false, nil))

    var stopped: Bool { state.with { $0.stopped } }

    /// The thread is about to block on a connection: `shutdown` ends that read.
    func reading(_ shutdown: @escaping () -> Void) { state.with { $0.shutdown = shutdown } }

    func stop() {
        state.with { state in
            state.stopped = true
            state.shutdown?()
        }
    }
}

/// A stream fed by `body`, a blocking loop on a thread of its own (a watch's reads); it ends
/// when `body` returns or throws, and dropping the stream stops the feed.
func fedStream<Element: Sendable>(
    _ body: @escaping @Sendable (_ feed: StreamFeed, _ yield: (Element) -> Void) throws -> Void
) -> AsyncThrowingStream<Element, Error> {
    let (stream, continuation) = AsyncThrowingStream<Element, Error>.makeStream()
    let feed = StreamFeed()
    continuation.onTermination = { _ in feed.stop() }
    let thread = Thread {
        do {
            try body(feed) { continuation.yield($0) }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }
    thread.name = "conclave-client-stream"
    thread.start()
    return stream
}
