import ConclaveCore
import ConclaveCoordination
import Testing
@testable import ConclaveCluster

/// A client of the simulated cluster's scheduler: schedules tasks (retrying with the same
/// idempotency key until answered), consumes the queue, and injects faults from its own seed.
final class SchedulerDriver {
    let simulator: Simulator
    let seed: UInt64
    var random: SeededGenerator
    var sequence: UInt64 = 0
    let client: UInt64 = 77
    let consumer: UInt64 = 78
    /// Task IDs by idempotency key, and whether each goes to the queue.
    var scheduled: [String: UInt64] = [:]
    var queueKeys: Set<String> = []
    var consumed: [String] = []
    static let millis: UInt64 = 1_000_000

    init(seed: UInt64, nodes: Int = 5, configure: (inout SimulationConfig) -> Void = { _ in }) {
        var config = SimulationConfig(nodes: nodes, seed: seed)
        configure(&config)
        self.seed = seed
        self.simulator = try! Simulator(config: config)
        self.random = SeededGenerator(seed: seed, stream: 0x5C4E)
    }

    var replay: String {
        "seed \(seed): replay with `swift test --filter SchedulerClusterTests` (the seed is fixed in the test)"
    }

    /// Sends `command` to nodes in turn until one answers, for up to 20 virtual seconds.
    func request(_ command: CoordinationCommand, as client: UInt64) -> CoordinationResult? {
        sequence += 1
        let request = CoordinationRequest(client: client, sequence: sequence, command: command)
        let deadline = simulator.now + 20_000 * Self.millis
        var node = simulator.leader ?? 1
        while simulator.now < deadline {
            if case .accepted = simulator.submit(request, to: node) {
                let attemptEnd = simulator.now + 500 * Self.millis
                while let output = simulator.nextOutput(until: attemptEnd) {
                    if case .coordinationReply(_, client, request.sequence, let result) = output { return result }
                }
            } else {
                simulator.run(for: 20 * Self.millis)
            }
            node = simulator.leader ?? (node % NodeID(simulator.nodeIDs.count) + 1)
        }
        return nil
    }

    /// Schedules a task due `delayMillis` from now; the key makes retries safe.
    @discardableResult
    func schedule(_ key: String, delayMillis: UInt64, queue: Bool, attempts: Int = 3) -> UInt64? {
        let target: TaskTarget = queue ? .queue("jobs") : .callback("billing")
        let spec = TaskSpec(name: key, timing: .after(millis: delayMillis), payload: "p-\(key)", target: target,
                            timeoutMillis: 200, retry: RetryPolicy(attemptsMax: attempts, backoffMillis: 50), idempotencyKey: key)
        guard case .task(.scheduled(let id, _)) = request(.task(.schedule(spec)), as: client) else { return nil }
        scheduled[key] = id
        if queue { queueKeys.insert(key) }
        return id
    }

    /// Pulls and acknowledges everything visible in the queue.
    func consume() {
        guard case .task(.messages(let messages)) = request(.task(.pull(queue: "jobs", max: 100, visibilityMillis: 2_000)), as: consumer) else {
            return
        }
        for message in messages {
            consumed.append(message.key)
            _ = request(.task(.ack(queue: "jobs", message: message.id)), as: consumer)
        }
    }

    /// Runs `millis` of virtual time, consuming the queue every 250 ms.
    func run(millis: UInt64) {
        let end = simulator.now + millis * Self.millis
        while simulator.now < end {
            simulator.run(for: 250 * Self.millis)
            consume()
        }
    }

    /// The replicated table as the leader (or node 1) sees it.
    var table: DelayTaskTable { simulator.coordination(of: simulator.leader ?? 1).tasks }

