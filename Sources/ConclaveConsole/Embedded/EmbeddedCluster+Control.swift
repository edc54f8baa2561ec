import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import ConclaveResilience

/// Why a control could not be carried out, in words an operator can act on.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension EmbeddedCluster {
    static let consoleSessionBase: UInt64 = 900_000
    static let consoleClientsRange = 1...99

    /// Carries out an operator's action. Returns what was done (for the event log) or why not.
    @discardableResult
    public func apply(_ control: ClusterControl) -> Result<String, ControlError> {
        do {
            let done = try perform(control)
            record(control.isDangerous ? .fault : .control, done)
            return .success(done)
        } catch {
            record(.info, "refused: \(error.message)")
            return .failure(error)
        }
    }

    func resolve(_ reference: NodeRef) throws(ControlError) -> NodeID {
        switch reference {
        case .leader:
            guard let leader = simulator.leader else { throw ControlError("there is no leader now") }
            return leader
        case .id(let id):
            guard simulator.nodeIDs.contains(id) else {
                throw ControlError("no node \(id); nodes are \(simulator.nodeIDs.map(String.init).joined(separator: ", "))")
            }
            return id
        }
    }

    private func inject(_ fault: Fault) throws(ControlError) {
        do { try simulator.inject(fault) } catch { throw ControlError(error.description) }
    }

    private func perform(_ control: ClusterControl) throws(ControlError) -> String {
        switch control {
        case .kill(let reference):
            let node = try resolve(reference)
            guard !simulator.isCrashed(node) else { throw ControlError("node \(node) is already down") }
            try inject(.crash(node))
            return "killed node \(node)"
        case .restart(let reference):
            let node = try resolve(reference)
            guard simulator.isCrashed(node) else { throw ControlError("node \(node) is not down") }
            try inject(.restart(node))
            return "restarted node \(node)"
        case .restartAll:
            simulator.healAll()
            return "healed everything: network whole, clocks true, every node up"
        case .partition(let groups):
            let resolved = try groups.map { group throws(ControlError) in try group.map { node throws(ControlError) in try resolve(node) } }
            let named = resolved.flatMap { $0 }
            guard Set(named).count == named.count else { throw ControlError("a node appears in two groups") }
            try inject(.partition(resolved))
            return "partitioned " + resolved.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | ")
        case .heal:
            try inject(.heal)
            return "healed the network"
        case .isolate(let reference):
            let node = try resolve(reference)
            try inject(.partition([[node]]))
            return "isolated node \(node)"
        case .drop(let percent):
            try inject(.drop(probability: Double(percent) / 100))
            return "dropping \(percent)% of messages"
        case .delay(let millis):
            try inject(.delay(millis: millis))
            return "delaying messages by up to \(millis) ms"
        case .duplicate(let percent):
            try inject(.duplicate(probability: Double(percent) / 100))
            return "duplicating \(percent)% of messages"
        case .pause(let reference, let millis):
            let node = try resolve(reference)
            try inject(.pause(node, millis: millis))
            return "paused node \(node) for \(millis) ms"
        case .skew(let reference, let millis):
            let node = try resolve(reference)
            try inject(.skew(node, offsetMillis: millis, ratePermille: 1000))
            return "skewed node \(node)'s clock \(millis >= 0 ? "+" : "")\(millis) ms"
        case .transfer(let reference):
            let node = try resolve(reference)
            do { try simulator.transferLeadership(to: node) } catch { throw ControlError(error.description) }
            return "asked the leader to hand over to node \(node)"
        case .addNode:
            do {
                let node = try simulator.addNode()
                try simulator.changeMembership(.addLearner(node))
                return "added node \(node) as a learner"
            } catch { throw ControlError(error.description) }
        case .removeNode(let reference):
            let node = try resolve(reference)
            do { try simulator.changeMembership(.remove(node)) } catch { throw ControlError(error.description) }
            return "proposed removing node \(node)"
        case .lockAcquire, .lockRelease, .lockWrite, .expireSession:
            return try performLock(control)
        case .workload(let knob, let value):
            return try setKnob(knob, value)
        case .time(let time):
            return try performTime(time)
        case .breaker(let name, let action):
            return try performBreaker(name, action)
        }
    }

    private func setKnob(_ knob: WorkloadKnob, _ value: Int) throws(ControlError) -> String {
        let range: ClosedRange<Int>
        switch knob {
        case .clients: range = WorkloadKnobs.clientsRange
        case .rate: range = WorkloadKnobs.rateRange
        case .contention, .spin: range = 0...100
        case .locks: range = WorkloadKnobs.locksRange
        }
        guard range.contains(value) else { throw ControlError("\(knob.rawValue) must be in \(range.lowerBound)…\(range.upperBound), got \(value)") }
        switch knob {
        case .clients:
            workload.knobs.clients = value
            resizeWorkload()
        case .rate: workload.knobs.rate = value
        case .contention: workload.knobs.contentionPercent = value
        case .spin: workload.knobs.spinPercent = value
        case .locks: workload.knobs.locks = value
        }
        return "workload \(knob.rawValue) = \(value)"
    }

    private func performTime(_ time: TimeControl) throws(ControlError) -> String {
        switch time {
        case .pause: isPaused = true
        case .resume: isPaused = false
        case .toggle: isPaused.toggle()
        case .step:
            isPaused = true
            return step()
        case .speed(let value):
            guard TimeControl.speedRange.contains(value) else { throw ControlError("speed must be in 0.01…100, got \(value)") }
            speed = value
        case .faster: speed = min(TimeControl.speedRange.upperBound, speed * 2)
        case .slower: speed = max(TimeControl.speedRange.lowerBound, speed / 2)
        }
        if case .pause = time {} else if case .toggle = time {} else if case .resume = time {} else { return "speed \(Self.format(speed))×" }
        return isPaused ? "time paused" : "time running at \(Self.format(speed))×"
    }

    static func format(_ speed: Double) -> String {
        speed >= 1 ? (speed == speed.rounded() ? "\(Int(speed))" : String(format2: speed)) : String(format2: speed)
    }

    private func performBreaker(_ name: String, _ action: BreakerAction) throws(ControlError) -> String {
        let names = (1...services.breakers.count).map { "node-\($0)" }
        guard let index = names.firstIndex(of: name) else {
            throw ControlError("no breaker '\(name)'; breakers are \(names.joined(separator: ", "))")
        }
        let now = simulator.now
        let transition: CircuitBreakerTransition?
        switch action {
        case .open: transition = services.breakers[index].forceOpen(nowNanos: now)
        case .disable: transition = services.breakers[index].disable(nowNanos: now)
        case .reset: transition = services.breakers[index].reset(nowNanos: now)
        }
        services.note(transition, breaker: index)
        for (kind, text) in services.log { record(kind, text) }
        services.log.removeAll()
        return "breaker \(name): \(action.rawValue)"
    }

    private func consoleSession(_ client: Int) throws(ControlError) -> UInt64 {
        guard Self.consoleClientsRange.contains(client) else {
            throw ControlError("--client must be in \(Self.consoleClientsRange.lowerBound)…\(Self.consoleClientsRange.upperBound), got \(client)")
        }
        return Self.consoleSessionBase + UInt64(client)
    }

    private func performLock(_ control: ClusterControl) throws(ControlError) -> String {
        guard let node = simulator.leader else { throw ControlError("there is no leader to send the request to") }
        switch control {
        case .lockAcquire(let name, let client, let ttl):
            let session = try consoleSession(client)
            if workload.consoleSessions[client] == nil {
                submitConsole(.openSession(ttlMillis: 10_000), session: session, to: node)
                workload.consoleSessions[client] = session
            }
            try submitConsoleChecked(.acquire(lock: name, kind: .mutex, mode: .exclusive, waitMillis: 10_000, ttlMillis: ttl, lockDelayMillis: 0),
                                     session: session, to: node)
            workload.consoleAsked[client] = name
            return "console client \(client) asks for \(name)" + (ttl.map { " (TTL \($0) ms)" } ?? "")
        case .lockRelease(let name, let client):
            let session = try consoleSession(client)
            guard workload.consoleSessions[client] != nil else { throw ControlError("console client \(client) has no session; acquire first") }
            try submitConsoleChecked(.release(lock: name), session: session, to: node)
            return "console client \(client) releases \(name)"
        case .lockWrite(let name, let key, let value, let client):
            _ = try consoleSession(client)
            guard let token = workload.consoleTokens["\(client)/\(name)"] else {
                throw ControlError("console client \(client) was never granted \(name), so it has no token to write with")
            }
            try submitConsoleChecked(.fencedPut(key: key, value: value, lock: name, token: token), session: try consoleSession(client), to: node)
            return "console client \(client) writes \(key)=\(value) with token \(token) of \(name)"
        case .expireSession(let client):
            let session: UInt64
            if let console = workload.consoleSessions.removeValue(forKey: client) {
                session = console
            } else if client >= 0, client < workload.clients.count, !workload.clients[client].isConfigWriter {
                session = workload.clients[client].session
            } else {
                throw ControlError("no session for client \(client): workload lock clients are 0…\(max(0, workload.clients.count - 1)), console clients those that acquired")
            }
            try submitConsoleChecked(.closeSession, session: session, to: node)
            return "expired session \(session): its locks and waits go"
        default:
            throw ControlError("not a lock action")
        }
    }

    private func submitConsole(_ command: CoordinationCommand, session: UInt64, to node: NodeID) {
        workload.consoleSequence += 1
        _ = simulator.submit(CoordinationRequest(client: session, sequence: workload.consoleSequence, command: command), to: node)
    }

    private func submitConsoleChecked(_ command: CoordinationCommand, session: UInt64, to node: NodeID) throws(ControlError) {
        workload.consoleSequence += 1
        if case .refused(let reason) = simulator.submit(CoordinationRequest(client: session, sequence: workload.consoleSequence, command: command), to: node) {
            throw ControlError("node \(node) refused: \(reason)")
        }
    }

    func consoleReplied(session: UInt64, result: CoordinationResult) {
        let client = session - Self.consoleSessionBase
        switch result {
        case .acquire(.granted(let token, _)):
            let lock = workload.consoleAsked[Int(client)] ?? "?"
            workload.consoleTokens["\(client)/\(lock)"] = token
            record(.lock, "console client \(client) holds \(lock), token \(token)")
        case .fenced(let accepted, let reason):
            record(.lock, "console client \(client): write " + (accepted ? "accepted" : "REFUSED: \(reason)"))
        case .acquire(.queued(let position)): record(.lock, "console client \(client) queued behind \(position)")
        case .refused(let error): record(.lock, "console client \(client): \(error)")
        default: break
        }
    }

    /// Console sessions stay alive until expired from the palette.
    func keepConsoleSessionsAlive() {
        guard simulator.now % 2_000_000_000 < Self.serviceIntervalNanos, let node = simulator.leader else { return }
        for session in workload.consoleSessions.values.sorted() { submitConsole(.keepAlive, session: session, to: node) }
    }
}

extension String {
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
