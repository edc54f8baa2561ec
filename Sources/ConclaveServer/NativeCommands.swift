import ConclaveCoordination
import ConclaveCore
import ConclaveIDs
import ConclaveResilience
import ConclaveWire

/// Conclave's own commands — sessions, locks with fencing tokens, fenced writes, IDs, throttles,
/// delay tasks and queues, versioned config, cluster status — parsed from a RESP command into what
/// the node does with it, and their answers shaped as RESP replies (README "Native commands" lists
/// each shape). Pure: no node, no socket.
///
/// Durations are milliseconds unless a command follows a Redis module that uses seconds
/// (THROTTLE, as redis-cell's CL.THROTTLE). Names are 1…256 bytes of UTF-8
/// (`CoordinationLimits.nameBytesMax`), checked by the state machine.
public enum NativeCommands {
    /// What a native command asks of the node.
    public enum Parsed: Equatable, Sendable {
        /// A command through the log; its answer is shaped by `shape`.
        case coordination(CoordinationCommand, Shape)
        /// A lock acquire that may queue: the connection is parked until it is granted or its
        /// wait ends (`waitMillis` nil: a try, answered at once).
        case acquire(CoordinationCommand, Shape)
        /// THROTTLE: define (or redefine) the throttle if this node does not know it with these
        /// parameters, then take.
        case throttle(name: String, count: Int, periodMillis: UInt64, maxBurst: Int, quantity: Int)
        /// SESSION.ATTACH: this connection acts for an open session from now on.
        case attach(session: UInt64)
        /// ID.NEXT: IDs from this node's generator (its worker ID leased through the log).
        case nextIDs(count: Int)
        /// ID.DECODE: an ID's fields (no node state).
        case decodeID(UInt64)
        /// LOCK.INFO: the lock as this node has applied it.
        case lockInfo(String)
        /// CFG.WATCH: stream config events for keys under `prefix` after `afterRevision`.
        case watch(prefix: String, afterRevision: UInt64)
        /// CFG.UNWATCH: stop this connection's watches.
        case unwatch
        /// CLUSTER.STATUS: members, roles, terms, indexes, leader.
        case clusterStatus
        /// CLUSTER.WATCH [interval-ms]: push this node's status report every interval.
        case clusterWatch(intervalMillis: UInt64, binary: Bool)
        /// CLUSTER.UNWATCH: stop this connection's status pushes.
        case clusterUnwatch
    }

    /// How a coordination answer becomes a reply.
    public enum Shape: Equatable, Sendable {
        /// `+OK` on `.done`.
        case ok
        /// The session ID (SESSION.OPEN) on `.sessionOpened`.
        case sessionOpened(UInt64)
        /// The new expiry (cluster ms) on `.keptAlive`.
        case keptAlive
        /// A grant's fencing token; nil (RESP null) when refused or when a wait ended.
        case token
        case counter
        case fenced
        /// A config write's revision.
        case revision
        /// [revision, value] or nil.
        case configValue
        /// [[revision, value], …].
        case configHistory
        /// THROTTLE: redis-cell's five integers.
        case throttle
        /// A task's ID.
        case scheduled
        case task
        case tasks
        case messages
    }

    /// The largest ID.NEXT count.
    public static let idsPerCommandMax = 1_000
    /// The first-word names this enum answers (everything else goes to the KV commands).
    static let prefixes = ["SESSION.", "LOCK.", "RWLOCK.", "SEMAPHORE.", "FENCED.", "ID.", "SCHED.", "QUEUE.", "CFG.", "CLUSTER."]

    public static func handles(_ name: String) -> Bool {
        // Every KV command (the hot path) is answered by the first test: no dot in its name.
        guard name.utf8.contains(UInt8(ascii: ".")) else { return name == "THROTTLE" }
        return prefixes.contains { name.hasPrefix($0) }
    }

    /// Parses a native command (`arguments[0]` is its name, upper-cased in `name`).
    public static func parse(_ name: String, _ rest: [[UInt8]]) -> Result<Parsed, RESPError> {
        Arguments.parseAll(name, rest) { arguments throws(RESPError) in try parse(name, &arguments) }
    }

