import ArgumentParser
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Histogram

/// `conclave bench locks`: acquire+release cycles through a 3-node in-process Raft cluster whose
/// nodes each apply to their own coordination state machine. Each client keeps one cycle going:
/// a fair blocking acquire, and once granted a release; a cycle's latency runs from proposing the
/// acquire to the release applied on the leader. Clients on one lock queue behind each other (a
/// grant costs no extra commit: the release grants the next waiter in the same apply step).
struct BenchLocks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locks",
        abstract: "Lock acquire+release cycles/s, 1/8/64 clients on one lock and on distinct locks (target ≥ 100k/s at 64 clients, 64 locks)."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Cycles to measure per configuration (1000…10000000).")
    var cycles = 100_000

    func validate() throws {
        guard (1_000...10_000_000).contains(cycles) else { throw ValidationError("--cycles must be in 1000…10000000, got \(cycles)") }
    }

    func run() throws {
        var results: [BenchResult] = []
        for distinct in [false, true] {
            for clients in [1, 8, 64] {
                var bench = try LockBench(clients: clients, distinctLocks: distinct)
                results.append(try bench.measure(cycles: clients == 1 ? cycles / 10 : cycles))
            }
        }
        for sessions in [0, 100_000] { results.append(ClockEntryBench.measure(sessions: sessions, entries: 10_000)) }
        for waiting in [8, 1_000, CoordinationLimits.waitersPerLockMax - 1] {
            results.append(DeepQueueBench.measure(waiting: waiting, handOffs: 2_000))
        }
        BenchReport.emit(results, json: options.json)
    }
}

/// Applying one `elapsed` clock entry to a state machine holding `sessions` live sessions, each
/// holding its own lock with a TTL far away: what cluster time costs every 100 ms on every
/// replica. With the expiry and deadline heaps it stays flat as sessions and locks grow (before
/// them, every entry scanned all sessions and sorted all lock names).
enum ClockEntryBench {
    static func measure(sessions: Int, entries: Int) -> BenchResult {
        var machine = CoordinationStateMachine()
        var index: LogIndex = 0
        func apply(_ client: UInt64, _ sequence: UInt64, _ command: CoordinationCommand) {
            index += 1
            _ = machine.apply(index: index, data: CoordinationRequest(client: client, sequence: sequence, command: command).encoded())
        }
        for client in 0..<UInt64(sessions) {
            apply(client + 1, 1, .openSession(ttlMillis: 86_400_000))
            apply(client + 1, 2, .acquire(lock: "lock-\(client)", kind: .mutex, mode: .exclusive, waitMillis: nil,
                                          ttlMillis: 86_000_000, lockDelayMillis: 0))
        }
        var histogram = BenchClock.latencyHistogram()
        let start = BenchClock.nanoseconds()
        for _ in 0..<entries {
            let before = BenchClock.nanoseconds()
            apply(0, 0, .elapsed(millis: 1))
            histogram.record(BenchClock.nanoseconds() - before)
        }
        let elapsed = BenchClock.nanoseconds() - start
        return BenchResult(name: "clock entry applied, \(sessions) sessions holding \(sessions) locks", unit: "entries/s",
                           value: Double(entries) / (Double(elapsed) / 1e9), histogram: histogram)
    }
}

/// Applying one hand-off on a lock with `waiting` acquires queued behind its holder: the holder's
/// release (which grants the head of the queue) and its acquire again at the tail, as two entries
/// on one state machine — what every replica pays per hand-off. Flat in the queue's length
/// (`LockQueue`): nothing in a hand-off scans or copies the waiters.
enum DeepQueueBench {
    static func measure(waiting: Int, handOffs: Int) -> BenchResult {
        var machine = CoordinationStateMachine()
        var index: LogIndex = 0
        var sequences = Array(repeating: UInt64(0), count: waiting + 2)
        func apply(_ client: Int, _ command: CoordinationCommand) -> (CoordinationResult?, [LockEvent]) {
            index += 1
            sequences[client] += 1
            let data = CoordinationRequest(client: UInt64(client), sequence: sequences[client], command: command).encoded()
            let applied = machine.apply(index: index, data: data).coordination
            return (applied?.result, applied?.events ?? [])
        }
        let acquire = CoordinationCommand.acquire(lock: "deep", kind: .mutex, mode: .exclusive, waitMillis: 86_400_000,
                                                  ttlMillis: nil, lockDelayMillis: 0)
        for client in 1...(waiting + 1) {
            _ = apply(client, .openSession(ttlMillis: 86_400_000))
            _ = apply(client, acquire)
        }
        var holder = 1
        var histogram = BenchClock.latencyHistogram()
        let start = BenchClock.nanoseconds()
        for _ in 0..<handOffs {
            let before = BenchClock.nanoseconds()
            let (_, events) = apply(holder, .release(lock: "deep"))
            _ = apply(holder, acquire)
            histogram.record(BenchClock.nanoseconds() - before)
            guard case .granted(_, let next, _, _)? = events.first else {
                preconditionFailure("a release with \(waiting) queued granted nobody: \(events)")
            }
            holder = Int(next)
        }
        let elapsed = BenchClock.nanoseconds() - start
        return BenchResult(name: "lock hand-off applied (release + acquire again), \(waiting) waiting", unit: "hand-offs/s",
                           value: Double(handOffs) / (Double(elapsed) / 1e9), histogram: histogram)
    }
}

