import ConclaveCluster
import ConclaveCoordination
import ConclaveCore

/// The console's own lock clients: the palette's `lock …` commands acquire, release and write
/// with fencing tokens as clients 1…99, each with a session kept alive until expired.
extension DemoWorkload {
    static let consoleSessionBase: UInt64 = 900_000
    static let consoleClientsRange = 1...99

    private func consoleSession(_ client: Int) throws(ControlError) -> UInt64 {
        guard Self.consoleClientsRange.contains(client) else {
            throw ControlError("--client must be in \(Self.consoleClientsRange.lowerBound)…\(Self.consoleClientsRange.upperBound), got \(client)")
        }
        return Self.consoleSessionBase + UInt64(client)
    }

    /// Carries out a lock action for a console client through the leader; says what was asked.
    mutating func perform(lock control: ClusterControl) throws(ControlError) -> String {
        guard let node = simulator.leader else { throw ControlError("there is no leader to send the request to") }
        switch control {
        case .lockAcquire(let name, let client, let ttl):
            let session = try consoleSession(client)
            if consoleSessions[client] == nil {
                _ = submitConsole(.openSession(ttlMillis: 10_000), session: session, to: node)
                consoleSessions[client] = session
            }
            try submitConsoleChecked(.acquire(lock: name, kind: .mutex, mode: .exclusive, waitMillis: 10_000, ttlMillis: ttl, lockDelayMillis: 0),
                                     session: session, to: node)
            consoleAsked[client] = name
            return "console client \(client) asks for \(name)" + (ttl.map { " (TTL \($0) ms)" } ?? "")
        case .lockRelease(let name, let client):
            let session = try consoleSession(client)
            guard consoleSessions[client] != nil else { throw ControlError("console client \(client) has no session; acquire first") }
            try submitConsoleChecked(.release(lock: name), session: session, to: node)
            return "console client \(client) releases \(name)"
        case .lockWrite(let name, let key, let value, let client):
            let session = try consoleSession(client)
            guard let token = consoleTokens["\(client)/\(name)"] else {
                throw ControlError("console client \(client) was never granted \(name), so it has no token to write with")
            }
            try submitConsoleChecked(.fencedPut(key: key, value: value, lock: name, token: token), session: session, to: node)
            return "console client \(client) writes \(key)=\(value) with token \(token) of \(name)"
        case .expireSession(let client):
            let session = try sessionToExpire(client)
            try submitConsoleChecked(.closeSession, session: session, to: node)
            return "expired session \(session): its locks and waits go"
        default:
            throw ControlError("not a lock action")
        }
    }

    /// A console client's session (forgotten here), or a workload lock client's.
    private mutating func sessionToExpire(_ client: Int) throws(ControlError) -> UInt64 {
        if let console = consoleSessions.removeValue(forKey: client) { return console }
        if client >= 0, client < clients.count, !clients[client].isConfigWriter { return clients[client].session }
        throw ControlError("no session for client \(client): workload lock clients are 0…\(max(0, clients.count - 1)), console clients those that acquired")
    }

    private mutating func submitConsole(_ command: CoordinationCommand, session: UInt64, to node: NodeID) -> Simulator.Submission {
        consoleSequence += 1
        return simulator.submit(CoordinationRequest(client: session, sequence: consoleSequence, command: command), to: node)
    }

    private mutating func submitConsoleChecked(_ command: CoordinationCommand, session: UInt64, to node: NodeID) throws(ControlError) {
        if case .refused(let reason) = submitConsole(command, session: session, to: node) {
            throw ControlError("node \(node) refused: \(reason)")
        }
    }

    mutating func consoleReplied(session: UInt64, result: CoordinationResult) {
        let client = session - Self.consoleSessionBase
        switch result {
        case .acquire(.granted(let token, _)):
            let lock = consoleAsked[Int(client)] ?? "?"
            consoleTokens["\(client)/\(lock)"] = token
            record(.lock, "console client \(client) holds \(lock), token \(token)")
        case .fenced(let accepted, let reason):
            record(.lock, "console client \(client): write " + (accepted ? "accepted" : "REFUSED: \(reason)"))
        case .acquire(.queued(let position)): record(.lock, "console client \(client) queued behind \(position)")
        case .refused(let error): record(.lock, "console client \(client): \(error)")
        default: break
        }
    }

    /// Console sessions stay alive until expired from the palette: a keep-alive every 2 s.
    mutating func keepConsoleSessionsAlive() {
        guard simulator.now % 2_000_000_000 < EmbeddedTimer.serviceIntervalNanos, let node = simulator.leader else { return }
        for session in consoleSessions.values.sorted() { _ = submitConsole(.keepAlive, session: session, to: node) }
    }
}
