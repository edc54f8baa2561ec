/// Raft and Multi-Paxos side by side (engine `both`): one virtual clock, and every operator fault
/// carried out on both, so the same partition schedule meets both engines. A control only one of
/// them has (skew on Raft, the proposer policy on Paxos) goes to that one. The snapshot is Raft's
/// (views 2–8 show the Raft cluster) with Paxos's beside it and the two event logs merged.
public final class EmbeddedPair: EmbeddedEngine {
    public let raft: EmbeddedCluster
    public let paxos: EmbeddedPaxos
    var observed = ClusterObservations()
    var seen = (raft: UInt64(0), paxos: UInt64(0))

    public init(raft: EmbeddedCluster, paxos: EmbeddedPaxos) {
        self.raft = raft
        self.paxos = paxos
        drainEvents()
    }

    public var nowNanos: UInt64 { raft.nowNanos }
    public var isPaused: Bool { raft.isPaused }
    public var speed: Double { raft.speed }

    public func advance(until deadline: UInt64) {
        raft.advance(until: deadline)
        paxos.advance(until: deadline)
        drainEvents()
    }

    /// One event on each: Raft's next event time, Paxos's next message.
    @discardableResult
    public func step() -> String {
        let shown = "raft: \(raft.step()) · paxos: \(paxos.step())"
        drainEvents()
        return shown
    }

    /// Carries the control out on each engine that has it; fails if any engine refused it.
    @discardableResult
    public func apply(_ control: ClusterControl) -> Result<String, ControlError> {
        var outcomes: [(engine: String, result: Result<String, ControlError>)] = []
        if control.unavailability(on: .raft) == nil { outcomes.append(("raft", raft.apply(control))) }
        if control.unavailability(on: .paxos) == nil { outcomes.append(("paxos", paxos.apply(control))) }
        drainEvents()
        let texts = outcomes.map { outcome -> String in
            switch outcome.result {
            case .success(let text): return "\(outcome.engine): \(text)"
            case .failure(let error): return "\(outcome.engine) refused: \(error.message)"
            }
        }
        let text = texts.joined(separator: " · ")
        return outcomes.contains { if case .failure = $0.result { true } else { false } } ? .failure(ControlError(text)) : .success(text)
    }

    public func snapshot() -> ClusterSnapshot {
        var snapshot = raft.snapshot()
        snapshot.engine = .both
        snapshot.paxos = paxos.snapshot().paxos
        snapshot.events = observed.events
        if raft.lastStep != nil || paxos.lastStep != nil {
            snapshot.lastStep = "raft: \(raft.lastStep ?? "-") · paxos: \(paxos.lastStep ?? "-")"
        }
        return snapshot
    }

    /// Both engines' new events into one log, in the order they were drained, each named.
    func drainEvents() {
        for event in raft.observed.events where event.sequence > seen.raft {
            observed.record(event.kind, "raft: " + event.text, atNanos: event.nanos)
            seen.raft = event.sequence
        }
        for event in paxos.observed.events where event.sequence > seen.paxos {
            observed.record(event.kind, "paxos: " + event.text, atNanos: event.nanos)
            seen.paxos = event.sequence
        }
    }
}