    private static func parse(_ name: String, _ a: inout Arguments) throws(RESPError) -> Parsed {
        switch name {
        // Sessions: one per connection (its client), kept alive by the client.
        case "SESSION.OPEN":
            return .coordination(.openSession(ttlMillis: try a.millis("ttl-ms")), .sessionOpened(0))
        case "SESSION.KEEPALIVE":
            return .coordination(.keepAlive, .keptAlive)
        case "SESSION.CLOSE":
            return .coordination(.closeSession, .ok)
        case "SESSION.ATTACH":
            return .attach(session: try a.unsigned("session-id"))

        // Locks: a mutex, a read/write lock, a semaphore; a try answers at once, an acquire waits.
        case "LOCK.TRY":
            let lock = try a.text("name")
            return try acquire(lock, .mutex, .exclusive, wait: nil, &a)
        case "LOCK.ACQUIRE":
            let lock = try a.text("name")
            let wait = try a.millis("timeout-ms")
            return try acquire(lock, .mutex, .exclusive, wait: wait, &a)
        case "RWLOCK.TRY", "RWLOCK.ACQUIRE":
            let lock = try a.text("name")
            let mode: LockMode = try a.choice("READ|WRITE", ["READ": .shared, "WRITE": .exclusive])
            let wait = name == "RWLOCK.ACQUIRE" ? try a.millis("timeout-ms") : nil
            return try acquire(lock, .readWrite, mode, wait: wait, &a)
        case "SEMAPHORE.TRY", "SEMAPHORE.ACQUIRE":
            let lock = try a.text("name")
            let permits = try a.count("permits", 1...CoordinationLimits.permitsMax)
            let take = try a.count("count", 1...CoordinationLimits.permitsMax)
            let wait = name == "SEMAPHORE.ACQUIRE" ? try a.millis("timeout-ms") : nil
            return try acquire(lock, .semaphore(permits: permits), .permits(take), wait: wait, &a)
        case "LOCK.RELEASE", "RWLOCK.RELEASE", "SEMAPHORE.RELEASE":
            return .coordination(.release(lock: try a.text("name")), .ok)
        case "LOCK.RENEW", "RWLOCK.RENEW", "SEMAPHORE.RENEW":
            let lock = try a.text("name")
            return .coordination(.extend(lock: lock, ttlMillis: try a.millis("ttl-ms")), .ok)
        case "LOCK.INFO", "RWLOCK.INFO", "SEMAPHORE.INFO":
            return .lockInfo(try a.text("name"))

        // A write to a KV key that refuses stale fencing tokens.
        case "FENCED.SET":
            let key = try a.text("key")
            let value = try a.text("value")
            let lock = try a.text("lock")
            return .coordination(.fencedPut(key: key, value: value, lock: lock, token: try a.unsigned("token")), .fenced)

        case "ID.NEXT":
            let count = a.isEmpty ? 1 : try a.count("count", 1...idsPerCommandMax)
            return .nextIDs(count: count)
        case "ID.DECODE":
            return .decodeID(try a.unsigned("id"))

        case "SCHED.ADD":
            return .coordination(.task(.schedule(try taskSpec(&a))), .scheduled)
        case "SCHED.CANCEL":
            return .coordination(.task(.cancel(id: try a.unsigned("task-id"))), .ok)
        case "SCHED.GET":
            return .coordination(.task(.inspect(id: try a.unsigned("task-id"))), .task)
        case "SCHED.LIST":
            let after = a.isEmpty ? 0 : try a.unsigned("after-id")
            let limit = a.isEmpty ? 100 : try a.count("count", 1...TaskLimits.listMax)
            return .coordination(.task(.list(afterID: after, limit: limit)), .tasks)
        case "QUEUE.POP":
            let queue = try a.text("queue")
            let count = a.isEmpty ? 1 : try a.count("count", 1...TaskLimits.pullMax)
            let visibility = a.isEmpty ? 30_000 : try a.millis("visibility-ms")
            return .coordination(.task(.pull(queue: queue, max: count, visibilityMillis: visibility)), .messages)
        case "QUEUE.ACK":
            let queue = try a.text("queue")
            return .coordination(.task(.ack(queue: queue, message: try a.unsigned("message-id"))), .ok)

        case "CFG.SET":
            let key = try a.text("key")
            try MemberAddresses.refuseClientWrite(key)
            return .coordination(.configSet(key: key, value: try a.text("value")), .revision)
        case "CFG.DEL":
            let key = try a.text("key")
            try MemberAddresses.refuseClientWrite(key)
            return .coordination(.configSet(key: key, value: nil), .revision)
        case "CFG.GET":
            return .coordination(.configGet(key: try a.text("key")), .configValue)
        case "CFG.HISTORY":
            return .coordination(.configHistory(key: try a.text("key")), .configHistory)
        case "CFG.ROLLBACK":
            let key = try a.text("key")
            try MemberAddresses.refuseClientWrite(key)
            return .coordination(.configRollback(key: key, toRevision: try a.unsigned("revision")), .revision)
        case "CFG.WATCH":
            let prefix = try a.text("prefix", allowEmpty: true)
            return .watch(prefix: prefix, afterRevision: a.isEmpty ? 0 : try a.unsigned("from-revision"))
        case "CFG.UNWATCH":
            return .unwatch

        case "CLUSTER.STATUS":
            return .clusterStatus
        case "CLUSTER.WATCH":
            let interval = a.isEmpty ? StatusWatch.defaultIntervalMillis : try a.unsigned("interval-ms")
            var binary = false
            if !a.isEmpty {
                switch try a.text("format").uppercased() {
                case "JSON": binary = false
                case "BINARY": binary = true
                case let other: throw RESPError("ERR CLUSTER.WATCH format '\(other.prefix(32))': accepted JSON or BINARY")
                }
            }
            return .clusterWatch(intervalMillis: interval, binary: binary)
        case "CLUSTER.UNWATCH":
            return .clusterUnwatch

        case "THROTTLE":
            // redis-cell: CL.THROTTLE key max_burst count_per_period period_seconds [quantity]
            let key = try a.text("key")
            let burst = try a.count("max_burst", 0...1_000_000_000)
            let count = try a.count("count_per_period", 1...1_000_000_000)
            let period = try a.count("period_seconds", 1...86_400)
            let quantity = a.isEmpty ? 1 : try a.count("quantity", 0...1_000_000_000)
            return .throttle(name: key, count: count, periodMillis: UInt64(period) * 1_000, maxBurst: burst, quantity: quantity)
        default:
            throw RESPError("ERR unknown command '\(name)'; Conclave's own commands are listed in README (Native commands)")
        }
    }