/// One measurement: the cluster, a state machine per node, and the clients' progress.
struct LockBench {
    var cluster: BenchCluster
    var machines: [CoordinationStateMachine]
    let clients: Int
    let distinctLocks: Bool
    var sequences: [UInt64]
    var startedAt: [UInt64]

    init(clients: Int, distinctLocks: Bool) throws {
        cluster = try BenchCluster(nodes: 3)
        machines = Array(repeating: CoordinationStateMachine(), count: 3)
        // The election's empty entry was applied before these machines existed.
        for index in 1...max(1, cluster.nodes[0].committedIndex) {
            for position in machines.indices { machines[position].skip(index: index) }
        }
        self.clients = clients
        self.distinctLocks = distinctLocks
        sequences = Array(repeating: 0, count: clients + 1)
        startedAt = Array(repeating: 0, count: clients + 1)
    }

    func lockName(_ client: Int) -> String { distinctLocks ? "lock-\(client)" : "lock" }

    mutating func propose(_ client: Int, _ command: CoordinationCommand) throws {
        sequences[client] += 1
        try cluster.nodes[0].propose(CoordinationRequest(client: UInt64(client), sequence: sequences[client], command: command).encoded())
    }

    mutating func measure(cycles target: Int) throws -> BenchResult {
        for client in 1...clients { try propose(client, .openSession(ttlMillis: 86_400_000)) }
        var opened = 0
        while opened < clients { step { _, result, _ in if case .sessionOpened = result { opened += 1 } } }
        var histogram = BenchClock.latencyHistogram()
        let acquire = { (client: Int) in CoordinationCommand.acquire(
            lock: "", kind: .mutex, mode: .exclusive, waitMillis: 86_400_000, ttlMillis: nil, lockDelayMillis: 0) }
        for client in 1...clients {
            startedAt[client] = BenchClock.nanoseconds()
            try propose(client, withLock(acquire(client), client))
        }
        var completed = 0
        let start = BenchClock.nanoseconds()
        while completed < target {
            var granted: [Int] = []
            var released: [Int] = []
            step { client, result, events in
                switch result {
                case .acquire(.granted): granted.append(client)
                case .done: released.append(client)
                default: break
                }
                for case .granted(_, let session, _, _) in events { granted.append(Int(session)) }
            }
            for client in granted { try propose(client, .release(lock: lockName(client))) }
            for client in released {
                histogram.record(BenchClock.nanoseconds() - startedAt[client])
                completed += 1
                startedAt[client] = BenchClock.nanoseconds()
                try propose(client, withLock(acquire(client), client))
            }
        }
        let elapsed = BenchClock.nanoseconds() - start
        let name = "locks \(clients) client\(clients == 1 ? "" : "s") on \(distinctLocks ? "distinct locks" : "one lock")"
        return BenchResult(name: name, unit: "cycles/s", value: Double(completed) / (Double(elapsed) / 1e9), histogram: histogram)
    }

    private func withLock(_ command: CoordinationCommand, _ client: Int) -> CoordinationCommand {
        guard case .acquire(_, let kind, let mode, let wait, let ttl, let delay) = command else { return command }
        return .acquire(lock: lockName(client), kind: kind, mode: mode, waitMillis: wait, ttlMillis: ttl, lockDelayMillis: delay)
    }

    /// One round of the cluster; every node applies what committed; the leader's answers are
    /// handed to `onAnswer(client, result, events)`.
    private mutating func step(_ onAnswer: (Int, CoordinationResult, [LockEvent]) throws -> Void) rethrows {
        var answers: [(Int, CoordinationResult, [LockEvent])] = []
        // Take the machines out (not a copy that shares their storage): a shared copy would make
        // the first write of every round copy each machine's tables.
        var machines = self.machines
        self.machines = []
        cluster.round(onLeaderApply: { entry in
            if let applied = machines[0].apply(index: entry.index, data: entry.data).coordination {
                answers.append((Int(applied.client), applied.result, applied.events))
            }
        }, onFollowerApply: { position, entry in
            _ = machines[position].apply(index: entry.index, data: entry.data)
        })
        self.machines = machines
        for answer in answers { try onAnswer(answer.0, answer.1, answer.2) }
    }
}