    /// Everything the run must show; empty when it holds.
    func violations() -> [String] {
        var problems: [String] = []
        let table = self.table
        for (key, id) in scheduled.sorted(by: { $0.value < $1.value }) {
            if table.tasks[id] != nil {
                problems.append("task \(id) (\(key)) still pending: \(table.tasks[id]!.state)")
            } else if let ended = table.finished.last(where: { $0.task.id == id }), ended.ending != .done {
                problems.append("task \(id) (\(key)) ended \(ended.ending)")
            }
        }
        let callbackKeys = Set(scheduled.keys).subtracting(queueKeys)
        let succeeded = Set(simulator.callbackDeliveries.filter(\.succeeded).map(\.key))
        for key in callbackKeys.subtracting(succeeded).sorted() { problems.append("callback \(key) never ran to success") }
        for key in queueKeys.subtracting(consumed).sorted() { problems.append("queue message \(key) never consumed") }
        let enqueued = table.queues["jobs"]?.enqueued ?? 0
        if enqueued != queueKeys.count { problems.append("\(enqueued) messages enqueued for \(queueKeys.count) queue tasks") }
        let strangers = Set(simulator.callbackDeliveries.map(\.key)).subtracting(callbackKeys)
        if !strangers.isEmpty { problems.append("deliveries for keys never scheduled: \(strangers.sorted())") }
        return problems
    }

    /// One random fault (or a repair) from the driver's own seed.
    func nemesis() {
        let nodes = simulator.nodeIDs
        let node = nodes[Int(random.next() % UInt64(nodes.count))]
        let fault: Fault
        switch random.next() % 6 {
        case 0: fault = simulator.isCrashed(node) ? .restart(node) : .crash(node)
        case 1:
            var shuffled = nodes
            shuffled.shuffle(using: &random)
            let cut = 1 + Int(random.next() % UInt64(nodes.count - 1))
            fault = .partition([Array(shuffled[..<cut]), Array(shuffled[cut...])])
        case 2: fault = .heal
        case 3: fault = .pause(node, millis: 100 + random.next() % 700)
        case 4: fault = .drop(probability: 0.1)
        default: fault = .restart(node)
        }
        try? simulator.inject(fault)
    }

    /// Heals everything and restarts crashed nodes.
    func repairAll() {
        simulator.healAll()
        for node in simulator.nodeIDs where simulator.isCrashed(node) { try? simulator.inject(.restart(node)) }
    }

    /// Callback deliveries beyond one per key (at-least-once: a reclaim or a retry repeats the key).
    var duplicateDeliveries: Int {
        simulator.callbackDeliveries.count - Set(simulator.callbackDeliveries.map(\.key)).count
    }
}

@Suite struct SchedulerClusterTests {
    @Test("tasks scheduled across a healthy cluster fire once each, on time, spread over the nodes")
    func steadyState() {
        let driver = SchedulerDriver(seed: 11)
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        for number in 0..<120 {
            driver.schedule("t\(number)", delayMillis: 200 + UInt64(number) * 25, queue: number % 2 == 0)
        }
        driver.run(millis: 6_000)
        #expect(driver.violations() == [], "\(driver.replay)")
        let stats = driver.table.stats
        #expect(stats.fired == 120, "\(driver.replay)")
        #expect(stats.latenessMaxMillis <= 200, "steady-state lateness is one clock step plus a commit; \(driver.replay)")
        #expect(stats.firedByNode.count >= 3, "partitions spread the firing over the nodes; \(driver.replay)")
        #expect(driver.duplicateDeliveries == 0, "\(driver.replay)")
        #expect(stats.reclaims == 0)
        // Each node that ran callbacks has a breaker in front of the target, holding every try it made there.
        let tries = driver.simulator.nodeIDs.compactMap { driver.simulator.callbackBreakers(of: $0)["billing"] }
            .map { $0.snapshot(atNanos: driver.simulator.now).totals.successfulCalls }
        #expect(tries.count >= 2 && tries.reduce(0, +) == 60, "\(tries); \(driver.replay)")
    }