    /// The options after an acquire's required arguments: `TTL ms` (the hold expires by itself)
    /// and `DELAY ms` (lock-delay after a holder is lost).
    private static func acquire(_ lock: String, _ kind: LockKind, _ mode: LockMode, wait: UInt64?,
                                _ a: inout Arguments) throws(RESPError) -> Parsed {
        var ttl: UInt64?
        var delay: UInt64 = 0
        while !a.isEmpty {
            switch try a.keyword(["TTL", "DELAY"]) {
            case "TTL": ttl = try a.millis("TTL ms")
            default: delay = try a.millis("DELAY ms")
            }
        }
        let command = CoordinationCommand.acquire(lock: lock, kind: kind, mode: mode, waitMillis: wait, ttlMillis: ttl,
                                                  lockDelayMillis: delay)
        return wait == nil ? .coordination(command, .token) : .acquire(command, .token)
    }

    /// SCHED.ADD name AFTER ms|AT ms|CRON expr zone QUEUE q|CALLBACK c [PAYLOAD p] [KEY idempotency-key]
    /// [TIMEOUT ms] [RETRIES n] [BACKOFF ms]
    private static func taskSpec(_ a: inout Arguments) throws(RESPError) -> TaskSpec {
        let name = try a.text("name")
        let timing: TaskTiming
        switch try a.keyword(["AFTER", "AT", "CRON"]) {
        case "AFTER": timing = .after(millis: try a.millis("AFTER ms"))
        case "AT": timing = .at(millis: try a.unsigned("AT cluster-ms"))
        default:
            let expression = try a.text("CRON expression")
            timing = .cron(CronTiming(expression: expression, zone: try a.text("CRON zone")))
        }
        let target: TaskTarget = try a.keyword(["QUEUE", "CALLBACK"]) == "QUEUE"
            ? .queue(try a.text("QUEUE name")) : .callback(try a.text("CALLBACK name"))
        var spec = TaskSpec(name: name, timing: timing, target: target)
        while !a.isEmpty {
            switch try a.keyword(["PAYLOAD", "KEY", "TIMEOUT", "RETRIES", "BACKOFF"]) {
            case "PAYLOAD": spec.payload = try a.text("PAYLOAD", allowEmpty: true)
            case "KEY": spec.idempotencyKey = try a.text("KEY")
            case "TIMEOUT": spec.timeoutMillis = try a.millis("TIMEOUT ms")
            case "RETRIES": spec.retry.attemptsMax = try a.count("RETRIES", 1...TaskLimits.attemptsMax)
            default: spec.retry.backoffMillis = try a.millis("BACKOFF ms")
            }
        }
        return spec
    }

