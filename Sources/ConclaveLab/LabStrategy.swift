/// The strategies the lab compares, by the name the command line and the console use.
public enum LabStrategy: String, CaseIterable, Sendable {
    case mutex
    case channel
    case spin
    case spinBackoff = "spin-backoff"
    case spinYield = "spin-yield"
    case ticket
    case async
    case unlocked

    /// What the console and the tables call it.
    public var title: String {
        switch self {
        case .mutex: "mutex (pthread, sleeps)"
        case .channel: "try-lock, one-slot channel, spinning"
        case .spin: "CAS spin"
        case .spinBackoff: "CAS spin, exponential backoff + jitter"
        case .spinYield: "CAS spin, yield"
        case .ticket: "ticket lock (fair spin)"
        case .async: "async lock (Swift tasks)"
        case .unlocked: "UNLOCKED (lost updates expected)"
        }
    }

    /// Why it costs what it costs, in one line (the console's Local view shows it).
    public var note: String {
        switch self {
        case .mutex: "waiters sleep on a futex: no CPU burnt, a wake-up per hand-off; the releaser often takes it straight back (unfair)"
        case .channel: "every waiter retries its try in a loop: with more threads than cores, CPU goes to failed tries (livelock)"
        case .spin: "one CAS when free; under contention waiters burn the quantum the preempted holder needs"
        case .spinBackoff: "random, growing pauses cut the failed CAS, not the preempted-holder problem"
        case .spinYield: "a failed CAS gives the core away, so the holder runs: cheap and fast, but unfair"
        case .ticket: "served in arrival order, so fair; each hand-off waits for one particular thread to be scheduled"
        case .async: "waiters suspend in a FIFO; a hand-off resumes a continuation (µs), no spinning"
        case .unlocked: "no exclusion: read-work-write increments overlap and the counter loses updates"
        }
    }

    /// Whether the strategy claims mutual exclusion (all but `unlocked`).
    public var excludes: Bool { self != .unlocked }

    /// Whether the workers are Swift tasks on the cooperative pool rather than threads of their own.
    public var runsOnTasks: Bool { self == .async }

    /// A fresh lock for the thread workload; nil for the async lock, which tasks drive (`AsyncLock`).
    public func makeLock() -> (any LabLock)? {
        switch self {
        case .mutex: MutexLock()
        case .channel: ChannelTryLock()
        case .spin: SpinLock(backoff: .none)
        case .spinBackoff: SpinLock(backoff: .exponential)
        case .spinYield: SpinLock(backoff: .yield)
        case .ticket: TicketLock()
        case .unlocked: UnlockedLock()
        case .async: nil
        }
    }

    /// The accepted names, for error messages.
    public static var acceptedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
