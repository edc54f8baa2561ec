#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clocks the lab reads: monotonic time for latencies and deadlines, and the calling
/// thread's CPU time for the wasted-CPU account.
public enum LabClock {
    public static func nanoseconds() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// CPU time (user + system) the calling thread has used since it started.
    public static func threadCPUNanoseconds() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// Keeps the CPU busy for `nanoseconds` of monotonic time: the critical section's work and the
    /// think time between operations. Busy, not asleep, so that it costs CPU like real work does.
    @inline(never)
    public static func spin(for nanoseconds: UInt64) {
        guard nanoseconds > 0 else { return }
        let start = self.nanoseconds()
        while self.nanoseconds() &- start < nanoseconds {}
    }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