    // MARK: - Replies

    /// The reply to a coordination answer, or nil when the command is still waiting (a queued
    /// acquire: its grant or the end of its wait comes as a later answer).
    public static func reply(to result: CoordinationResult, shape: Shape) -> RESPValue? {
        switch (result, shape) {
        case (.refused(.waitEnded), .token):
            return .null  // the wait timed out (or was cancelled): no hold, as BLPOP's nil
        case (.refused(let error), _):
            return .error(errorReply(error))
        case (.acquire(.queued), .token):
            return nil
        case (.acquire(.granted(let token, _)), .token):
            return .integer(Int64(clamping: token))
        case (.acquire(.refused), .token):
            return .null
        case (.done, .ok):
            return .simpleString("OK")
        case (.sessionOpened, .sessionOpened(let session)):
            return .integer(Int64(bitPattern: session))
        case (.keptAlive(let expires), .keptAlive):
            return .integer(Int64(clamping: expires))
        case (.counter(let value), .counter):
            return .integer(value)
        case (.fenced(let accepted, let reason), .fenced):
            return accepted ? .simpleString("OK") : .error("FENCED \(reason)")
        case (.configRevision(let revision), .revision):
            return .integer(Int64(clamping: revision))
        case (.configValue(let version), .configValue):
            return version.flatMap { version in version.value.map { .array([.integer(Int64(clamping: version.revision)), .bulk($0)]) } } ?? .null
        case (.configHistory(let versions), .configHistory):
            return .array(versions.map { .array([.integer(Int64(clamping: $0.revision)), $0.value.map(RESPValue.bulk) ?? .null]) })
        case (.throttled(let decision), .throttle):
            return throttleReply(decision)
        case (.task(.scheduled(let id, _)), .scheduled):
            return .integer(Int64(clamping: id))
        case (.task(.task(let task)), .task):
            return taskReply(task)
        case (.task(.finished(let finished)), .task):
            return taskReply(finished.task, ending: finished.ending.rawValue)
        case (.task(.finished), .ok), (.task(.tasks), .ok):  // a cancel; an ack
            return .simpleString("OK")
        case (.task(.tasks(let tasks)), .tasks):
            return .array(tasks.map { taskReply($0) })
        case (.task(.messages(let messages)), .messages):
            return .array(messages.map { .array([.integer(Int64(clamping: $0.id)), .integer(Int64(clamping: $0.task)), .bulk($0.payload)]) })
        default:
            return .error("ERR unexpected answer \(result) (a Conclave bug: please report it)")
        }
    }

