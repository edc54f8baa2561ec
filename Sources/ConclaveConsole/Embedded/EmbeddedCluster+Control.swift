import ConclaveCore

extension EmbeddedCluster: ControlPerforming {
    /// Carries out an operator's action. Returns what was done (for the event log) or why not.
    @discardableResult
    public func apply(_ control: ClusterControl) -> Result<String, ControlError> { performLogged(control) }

    /// Sends each control to the piece that owns what it changes.
    func perform(_ control: ClusterControl) throws(ControlError) -> String {
        if let reason = control.unavailability(on: .raft) { throw ControlError(reason) }
        switch control {
        case .lockAcquire, .lockRelease, .lockWrite, .expireSession:
            return try workload.perform(lock: control)
        case .workload(let knob, let value):
            return try workload.set(knob, value)
        case .time(.step):
            driver.time.isPaused = true
            return step()
        case .time(let time):
            return try driver.time.perform(time)
        case .breaker(let name, let action):
            let done = try services.perform(action, onBreaker: name, nowNanos: simulator.now)
            recordServicesLog()
            return done
        case .kill, .restart, .restartAll, .partition, .heal, .isolate, .drop, .delay, .duplicate, .pause, .skew,
             .transfer, .addNode, .removeNode:
            return try driver.perform(fault: control)
        case .paxos, .engine:
            throw ControlError("not a Raft control")
        }
    }
}

extension String {
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