    @Test("when a partition's primary dies its replica fires its tasks; when it returns nothing fires twice")
    func primaryCrashAndReturn() throws {
        let driver = SchedulerDriver(seed: 12)
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        let leader = try #require(driver.simulator.leader)
        let victim = try #require(driver.table.members.first { $0 != leader })
        for number in 0..<100 {
            driver.schedule("t\(number)", delayMillis: 500 + UInt64(number) * 30, queue: number % 2 == 0)
        }
        let owned = driver.simulator.schedulerStatus(of: victim).primaryOf
        #expect(!owned.isEmpty, "node \(victim) owns partitions; \(driver.replay)")
        driver.run(millis: 1_000)
        try driver.simulator.inject(.crash(victim))
        driver.run(millis: 1_500)
        #expect(!driver.table.members.contains(victim), "the leader dropped the dead node; \(driver.replay)")
        try driver.simulator.inject(.restart(victim))
        driver.run(millis: 4_000)
        #expect(driver.table.members.contains(victim), "the node is back among the members; \(driver.replay)")
        #expect(driver.simulator.schedulerStatus(of: victim).primaryOf == owned, "ownership moved back; \(driver.replay)")
        #expect(driver.violations() == [], "\(driver.replay)")
        #expect(driver.table.stats.fired == 100, "\(driver.replay)")
        #expect(driver.table.stats.latenessMaxMillis <= 600, "failover lateness bound; \(driver.replay)")
    }

    @Test("a leader crash stalls firing only until a new leader has taken over; nothing is lost")
    func leaderCrash() throws {
        let driver = SchedulerDriver(seed: 13)
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        for number in 0..<60 {
            driver.schedule("t\(number)", delayMillis: 300 + UInt64(number) * 50, queue: number % 3 == 0)
        }
        let leader = try #require(driver.simulator.leader)
        driver.run(millis: 1_000)
        try driver.simulator.inject(.crash(leader))
        driver.run(millis: 5_000)
        #expect(driver.violations() == [], "\(driver.replay)")
        #expect(driver.table.stats.fired == 60, "\(driver.replay)")
        #expect(driver.table.stats.latenessMaxMillis <= 600, "failover lateness bound; \(driver.replay)")
    }

    @Test("under crashes, partitions, pauses and loss no task is lost and queue messages are enqueued once", arguments: 1...24)
    func chaos(seed: UInt64) {
        let driver = SchedulerDriver(seed: 1_000 + seed) { config in
            config.scheduler.targets["billing"] = CallbackBehavior(latencyMinNanos: 1_000_000, latencyMaxNanos: 250_000_000,
                                                                   failurePermille: 150)
        }
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        var number = 0
        for _ in 0..<12 {
            for _ in 0..<5 {
                driver.schedule("t\(number)", delayMillis: 100 + driver.random.next() % 3_000, queue: number % 2 == 0, attempts: 20)
                number += 1
            }
            driver.nemesis()
            driver.run(millis: 500)
        }
        driver.repairAll()
        driver.run(millis: 15_000)
        #expect(driver.violations() == [], "\(driver.replay) (chaos seed \(seed))")
        #expect(driver.table.stats.fired == driver.scheduled.count, "\(driver.replay) (chaos seed \(seed))")
    }

    @Test("a cron task fires every minute by the receiving node's wall clock, through a crash of its primary")
    func cronAcrossFailover() throws {
        let driver = SchedulerDriver(seed: 14)
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        let spec = TaskSpec(name: "minutely", timing: .cron(CronTiming(expression: "* * * * *", zone: "Europe/Berlin")),
                            target: .queue("jobs"), idempotencyKey: "minutely")
        guard case .task(.scheduled(let id, _)) = driver.request(.task(.schedule(spec)), as: driver.client) else {
            Issue.record("cron task scheduled; \(driver.replay)")
            return
        }
        guard case .cron(let cron) = driver.table.tasks[id]?.spec.timing else { return }
        #expect((cron.firstFireMillis + UInt64(cron.wallOffsetMillis)) % 60_000 == 0, "fires on the minute, wall time")
        driver.run(millis: 90_000)
        let primary = driver.table.primary(of: DelayTaskTable.partition(of: id))
        try driver.simulator.inject(.crash(primary))
        driver.run(millis: 100_000)
        #expect(driver.consumed == ["minutely#1", "minutely#2", "minutely#3"], "\(driver.replay)")
        #expect(driver.table.tasks[id]?.fire == 4)
        #expect(driver.table.stats.latenessMaxMillis <= 600, "\(driver.replay)")
    }