    /// A refusal in Redis's error style: a code, then the reason.
    static func errorReply(_ error: CoordinationError) -> String {
        switch error {
        case .unknownSession: return "NOSESSION \(error) — open one with SESSION.OPEN ttl-ms"
        case .notOwner: return "NOTOWNER \(error)"
        case .waitEnded: return "WAITENDED \(error)"
        case .limitReached: return "LIMIT \(error)"
        default: return "ERR \(error)"
        }
    }

    /// redis-cell's reply: limited (0/1), limit, remaining, retry after (s, -1 when allowed), reset
    /// after (s) — seconds rounded up, as redis-cell does.
    static func throttleReply(_ decision: CellRateDecision) -> RESPValue {
        func seconds(_ nanos: UInt64) -> Int64 { Int64((nanos + 999_999_999) / 1_000_000_000) }
        return .array([
            .integer(decision.allowed ? 0 : 1), .integer(Int64(decision.limit)), .integer(Int64(decision.remaining)),
            .integer(decision.allowed ? -1 : decision.retryAfterNanos.map(seconds) ?? -1),
            .integer(seconds(decision.resetAfterNanos)),
        ])
    }

    static func taskReply(_ task: DelayTask, ending: String? = nil) -> RESPValue {
        let target: String
        switch task.spec.target {
        case .queue(let name): target = "queue:\(name)"
        case .callback(let name): target = "callback:\(name)"
        }
        var pairs: [(RESPValue, RESPValue)] = [
            (.bulk("id"), .integer(Int64(clamping: task.id))), (.bulk("name"), .bulk(task.spec.name)),
            (.bulk("state"), .bulk(ending ?? "\(task.state)")), (.bulk("fire_at_ms"), .integer(Int64(clamping: task.fireAtMillis))),
            (.bulk("target"), .bulk(target)), (.bulk("payload"), .bulk(task.spec.payload)),
            (.bulk("fires"), .integer(Int64(clamping: task.fire))), (.bulk("succeeded"), .integer(Int64(task.succeeded))),
            (.bulk("failed"), .integer(Int64(task.failed))),
        ]
        if let next = task.nextFireMillis { pairs.append((.bulk("next_fire_ms"), .integer(Int64(clamping: next)))) }
        return .map(pairs)
    }

    /// LOCK.INFO's reply: the lock as this node applied it (`applied_index` says how far).
    public static func lockInfoReply(_ lock: LockState?, name: String, appliedIndex: UInt64) -> RESPValue {
        guard let lock else {
            return .map([(.bulk("name"), .bulk(name)), (.bulk("state"), .bulk("free")),
                         (.bulk("applied_index"), .integer(Int64(clamping: appliedIndex)))])
        }
        let holders: [RESPValue] = lock.holders.map { holder in
            var pairs: [(RESPValue, RESPValue)] = [
                (.bulk("session"), .integer(Int64(bitPattern: holder.session))), (.bulk("token"), .integer(Int64(clamping: holder.token))),
                (.bulk("mode"), .bulk(modeText(holder.mode))), (.bulk("granted_at_ms"), .integer(Int64(clamping: holder.grantedAtMillis))),
            ]
            if let expires = holder.expiresAtMillis { pairs.append((.bulk("expires_at_ms"), .integer(Int64(clamping: expires)))) }
            return .map(pairs)
        }
        let waiters: [RESPValue] = lock.waiters.map { waiter in
            .map([(.bulk("session"), .integer(Int64(bitPattern: waiter.session))), (.bulk("mode"), .bulk(modeText(waiter.mode))),
                  (.bulk("enqueued_at_ms"), .integer(Int64(clamping: waiter.enqueuedAtMillis)))])
        }
        return .map([
            (.bulk("name"), .bulk(name)), (.bulk("state"), .bulk(lock.holders.isEmpty ? "free" : "held")),
            (.bulk("kind"), .bulk(lock.kind.description)), (.bulk("holders"), .array(holders)), (.bulk("waiters"), .array(waiters)),
            (.bulk("last_token"), .integer(Int64(clamping: lock.lastToken))),
            (.bulk("applied_index"), .integer(Int64(clamping: appliedIndex))),
        ])
    }

