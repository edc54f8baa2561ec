import ConclaveCluster
import ConclaveCore

/// The embedded cluster's demo workload: lock clients and config writers with their sessions, the
/// delay-task client, the console's own lock clients (the palette's `lock …` commands), and what
/// they counted. It submits to the simulator it is given and is woken by its own timers on it
/// (`EmbeddedTimer.client`); deterministic from its generator.
///
/// Its lines for the event log collect in `log`, which the owner drains after every call.
struct DemoWorkload {
    let simulator: Simulator
    var knobs: WorkloadKnobs
    var random: SeededGenerator
    var clients: [WorkloadClient] = []
    var consoleSessions: [Int: UInt64] = [:]
    var consoleSequence: UInt64 = 0
    var taskSequence: UInt64 = 0
    var nextTaskName: UInt64 = 0
    /// The lock each console client last asked for, and the tokens it was granted (for fenced writes).
    var consoleAsked: [Int: String] = [:]
    var consoleTokens: [String: UInt64] = [:]
    /// Grants and refusals the workload saw per lock (the table forgets a lock once it is free).
    var lockCounts: [String: (acquires: Int, refusals: Int)] = [:]
    /// Attempts and grants of fair (queued) and spinning (try-lock) clients, since the start.
    var contentionCounts = ContentionCounts()
    /// Lines for the event log since the owner last drained it.
    var log: [(ClusterEvent.Kind, String)] = []

    /// Starts `knobs.clients` clients, each woken first within 100 ms.
    init(simulator: Simulator, knobs: WorkloadKnobs, random: SeededGenerator) {
        self.simulator = simulator
        self.knobs = knobs
        self.random = random
        resize()
    }

    /// Adds or retires clients to match `knobs.clients`; a retired client's pending timer goes stale.
    mutating func resize() {
        let wanted = knobs.clients
        while clients.count < wanted {
            let slot = clients.count
            clients.append(WorkloadClient(slot: slot, isConfigWriter: slot % 3 == 2))
            scheduleClient(slot, after: random.next() % 100_000_000)
        }
        for slot in clients.indices.reversed() where slot >= wanted {
            clients[slot].inFlight = nil
            clients[slot].timerGeneration += 1
        }
        if clients.count > wanted { clients.removeLast(clients.count - wanted) }
    }

    mutating func set(_ knob: WorkloadKnob, _ value: Int) throws(ControlError) -> String {
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
            knobs.clients = value
            resize()
        case .rate: knobs.rate = value
        case .contention: knobs.contentionPercent = value
        case .spin: knobs.spinPercent = value
        case .locks: knobs.locks = value
        }
        return "workload \(knob.rawValue) = \(value)"
    }

    mutating func scheduleClient(_ slot: Int, after nanos: UInt64) {
        clients[slot].timerGeneration = (clients[slot].timerGeneration + 1) & 0xFFFF_FFFF
        let timer = EmbeddedTimer.client(slot: slot, generation: clients[slot].timerGeneration)
        simulator.schedule(timer: timer.token, at: simulator.now + nanos)
    }

    /// Whether a client timer is still the one its client waits for (not superseded or retired).
    func isCurrent(slot: Int, generation: UInt64) -> Bool {
        slot < clients.count && clients[slot].timerGeneration == generation
    }

    /// Whether the client in `slot` spins on try-lock: the first `spinPercent` of the lock clients.
    func isSpinner(_ slot: Int) -> Bool {
        let lockClients = clients.filter { !$0.isConfigWriter }.map(\.slot)
        guard let rank = lockClients.firstIndex(of: slot) else { return false }
        return rank * 100 < knobs.spinPercent * lockClients.count
    }

    mutating func record(_ kind: ClusterEvent.Kind, _ text: String) {
        log.append((kind, text))
    }
}

/// Lock attempts and grants since the start, fair clients against spinning ones.
struct ContentionCounts: Equatable {
    var fairAttempts = 0
    var fairGrants = 0
    var spinAttempts = 0
    var spinGrants = 0

    /// Per second over the `seconds` since `mark`.
    func rates(since mark: Self, seconds: Double) -> ContentionStats {
        var stats = ContentionStats()
        stats.fairAttempts = Double(fairAttempts - mark.fairAttempts) / seconds
        stats.fairGrants = Double(fairGrants - mark.fairGrants) / seconds
        stats.spinAttempts = Double(spinAttempts - mark.spinAttempts) / seconds
        stats.spinGrants = Double(spinGrants - mark.spinGrants) / seconds
        return stats
    }
}
