import ConclaveCoordination
import ConclaveResilience
import ConclaveServer
import ConclaveWire
import Testing

/// Conclave's own RESP commands to coordination commands, and their answers back to the reply
/// shapes README documents.
struct NativeCommandsTests {
    private func parse(_ words: String...) -> Result<NativeCommands.Parsed, RESPError> {
        NativeCommands.parse(words[0].uppercased(), words.dropFirst().map { Array($0.utf8) })
    }

    private func error(_ words: String...) -> String? {
        guard case .failure(let error) = NativeCommands.parse(words[0].uppercased(), words.dropFirst().map { Array($0.utf8) }) else {
            return nil
        }
        return error.message
    }

    @Test func commandsMapOntoTheServices() {
        #expect(parse("SESSION.OPEN", "5000") == .success(.coordination(.openSession(ttlMillis: 5_000), .sessionOpened(0))))
        #expect(parse("session.keepalive") == .success(.coordination(.keepAlive, .keptAlive)))
        #expect(parse("SESSION.ATTACH", "77") == .success(.attach(session: 77)))
        #expect(parse("LOCK.TRY", "a") == .success(.coordination(
            .acquire(lock: "a", kind: .mutex, mode: .exclusive, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0), .token)))
        #expect(parse("LOCK.ACQUIRE", "a", "250", "ttl", "1000", "DELAY", "5") == .success(.acquire(
            .acquire(lock: "a", kind: .mutex, mode: .exclusive, waitMillis: 250, ttlMillis: 1_000, lockDelayMillis: 5), .token)))
        #expect(parse("RWLOCK.TRY", "r", "read") == .success(.coordination(
            .acquire(lock: "r", kind: .readWrite, mode: .shared, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0), .token)))
        #expect(parse("SEMAPHORE.ACQUIRE", "s", "5", "2", "100") == .success(.acquire(
            .acquire(lock: "s", kind: .semaphore(permits: 5), mode: .permits(2), waitMillis: 100, ttlMillis: nil, lockDelayMillis: 0), .token)))
        #expect(parse("LOCK.RELEASE", "a") == .success(.coordination(.release(lock: "a"), .ok)))
        #expect(parse("LOCK.RENEW", "a", "900") == .success(.coordination(.extend(lock: "a", ttlMillis: 900), .ok)))
        #expect(parse("LOCK.INFO", "a") == .success(.lockInfo("a")))
        #expect(parse("FENCED.SET", "k", "v", "a", "12") == .success(.coordination(.fencedPut(key: "k", value: "v", lock: "a", token: 12), .fenced)))
        #expect(parse("ID.NEXT") == .success(.nextIDs(count: 1)))
        #expect(parse("ID.NEXT", "1000") == .success(.nextIDs(count: 1_000)))
        #expect(parse("ID.DECODE", "42") == .success(.decodeID(42)))
        #expect(parse("THROTTLE", "k", "2", "10", "1") == .success(.throttle(name: "k", count: 10, periodMillis: 1_000, maxBurst: 2, quantity: 1)))
        #expect(parse("THROTTLE", "k", "0", "1", "60", "3") == .success(.throttle(name: "k", count: 1, periodMillis: 60_000, maxBurst: 0, quantity: 3)))
        #expect(parse("SCHED.ADD", "t", "AFTER", "100", "QUEUE", "q", "PAYLOAD", "hi", "KEY", "once") == .success(.coordination(
            .task(.schedule(TaskSpec(name: "t", timing: .after(millis: 100), payload: "hi", target: .queue("q"), idempotencyKey: "once"))),
            .scheduled)))
        #expect(parse("SCHED.ADD", "c", "CRON", "*/5 * * * *", "UTC", "CALLBACK", "hook") == .success(.coordination(
            .task(.schedule(TaskSpec(name: "c", timing: .cron(CronTiming(expression: "*/5 * * * *", zone: "UTC")), target: .callback("hook")))),
            .scheduled)))
        #expect(parse("SCHED.LIST") == .success(.coordination(.task(.list(afterID: 0, limit: 100)), .tasks)))
        #expect(parse("QUEUE.POP", "q", "10", "500") == .success(.coordination(.task(.pull(queue: "q", max: 10, visibilityMillis: 500)), .messages)))
        #expect(parse("QUEUE.ACK", "q", "3") == .success(.coordination(.task(.ack(queue: "q", message: 3)), .ok)))
        #expect(parse("CFG.SET", "a/b", "1") == .success(.coordination(.configSet(key: "a/b", value: "1"), .revision)))
        #expect(parse("CFG.DEL", "a/b") == .success(.coordination(.configSet(key: "a/b", value: nil), .revision)))
        #expect(parse("CFG.WATCH", "") == .success(.watch(prefix: "", afterRevision: 0)))
        #expect(parse("CFG.WATCH", "a/", "7") == .success(.watch(prefix: "a/", afterRevision: 7)))
        #expect(parse("CLUSTER.STATUS") == .success(.clusterStatus))
    }

    @Test func badArgumentsNameWhatIsAccepted() {
        #expect(error("SESSION.OPEN") == "ERR wrong number of arguments for 'session.open' command: ttl-ms is missing")
        #expect(error("SESSION.OPEN", "soon") == "ERR ttl-ms must be milliseconds in 0…86400000, got 'soon'")
        #expect(error("SESSION.OPEN", "86400001") == "ERR ttl-ms must be milliseconds in 0…86400000, got '86400001'")
        #expect(error("SESSION.CLOSE", "now") == "ERR syntax error: unexpected 'now' for 'session.close'")
        #expect(error("LOCK.TRY", "a", "TTL") == "ERR wrong number of arguments for 'lock.try' command: TTL ms is missing")
        #expect(error("LOCK.TRY", "a", "FOREVER", "1") == "ERR syntax error: 'FOREVER' where TTL, DELAY is accepted")
        #expect(error("RWLOCK.TRY", "r", "both") == "ERR syntax error: 'BOTH' where READ|WRITE is accepted")
        #expect(error("SEMAPHORE.TRY", "s", "0", "1") == "ERR permits must be an integer in 1…1000000, got '0'")
        #expect(error("ID.NEXT", "1001") == "ERR count must be an integer in 1…1000, got '1001'")
        #expect(error("ID.DECODE", "-1") == "ERR id must be an integer in 0…18446744073709551615, got '-1'")
        #expect(error("THROTTLE", "k", "1", "0", "1") == "ERR count_per_period must be an integer in 1…1000000000, got '0'")
        #expect(error("SCHED.ADD", "t", "SOMEDAY", "1") == "ERR syntax error: 'SOMEDAY' where AFTER, AT, CRON is accepted")
        #expect(error("LOCK.TRY", "") == "ERR name is empty")
        #expect(error("LOCK.STEAL", "a")?.hasPrefix("ERR unknown command 'LOCK.STEAL'") == true)
        #expect(NativeCommands.parse("LOCK.TRY", [[0xFF]]) == .failure(RESPError("ERR name is not valid UTF-8")))
    }

    @Test func answersTakeTheirDocumentedShapes() {
        typealias N = NativeCommands
        #expect(N.reply(to: .acquire(.granted(token: 9, holdCount: 1)), shape: .token) == .integer(9))
        #expect(N.reply(to: .acquire(.refused(heldBy: [3])), shape: .token) == .null)
        #expect(N.reply(to: .acquire(.queued(position: 2)), shape: .token) == nil)  // still waiting: no reply yet
        #expect(N.reply(to: .refused(.waitEnded(lock: "a", reason: "deadline passed")), shape: .token) == .null)
        #expect(N.reply(to: .refused(.unknownSession(5)), shape: .token)
            == .error("NOSESSION unknown session 5 (expired, closed or never opened) — open one with SESSION.OPEN ttl-ms"))
        #expect(N.reply(to: .refused(.notOwner(lock: "a", session: 5)), shape: .ok) == .error("NOTOWNER session 5 does not hold lock 'a'"))
        #expect(N.reply(to: .done, shape: .ok) == .simpleString("OK"))
        #expect(N.reply(to: .task(.tasks([])), shape: .ok) == .simpleString("OK"), "QUEUE.ACK's answer")
        #expect(N.reply(to: .sessionOpened(expiresAtMillis: 10), shape: .sessionOpened(77)) == .integer(77))
        #expect(N.reply(to: .fenced(accepted: false, reason: "stale"), shape: .fenced) == .error("FENCED stale"))
        #expect(N.reply(to: .configValue(ConfigStore.Version(revision: 4, value: "x")), shape: .configValue) == .array([.integer(4), .bulk("x")]))
        #expect(N.reply(to: .configValue(nil), shape: .configValue) == .null)
        #expect(N.reply(to: .configHistory([ConfigStore.Version(revision: 1, value: nil)]), shape: .configHistory) == .array([.array([.integer(1), .null])]))
        let refused = CellRateDecision(allowed: false, limit: 3, remaining: 0, retryAfterNanos: 1_200_000_000, resetAfterNanos: 2_000_000_000)
        #expect(N.reply(to: .throttled(refused), shape: .throttle) == .array([.integer(1), .integer(3), .integer(0), .integer(2), .integer(2)]))
        let allowed = CellRateDecision(allowed: true, limit: 3, remaining: 2, retryAfterNanos: nil, resetAfterNanos: 100_000_000)
        #expect(N.reply(to: .throttled(allowed), shape: .throttle) == .array([.integer(0), .integer(3), .integer(2), .integer(-1), .integer(1)]))
        #expect(N.reply(to: .counter(3), shape: .ok) == .error("ERR unexpected answer counter(3) (a Conclave bug: please report it)"))
    }

    @Test func idsDecodeIntoTheirFields() {
        guard case .map(let pairs) = NativeCommands.decodeReply(387_584_287_056_072_705) else { Issue.record("not a map"); return }
        let fields = Dictionary(uniqueKeysWithValues: pairs.compactMap { pair -> (String, Int64)? in
            guard case .bulkString(let key) = pair.0, case .integer(let value) = pair.1 else { return nil }
            return (String(decoding: key, as: UTF8.self), value)
        })
        #expect(fields["sequence"] == 1)
        #expect(fields["worker"] != nil && fields["datacenter"] == 0)
        #expect((fields["timestamp_ms"] ?? 0) > 1_704_067_200_000)
    }
}