    static func modeText(_ mode: LockMode) -> String {
        switch mode {
        case .exclusive: return "exclusive"
        case .shared: return "shared"
        case .permits(let count): return "permits:\(count)"
        }
    }

    /// ID.DECODE's reply.
    public static func decodeReply(_ id: UInt64, layout: SnowflakeLayout = .standard,
                                   epochMillis: UInt64 = SnowflakeConfiguration.defaultEpochMillis) -> RESPValue {
        do throws(IDInputError) {
            let fields = try layout.decode(id)
            return .map([
                (.bulk("timestamp_ms"), .integer(Int64(clamping: epochMillis + fields.timestampMillis))),
                (.bulk("datacenter"), .integer(Int64(fields.datacenterID))), (.bulk("worker"), .integer(Int64(fields.workerID))),
                (.bulk("sequence"), .integer(Int64(fields.sequence))),
            ])
        } catch {
            return .error("ERR \(error)")
        }
    }
}

/// A command's arguments, read in order with errors naming the argument and what is accepted.
struct Arguments {
    let name: String
    var values: ArraySlice<[UInt8]>

    init(name: String, values: [[UInt8]]) {
        self.name = name
        self.values = values[...]
    }

    var isEmpty: Bool { values.isEmpty }

    mutating func next(_ what: String) throws(RESPError) -> [UInt8] {
        guard let value = values.popFirst() else {
            throw RESPError("ERR wrong number of arguments for '\(name.lowercased())' command: \(what) is missing")
        }
        return value
    }

    mutating func text(_ what: String, allowEmpty: Bool = false) throws(RESPError) -> String {
        let bytes = try next(what)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw RESPError("ERR \(what) is not valid UTF-8") }
        guard allowEmpty || !text.isEmpty else { throw RESPError("ERR \(what) is empty") }
        return text
    }

    mutating func unsigned(_ what: String) throws(RESPError) -> UInt64 {
        let text = try text(what)
        guard let value = UInt64(text) else { throw RESPError("ERR \(what) must be an integer in 0…\(UInt64.max), got '\(text.prefix(64))'") }
        return value
    }

    /// A duration in milliseconds, 0 … 1 day (`CoordinationLimits.durationMillisRange`).
    mutating func millis(_ what: String) throws(RESPError) -> UInt64 {
        let range = CoordinationLimits.durationMillisRange
        let text = try text(what)
        guard let value = UInt64(text), range.contains(value) else {
            throw RESPError("ERR \(what) must be milliseconds in \(range.lowerBound)…\(range.upperBound), got '\(text.prefix(64))'")
        }
        return value
    }

    mutating func count(_ what: String, _ range: ClosedRange<Int>) throws(RESPError) -> Int {
        let text = try text(what)
        guard let value = Int(text), range.contains(value) else {
            throw RESPError("ERR \(what) must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(text.prefix(64))'")
        }
        return value
    }

    mutating func keyword(_ accepted: [String]) throws(RESPError) -> String {
        let word = try text(accepted.joined(separator: "|")).uppercased()
        guard accepted.contains(word) else {
            throw RESPError("ERR syntax error: '\(word.prefix(64))' where \(accepted.joined(separator: ", ")) is accepted")
        }
        return word
    }

    mutating func choice<Value>(_ what: String, _ options: [String: Value]) throws(RESPError) -> Value {
        let word = try text(what).uppercased()
        guard let value = options[word] else { throw RESPError("ERR syntax error: '\(word.prefix(64))' where \(what) is accepted") }
        return value
    }

    /// Every argument was read.
    func finish() throws(RESPError) {
        guard values.isEmpty else {
            throw RESPError("ERR syntax error: unexpected '\(String(decoding: values.first!.prefix(64), as: UTF8.self))' for '\(name.lowercased())'")
        }
    }
}
