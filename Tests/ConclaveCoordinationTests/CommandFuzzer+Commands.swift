import ConclaveCore
@testable import ConclaveCoordination

/// The commands: a client's, the nodes' own, and (mostly) useful ones with extreme ones mixed in.
extension CommandFuzzer {
    /// Any client command (client 0 sends these too, and must be refused).
    mutating func clientCommand(client: UInt64) -> CoordinationCommand {
        switch below(100) {
        case 0..<8: return .openSession(ttlMillis: ttlMillis())
        case 8..<14: return .keepAlive
        case 14..<16: return .closeSession
        case 16..<34: return acquire()
        case 34..<42: return .release(lock: lockName())
        case 42..<45: return .extend(lock: lockName(), ttlMillis: ttlMillis())
        case 45..<48: return cancelWait(client: client)
        case 48..<50: return .revoke(lock: lockName(), graceMillis: durationMillis())
        case 50..<54: return .increment(counter: name(["c0", "c1", "c2"]), by: delta())
        case 54..<56: return .readCounter(counter: name(["c0", "c1", "c2"]))
        case 56..<61: return fencedPut()
        case 61..<65: return .configSet(key: name(Self.configKeys), value: chance(20) ? nil : chance(95) ? pick(["1", "2", ""]) : Self.maximalName)
        case 65..<68: return .configGet(key: name(Self.configKeys))
        case 68..<69: return .configHistory(key: name(Self.configKeys))
        case 69..<71: return .configRollback(key: name(Self.configKeys), toRevision: revision())
        case 71..<72: return .configWatch(prefix: pick(["", "k", "k1", Self.maximalName, Self.overMaximalName]), afterRevision: revision())
        case 72..<75: return .leaseWorker(workersMax: chance(70) ? 1 + Int(below(8)) : extremeInt(), deadlineMillis: pointInTime())
        case 75..<86: return .task(clientTaskCommand())
        case 86..<90: return .throttle(throttleDefinition())
        default:
            let quantity = chance(70) ? Int(below(4)) : extremeInt()
            let stamp = pick([0, nowMillis &* 1_000_000 &+ below(200_000_000), UInt64.max, random.next()])
            return .throttle(.take(name: name(["t0", "t1"]), quantity: quantity, stampNanos: stamp))
        }
    }

    /// One of the nodes' own commands, with any values.
    mutating func nodeCommand() -> CoordinationCommand {
        chance(50) ? .elapsed(millis: elapsedMillis()) : .task(nodeTaskCommand())
    }

    /// Mostly small steps; a day now and then (every lease ends); rarely past the end of time.
    mutating func elapsedMillis() -> UInt64 {
        switch below(1_000) {
        case 0..<700: return below(100)
        case 700..<997: return 100 + below(2_000)
        case 997: return 86_400_000
        default:
            let room = CoordinationLimits.clusterTimeMillisMax - nowMillis
            return pick([room &+ 1, CoordinationLimits.clusterTimeMillisMax, UInt64.max, UInt64(Int64.max), random.next()])
        }
    }

    // MARK: - Locks

    /// Lock names say their kind: `m…` mutexes, `r…` read/write locks, `s…` semaphores of 3
    /// permits; anything else (the maximal names) is taken as a mutex.
    static let lockNames = ["m0", "m1", "m2", "m3", "m4", "r0", "r1", "r2", "s0", "s1"]

    mutating func lockName() -> String { name(Self.lockNames) }