    @Test("a node refuses a cron task it cannot resolve, naming the field or the zone")
    func badCronRefusedByTheNode() {
        let driver = SchedulerDriver(seed: 15)
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        let leader = driver.simulator.leader ?? 1
        func submit(_ expression: String, _ zone: String) -> Simulator.Submission {
            let spec = TaskSpec(name: "bad", timing: .cron(CronTiming(expression: expression, zone: zone)), target: .queue("jobs"))
            return driver.simulator.submit(CoordinationRequest(client: 9, sequence: 1, command: .task(.schedule(spec))), to: leader)
        }
        guard case .refused(let field) = submit("0 25 * * *", "UTC"), case .refused(let zone) = submit("0 2 * * *", "Mars/Olympus") else {
            Issue.record("both refused")
            return
        }
        #expect(field.contains("hour") && field.contains("25"), "\(field)")
        #expect(zone.contains("Mars/Olympus"), "\(zone)")
    }

    private func callback(_ key: String, _ target: String, after delay: UInt64) -> TaskSpec {
        TaskSpec(name: key, timing: .after(millis: delay), target: .callback(target), timeoutMillis: 5_000,
                 retry: RetryPolicy(attemptsMax: 3, backoffMillis: 50), idempotencyKey: key)
    }

    @Test("a slow callback holds a worker, never the timer loop; a full pool refuses tries")
    func slowTarget() throws {
        let driver = SchedulerDriver(seed: 16) { config in
            config.scheduler.workers = 1
            config.scheduler.queueMax = 1
            config.scheduler.targets["slow"] = CallbackBehavior(latencyMinNanos: 2_000_000_000, latencyMaxNanos: 2_000_000_000)
        }
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        for number in 0..<15 { _ = driver.request(.task(.schedule(callback("slow-\(number)", "slow", after: 200))), as: driver.client) }
        for number in 0..<20 { driver.schedule("q\(number)", delayMillis: 400 + UInt64(number) * 20, queue: true) }
        driver.run(millis: 3_000)
        let statuses = driver.simulator.nodeIDs.map { driver.simulator.schedulerStatus(of: $0) }
        #expect(statuses.contains { $0.counters.refusedByPool > 0 }, "a full pool refuses tries; \(driver.replay)")
        #expect(statuses.contains { $0.busyWorkers == 1 }, "\(driver.replay)")
        #expect(driver.queueKeys.isSubset(of: Set(driver.consumed)), "queue tasks fired beside stuck callbacks; \(driver.replay)")
        #expect(driver.table.stats.latenessMaxMillis <= 200, "claims never waited for a callback; \(driver.replay)")
    }

    @Test("a failing target's breaker opens; tries wait out the open state instead of using up their attempts")
    func failingTarget() throws {
        let driver = SchedulerDriver(seed: 17) { config in
            config.scheduler.targets["broken"] = CallbackBehavior(failurePermille: 1_000)
        }
        driver.simulator.run(for: 1_000 * SchedulerDriver.millis)
        for number in 0..<40 { _ = driver.request(.task(.schedule(callback("broken-\(number)", "broken", after: 300))), as: driver.client) }
        driver.run(millis: 2_000)
        let statuses = driver.simulator.nodeIDs.map { driver.simulator.schedulerStatus(of: $0) }
        #expect(statuses.contains { $0.breakers["broken"] == .open }, "the broken target's breaker tripped; \(driver.replay)")
        #expect(statuses.contains { $0.counters.refusedByBreaker > 0 }, "\(driver.replay)")
        #expect(driver.table.stats.failures < 40, "tries waiting on the breaker have not all failed yet; \(driver.replay)")
        driver.run(millis: 20_000)
        #expect(driver.table.stats.failures == 40, "in the end every firing reports its failure; \(driver.replay)")
        #expect(driver.table.tasks.isEmpty)
    }
}
