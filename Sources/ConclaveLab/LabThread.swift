#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real OS thread running one closure, which the lab always joins: no thread outlives its run.
/// Join it exactly once.
struct LabThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let handle: pthread_t

    /// The name every lab thread carries (`/proc/self/task/*/comm`), so tests can count them.
    static let name = "conclave-lab"

    init(_ run: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { raw in
            #if os(Linux)
            _ = setThreadName(pthread_self(), LabThread.name)
            #endif
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, body)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.handle = handle
    }

    func join() {
        let status = pthread_join(handle, nil)
        precondition(status == 0, "pthread_join failed: \(status)")
    }
}

#if os(Linux)
/// glibc's `pthread_setname_np`, which the Glibc module hides behind _GNU_SOURCE.
@_silgen_name("pthread_setname_np")
private func setThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
#endif