    mutating func acquire() -> CoordinationCommand {
        let lock = lockName()
        var kind: LockKind = lock.hasPrefix("r") ? .readWrite : lock.hasPrefix("s") ? .semaphore(permits: 3) : .mutex
        var mode: LockMode
        switch kind {
        case .mutex: mode = .exclusive
        case .readWrite: mode = chance(60) ? .shared : .exclusive
        case .semaphore: mode = .permits(1 + Int(below(3)))
        }
        if chance(5) { kind = pick([.mutex, .readWrite, .semaphore(permits: extremeInt())]) }
        if chance(5) { mode = pick([.exclusive, .shared, .permits(extremeInt())]) }
        let wait: UInt64? = chance(45) ? nil : chance(90) ? below(3_000) : extremeMillis()
        let ttl: UInt64? = chance(70) ? nil : chance(70) ? 1 + below(5_000) : extremeMillis()
        let delay: UInt64 = chance(80) ? 0 : chance(60) ? below(2_000) : extremeMillis()
        return .acquire(lock: lock, kind: kind, mode: mode, waitMillis: wait, ttlMillis: ttl, lockDelayMillis: delay)
    }

    /// Withdraws one of the client's own queued acquires mostly; else any sequence.
    mutating func cancelWait(client: UInt64) -> CoordinationCommand {
        if let waits = queued[client], !waits.isEmpty, chance(80) {
            let wait = pick(waits)
            return .cancelWait(lock: wait.lock, sequence: wait.sequence)
        }
        return .cancelWait(lock: lockName(), sequence: pick([0, 1, UInt64.max, below(1_000)]))
    }

    /// A token granted on the lock named (maybe since released), one of another lock, or nonsense.
    mutating func fencedPut() -> CoordinationCommand {
        let key = name(["f0", "f1", "f2"])
        let value = pick(["x", "", Self.maximalName])
        guard !grants.isEmpty, chance(80) else {
            return .fencedPut(key: key, value: value, lock: lockName(), token: pick([0, 1, UInt64.max, below(10_000)]))
        }
        let grant = pick(grants)
        let lock = chance(75) ? grant.lock : lockName()
        return .fencedPut(key: key, value: value, lock: lock, token: chance(90) ? grant.token : grant.token &+ 1)
    }

    // MARK: - Config, throttles

    static let configKeys = ["k0", "k1", "k2", "other"]

    /// A revision seen lately (a watch from far back answers with up to 1,000 events, which
    /// costs more than it finds), any revision seen, or extreme.
    mutating func revision() -> UInt64 {
        switch below(10) {
        case 0..<6: return configRevision - min(configRevision, below(20)) + below(3)
        case 6..<8: return below(configRevision + 2)
        default: return pick([0, UInt64.max, UInt64.max - 1, 1 << 63])
        }
    }

    mutating func throttleDefinition() -> ThrottleCommand {
        let count = chance(60) ? 1 + Int(below(100)) : extremeInt()
        let period: UInt64 = chance(60) ? pick([1, 10, 1_000]) : pick([0, 86_400_000, 86_400_001, UInt64.max, random.next()])
        let burst = chance(60) ? Int(below(10)) : extremeInt()
        return .define(name: name(["t0", "t1"]), count: count, periodMillis: period, maxBurst: burst)
    }

    // MARK: - Tasks

    mutating func clientTaskCommand() -> TaskCommand {
        switch below(100) {
        case 0..<45: return .schedule(taskSpec())
        case 45..<55: return .cancel(id: taskID())
        case 55..<65: return .inspect(id: taskID())
        case 65..<75: return .list(afterID: chance(70) ? lastTaskID - min(lastTaskID, below(30)) : pick([0, UInt64.max]),
                                   limit: chance(80) ? 1 + Int(below(10)) : extremeInt())
        case 75..<90:
            let max = chance(70) ? 1 + Int(below(10)) : extremeInt()
            return .pull(queue: name(Self.queueNames), max: max, visibilityMillis: chance(70) ? 1 + below(2_000) : extremeMillis())
        default:
            let message = !messageIDs.isEmpty && chance(70) ? pick(messageIDs) : pick([0, 1, UInt64.max])
            return .ack(queue: name(Self.queueNames), message: message)
        }
    }

    static let queueNames = ["q0", "q1"]

    /// Membership (mostly the same three nodes), claims and reports, with any values.
    mutating func nodeTaskCommand() -> TaskCommand {
        switch below(100) {
        case 0..<15:
            if chance(80) { return .members([1, 2, 3]) }
            // The most members there may be, rarely: spreading partitions over them is costly.
            if below(400) == 0 { return .members(Self.maximalMembership) }
            return .members(pick(Self.oddMemberships))
        case 15..<75:
            let next: UInt64? = chance(50) ? nil : chance(70) ? nowMillis + 1 + below(10_000) : extremeMillis()
            return .claim(id: taskID(), fire: fireNumber(), node: nodeID(), nextFireMillis: next)
        default:
            let attempts = chance(80) ? 1 + Int(below(3)) : extremeInt()
            let outcome: TaskOutcome = chance(60) ? .succeeded(attempts: attempts) : .failed(attempts: attempts, reason: pick(["", "timeout"]))
            return .finish(id: taskID(), fire: fireNumber(), node: nodeID(), outcome: outcome)
        }
    }

    /// Other memberships: more nodes than allowed, none, node 0, a node twice, the largest ID.
    static let oddMemberships: [[NodeID]] = [[1, 2, 3, 4, 5], [2], [], [0], [1, 1], [UInt64.max],
                                             Array(1...NodeID(TaskLimits.membersMax + 1))]
    static let maximalMembership = Array(1...NodeID(TaskLimits.membersMax))

    private mutating func taskID() -> UInt64 {
        chance(90) ? lastTaskID - min(lastTaskID, below(24)) : pick([0, lastTaskID + 1, UInt64.max])
    }

    private mutating func fireNumber() -> UInt64 { chance(80) ? 1 : pick([0, 2, 3, UInt64.max]) }

    private mutating func nodeID() -> NodeID { chance(85) ? 1 + below(3) : pick([0, 4, UInt64.max]) }

    mutating func taskSpec() -> TaskSpec {
        let target: TaskTarget = chance(60) ? .queue(name(Self.queueNames)) : .callback(name(["hook"]))
        let retry = RetryPolicy(attemptsMax: chance(85) ? 1 + Int(below(3)) : extremeInt(),
                                backoffMillis: chance(85) ? below(200) : pick([600_000, 600_001, UInt64.max]))
        // Payloads at and past their bound rarely: every answer and state hash that holds the task reads them.
        let payload = chance(95) ? pick(["", "p"]) : pick([Self.maximalPayload, Self.overMaximalPayload])
        return TaskSpec(name: name(["job"]), timing: taskTiming(), payload: payload,
                        target: target, timeoutMillis: chance(85) ? 1 + below(1_000) : pick([0, 600_000, 600_001, UInt64.max]),
                        retry: retry, idempotencyKey: chance(60) ? nil : name(["key0", "key1", "key2"]))
    }

    private mutating func taskTiming() -> TaskTiming {
        switch below(10) {
        case 0..<6: return .after(millis: chance(80) ? below(3_000) : extremeMillis())
        case 6..<8: return .at(millis: chance(60) ? nowMillis + below(3_000) : pointInTime())
        default:
            let expression = chance(70) ? pick(["* * * * *", "*/5 * * * *", "0 0 29 2 *", "61 * * * *", ""]) : garbageText()
            let zone = chance(80) ? "UTC" : pick(["", "Mars/Olympus", Self.maximalName, Self.overMaximalName])
            let offset: Int64 = chance(80) ? 0 : pick([Int64.min, Int64.max, -1])
            let first = chance(70) ? nowMillis + 1 + below(3_000) : pointInTime()
            return .cron(CronTiming(expression: expression, zone: zone, wallOffsetMillis: offset, firstFireMillis: first))
        }
    }

    /// Up to 40 characters of what cron expressions are made of, and some they are not.
    private mutating func garbageText() -> String {
        let alphabet = Array("0123456789*/,-? LW#abcJANMON\u{0}é")
        return String((0..<below(40)).map { _ in pick(alphabet) })
    }
}
