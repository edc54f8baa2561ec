import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// Drives a coordination state machine entry by entry, as the log would.
struct Replica {
    var machine = CoordinationStateMachine()
    var index: LogIndex = 0
    var sequences: [UInt64: UInt64] = [:]
    var events: [LockEvent] = []

    @discardableResult
    mutating func run(_ client: UInt64, _ command: CoordinationCommand, sequence: UInt64? = nil) -> CoordinationResult {
        let next = sequence ?? (sequences[client, default: 0] + 1)
        sequences[client] = max(sequences[client, default: 0], next)
        index += 1
        let request = CoordinationRequest(client: client, sequence: next, command: command)
        let applied = machine.apply(index: index, data: request.encoded()).coordination!
        events += applied.events
        return applied.result
    }

    mutating func elapse(_ millis: UInt64) { run(0, .elapsed(millis: millis), sequence: 0) }

    mutating func open(_ client: UInt64, ttl: UInt64 = 1_000) { run(client, .openSession(ttlMillis: ttl)) }

    mutating func acquire(_ client: UInt64, _ lock: String = "L", kind: LockKind = .mutex, mode: LockMode = .exclusive,
                          wait: UInt64? = nil, ttl: UInt64? = nil, delay: UInt64 = 0) -> CoordinationResult {
        run(client, .acquire(lock: lock, kind: kind, mode: mode, waitMillis: wait, ttlMillis: ttl, lockDelayMillis: delay))
    }

    func token(of result: CoordinationResult) -> UInt64? {
        if case .acquire(.granted(let token, _)) = result { return token }
        return nil
    }

    var holders: [UInt64] { machine.locks.locks["L"]?.holders.map(\.session) ?? [] }
}

@Suite struct SessionTests {
    @Test("a session expires when cluster time passes its lease, and everything it owns goes at once")
    func expiryTakesEverything() {
        var replica = Replica()
        replica.open(1, ttl: 500)
        replica.open(2, ttl: 10_000)
        _ = replica.acquire(1, "A")
        _ = replica.acquire(1, "B")
        _ = replica.acquire(2, "A", wait: 60_000)
        replica.elapse(499)
        #expect(replica.machine.sessions.contains(1))
        replica.elapse(1)
        #expect(!replica.machine.sessions.contains(1))
        #expect(replica.machine.locks.locks["B"] == nil)
        #expect(replica.machine.locks.locks["A"]?.holders.map(\.session) == [2], "the waiter inherits the lock in the same step")
        #expect(replica.events.contains { if case .lost("A", 1, _, .sessionExpired) = $0 { return true } else { return false } })
        #expect(replica.events.contains { if case .granted("A", 2, _, _) = $0 { return true } else { return false } })
    }

    @Test("keep-alives renew the lease for another full TTL")
    func keepAlive() {
        var replica = Replica()
        replica.open(1, ttl: 100)
        for _ in 0..<10 {
            replica.elapse(90)
            #expect(replica.run(1, .keepAlive) == .keptAlive(expiresAtMillis: replica.machine.nowMillis + 100))
        }
        #expect(replica.machine.sessions.contains(1))
        replica.elapse(100)
        #expect(!replica.machine.sessions.contains(1))
        #expect(replica.run(1, .keepAlive) == .refused(.unknownSession(1)))
    }

    @Test("bad TTLs and unknown sessions are refused; the state is unchanged", arguments: [0, 86_400_001])
    func badTTL(ttl: UInt64) {
        var replica = Replica()
        let before = replica.machine.sessions
        #expect(replica.run(1, .openSession(ttlMillis: ttl)) == .refused(.invalidTTL("\(ttl) ms; accepted: 1…86400000 ms")))
        #expect(replica.machine.sessions == before)
        #expect(replica.acquire(9) == .refused(.unknownSession(9)))
    }
}

@Suite struct LockTests {
    @Test("try-lock: granted or refused at once; release and extend only by the owner")
    func tryLock() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        #expect(replica.token(of: replica.acquire(1)) != nil)
        #expect(replica.acquire(2) == .acquire(.refused(heldBy: [1])))
        #expect(replica.run(2, .release(lock: "L")) == .refused(.notOwner(lock: "L", session: 2)))
        #expect(replica.run(2, .extend(lock: "L", ttlMillis: 100)) == .refused(.notOwner(lock: "L", session: 2)))
        #expect(replica.holders == [1])
        #expect(replica.run(1, .release(lock: "L")) == .done)
        #expect(replica.token(of: replica.acquire(2)) != nil)
    }

    @Test("a TTL on the hold (SET NX PX) ends it unless the owner extends it")
    func holdTTL() {
        var replica = Replica()
        replica.open(1, ttl: 60_000)
        _ = replica.acquire(1, ttl: 200)
        replica.elapse(150)
        #expect(replica.run(1, .extend(lock: "L", ttlMillis: 200)) == .done)
        replica.elapse(150)
        #expect(replica.holders == [1])
        replica.elapse(60)
        #expect(replica.holders.isEmpty)
        #expect(replica.events.contains { if case .lost("L", 1, _, .ttlExpired) = $0 { return true } else { return false } })
    }

    @Test("fair lock: waiters are granted in arrival order, one event per grant (no herd)")
    func fairQueue() {
        var replica = Replica()
        for client: UInt64 in 1...4 { replica.open(client) }
        _ = replica.acquire(1)
        for client: UInt64 in 2...4 { #expect(replica.acquire(client, wait: 60_000) == .acquire(.queued(position: Int(client) - 2))) }
        for holder: UInt64 in 1...3 {
            replica.events.removeAll()
            replica.run(holder, .release(lock: "L"))
            #expect(replica.events.count == 1)
            #expect(replica.holders == [holder + 1])
        }
    }

    @Test("granted waits are measured in cluster time: p50 and p99 over the recent ones")
    func waitStatistics() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client, ttl: 60_000) }
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 60_000)
        _ = replica.acquire(3, wait: 60_000)
        replica.elapse(40)
        replica.run(1, .release(lock: "L"))
        replica.elapse(60)
        replica.run(2, .release(lock: "L"))
        let lock = replica.machine.locks.locks["L"]!
        #expect(lock.recentWaitsMillis == [40, 100])
        #expect(lock.waitMillis(atPercentile: 50) == 40 || lock.waitMillis(atPercentile: 50) == 100)
        #expect(lock.waitMillis(atPercentile: 99) == 100)
        #expect(LockState(name: "x", kind: .mutex, lockDelayMillis: 0).waitMillis(atPercentile: 50) == nil)
    }

    @Test("waiting has a deadline and can be cancelled")
    func deadlineAndCancel() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client, ttl: 60_000) }
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 100)
        _ = replica.acquire(3, wait: 10_000)
        replica.run(3, .cancelWait(lock: "L", sequence: 2))
        replica.elapse(100)
        #expect(replica.machine.locks.locks["L"]?.waiters.isEmpty == true)
        #expect(replica.events.contains { if case .waitEnded("L", 2, _, .deadlinePassed) = $0 { return true } else { return false } })
        #expect(replica.events.contains { if case .waitEnded("L", 3, _, .cancelled) = $0 { return true } else { return false } })
    }

    /// The lock's wake-up is noted from a bound on its waiters' deadlines that grants leave early
    /// (`LockState.waiterDeadlineBound`): the wake-up that comes too soon must change nothing, and
    /// the next waiter must still give up at its own deadline, to the millisecond.
    @Test("a granted waiter's earlier deadline leaves an early wake-up that changes nothing; the next one times out on time")
    func staleDeadlineBound() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client, ttl: 60_000) }
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 100)
        _ = replica.acquire(3, wait: 500)
        replica.run(1, .release(lock: "L"))
        #expect(replica.holders == [2], "client 2 granted before its 100 ms deadline")
        let before = replica.machine.locks
        replica.elapse(150)  // past the granted waiter's deadline: the early wake-up
        #expect(replica.holders == [2])
        #expect(replica.machine.locks.locks["L"]?.waiters.map(\.session) == [3])
        #expect(replica.machine.locks == before, "the early wake-up changed nothing")
        #expect(!replica.events.contains { if case .waitEnded = $0 { return true } else { return false } })
        replica.elapse(349)
        #expect(replica.machine.locks.locks["L"]?.waiters.map(\.session) == [3], "1 ms before its deadline it still waits")
        replica.elapse(1)
        #expect(replica.machine.locks.locks["L"]?.waiters.isEmpty == true)
        #expect(replica.events.contains { if case .waitEnded("L", 3, _, .deadlinePassed) = $0 { return true } else { return false } })
    }

    @Test("reentrant holds: the same session acquiring again counts up; the lock frees at zero")
    func reentrant() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        let first = replica.acquire(1)
        #expect(replica.acquire(1) == .acquire(.granted(token: replica.token(of: first)!, holdCount: 2)))
        replica.run(1, .release(lock: "L"))
        #expect(replica.holders == [1])
        replica.run(1, .release(lock: "L"))
        #expect(replica.token(of: replica.acquire(2)) != nil)
    }

    @Test("read/write lock: readers share, a writer excludes, and a queued writer holds back later readers")
    func readWrite() {
        var replica = Replica()
        for client: UInt64 in 1...4 { replica.open(client) }
        #expect(replica.token(of: replica.acquire(1, kind: .readWrite, mode: .shared)) != nil)
        #expect(replica.token(of: replica.acquire(2, kind: .readWrite, mode: .shared)) != nil)
        #expect(replica.acquire(3, kind: .readWrite, mode: .exclusive, wait: 60_000) == .acquire(.queued(position: 0)))
        #expect(replica.acquire(4, kind: .readWrite, mode: .shared, wait: 60_000) == .acquire(.queued(position: 1)))
        replica.run(1, .release(lock: "L"))
        replica.run(2, .release(lock: "L"))
        #expect(replica.holders == [3])
        replica.run(3, .release(lock: "L"))
        #expect(replica.holders == [4])
        #expect(replica.acquire(1, kind: .mutex) == .refused(.invalidRequest("lock 'L' is a read/write, not a mutex")))
    }

    @Test("semaphore: holders take permits up to the total")
    func semaphore() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client) }
        let kind = LockKind.semaphore(permits: 3)
        #expect(replica.token(of: replica.acquire(1, kind: kind, mode: .permits(2))) != nil)
        #expect(replica.token(of: replica.acquire(2, kind: kind, mode: .permits(1))) != nil)
        #expect(replica.acquire(3, kind: kind, mode: .permits(1)) == .acquire(.refused(heldBy: [1, 2])))
        #expect(replica.acquire(3, kind: kind, mode: .permits(4)) == .refused(.invalidRequest("asked for 4 permits of 3")))
        replica.run(1, .release(lock: "L"))
        #expect(replica.token(of: replica.acquire(3, kind: kind, mode: .permits(2))) != nil)
    }

    @Test("revocation asks the holder to let go and forces it out after the grace period")
    func revocation() {
        var replica = Replica()
        replica.open(1, ttl: 60_000)
        replica.open(2, ttl: 60_000)
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 60_000)
        replica.run(9, .revoke(lock: "L", graceMillis: 300))
        #expect(replica.events.contains(.revokeRequested(lock: "L", session: 1, deadlineMillis: 300)))
        replica.elapse(299)
        #expect(replica.holders == [1])
        replica.elapse(1)
        #expect(replica.holders == [2])
    }

    @Test("lock-delay: after a holder's session dies, nobody gets the lock until the delay passes")
    func lockDelay() {
        var replica = Replica()
        replica.open(1, ttl: 100)
        replica.open(2, ttl: 60_000)
        _ = replica.acquire(1, delay: 500)
        _ = replica.acquire(2, wait: 60_000, delay: 500)
        replica.elapse(100)
        #expect(replica.holders.isEmpty, "granted inside the lock-delay")
        replica.elapse(499)
        #expect(replica.holders.isEmpty)
        replica.elapse(1)
        #expect(replica.holders == [2])
    }

    @Test("a retried acquire (same request) leaves no phantom waiter or holder")
    func idempotentRetry() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        _ = replica.acquire(1)
        let first = replica.acquire(2, wait: 60_000)
        let retry = replica.run(2, .acquire(lock: "L", kind: .mutex, mode: .exclusive, waitMillis: 60_000, ttlMillis: nil, lockDelayMillis: 0),
                                sequence: replica.sequences[2]!)
        #expect(first == retry)
        #expect(replica.machine.locks.locks["L"]?.waiters.count == 1)
    }

    @Test("fencing tokens only grow, across locks and grants")
    func tokensGrow() {
        var replica = Replica()
        var tokens: [UInt64] = []
        for round in 0..<20 {
            let client = UInt64(round % 3 + 1)
            if !replica.machine.sessions.contains(client) { replica.open(client) }
            let lock = round % 2 == 0 ? "L" : "M"
            tokens.append(replica.token(of: replica.acquire(client, lock))!)
            replica.run(client, .release(lock: lock))
        }
        #expect(tokens == tokens.sorted() && Set(tokens).count == tokens.count)
    }

    @Test("a paused holder whose lease expired has its late write refused; the new holder's lands")
    func fencedWrites() {
        var replica = Replica()
        replica.open(1, ttl: 300)
        replica.open(2, ttl: 60_000)
        let oldToken = replica.token(of: replica.acquire(1))!
        _ = replica.acquire(2, wait: 60_000)
        // Client 1 pauses (no keep-alives): its lease runs out and client 2 is granted.
        replica.elapse(300)
        #expect(replica.holders == [2])
        let newToken = replica.machine.locks.locks["L"]!.holders[0].token
        #expect(replica.run(2, .fencedPut(key: "resource", value: "from 2", lock: "L", token: newToken)) == .fenced(accepted: true, reason: ""))
        // Client 1 wakes up and writes with its old token.
        let late = replica.run(1, .fencedPut(key: "resource", value: "from 1", lock: "L", token: oldToken))
        #expect(late == .fenced(accepted: false, reason: "stale token \(oldToken): a write with token \(newToken) already landed"))
        #expect(replica.machine.kv.read("resource", nowMillis: 0) == "from 2")
        let forged = replica.run(3, .fencedPut(key: "resource", value: "x", lock: "L", token: newToken + 100))
        #expect(forged == .fenced(accepted: false, reason: "token \(newToken + 100) was never granted on lock 'L'"))
    }

    @Test("bad names are refused with the limit stated; the state is unchanged")
    func badNames() {
        var replica = Replica()
        replica.open(1)
        let before = replica.machine.locks
        #expect(replica.acquire(1, "") == .refused(.invalidName("empty; names are 1…256 bytes")))
        #expect(replica.acquire(1, String(repeating: "x", count: 257)) == .refused(.invalidName("257 bytes; names are 1…256 bytes")))
        #expect(replica.token(of: replica.acquire(1, String(repeating: "x", count: 256))) != nil)
        #expect(replica.run(1, .release(lock: "nope")) == .refused(.unknownLock("nope")))
        #expect(replica.machine.locks.locks.count == before.locks.count + 1)
    }

    @Test("the waiter queue of a lock is bounded")
    func waitersBounded() {
        var replica = Replica()
        replica.open(1, ttl: 86_400_000)
        _ = replica.acquire(1)
        for client in 2...UInt64(CoordinationLimits.waitersPerLockMax + 1) {
            replica.open(client, ttl: 86_400_000)
            _ = replica.acquire(client, wait: 60_000)
        }
        let extra = UInt64(CoordinationLimits.waitersPerLockMax + 2)
        replica.open(extra, ttl: 86_400_000)
        #expect(replica.acquire(extra, wait: 60_000) == .refused(.limitReached("10000 waiters on lock 'L'")))
    }
}

@Suite struct CoordinationMachineTests {
    @Test("counters: linearizable increments and decrements, overflow refused")
    func counters() {
        var replica = Replica()
        #expect(replica.run(1, .increment(counter: "c", by: 5)) == .counter(5))
        #expect(replica.run(1, .increment(counter: "c", by: -7)) == .counter(-2))
        #expect(replica.run(1, .readCounter(counter: "c")) == .counter(-2))
        #expect(replica.run(1, .increment(counter: "c", by: .max)) == .counter(.max - 2))
        #expect(replica.run(1, .increment(counter: "c", by: 3)) == .refused(.invalidRequest("counter 'c' would overflow")))
    }

    @Test("every command round-trips through its log encoding; damaged bytes decode to nothing")
    func encoding() {
        let commands: [CoordinationCommand] = [
            .elapsed(millis: 7), .openSession(ttlMillis: 100), .keepAlive, .closeSession,
            .acquire(lock: "L", kind: .semaphore(permits: 3), mode: .permits(2), waitMillis: 0, ttlMillis: nil, lockDelayMillis: 5),
            .acquire(lock: "ключ", kind: .readWrite, mode: .shared, waitMillis: nil, ttlMillis: 9, lockDelayMillis: 0),
            .release(lock: "L"), .extend(lock: "L", ttlMillis: 3), .cancelWait(lock: "L", sequence: 4), .revoke(lock: "L", graceMillis: 1),
            .increment(counter: "c", by: -3), .readCounter(counter: "c"), .fencedPut(key: "k", value: "v", lock: "L", token: 9),
            .configSet(key: "k", value: "v"), .configSet(key: "k", value: nil), .configGet(key: "k"), .configHistory(key: "k"),
            .configRollback(key: "k", toRevision: 3), .configWatch(prefix: "a/", afterRevision: 7),
        ]
        for command in commands {
            let request = CoordinationRequest(client: 3, sequence: 4, command: command)
            #expect(CoordinationRequest(decoding: request.encoded()) == request)
            #expect(CoordinationRequest(decoding: Array(request.encoded().dropLast())) == nil)
        }
    }

    @Test("replicas applying the same entries reach equal states; KV entries interleave")
    func replicasAgree() {
        var first = Replica()
        var second = Replica()
        for replica in [0, 1] {
            var current = replica == 0 ? first : second
            current.open(1)
            _ = current.acquire(1)
            current.index += 1
            _ = current.machine.apply(index: current.index, data: KVRequest(client: 5, sequence: 1, command: .put(key: "k", value: "v")).encoded())
            current.elapse(2_000)
            if replica == 0 { first = current } else { second = current }
        }
        #expect(first.machine == second.machine)
        #expect(first.machine.kv.read("k", nowMillis: 0) == "v")
        #expect(first.machine.locks.locks.isEmpty)
    }
}

@Suite struct CoordinationSnapshotTests {
    /// A machine with something of everything: sessions, holders (TTL, revoked), waiters
    /// (deadline, TTL), lock-delay, a semaphore, counters, fences, KV, and every kind of answer.
    static func busyReplica() -> Replica {
        var replica = Replica()
        for client: UInt64 in 1...4 { replica.open(client, ttl: 5_000) }
        _ = replica.acquire(1, ttl: 900)
        _ = replica.acquire(2, wait: 3_000, ttl: 700)
        _ = replica.acquire(3, "S", kind: .semaphore(permits: 2), mode: .permits(2), delay: 50)
        _ = replica.acquire(4, "S", kind: .semaphore(permits: 2), mode: .permits(1))
        replica.run(9, .revoke(lock: "S", graceMillis: 10_000))
        replica.run(4, .increment(counter: "c", by: -42))
        let token = replica.machine.locks.locks["L"]!.holders[0].token
        replica.run(1, .fencedPut(key: "f", value: "v", lock: "L", token: token))
        replica.run(3, .fencedPut(key: "f", value: "w", lock: "L", token: 0))
        replica.run(2, .keepAlive)
        // Answers of clients without a session and fences, in an order that is not sorted.
        replica.run(30, .readCounter(counter: "c"))
        replica.run(20, .readCounter(counter: "c"))
        replica.run(1, .fencedPut(key: "z", value: "v", lock: "L", token: token))
        replica.run(1, .fencedPut(key: "a", value: "v", lock: "L", token: token))
        replica.elapse(10)
        return replica
    }

    @Test("the coordination state round-trips through a snapshot, byte for byte")
    func roundTrip() throws {
        let replica = Self.busyReplica()
        let bytes = replica.machine.snapshotData()
        let restored = try CoordinationStateMachine(restoring: bytes)
        #expect(restored == replica.machine)
        #expect(restored.snapshotData() == bytes)
    }

    @Test("after a restore, a retried request still gets its first answer and takes no effect")
    func retryAfterRestore() throws {
        var replica = Self.busyReplica()
        let sequence = replica.sequences[2]!
        let first = replica.machine.apply(index: replica.index + 1, data: CoordinationRequest(
            client: 2, sequence: sequence, command: .keepAlive).encoded()).coordination!.result
        var restored = Replica()
        restored.machine = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        restored.index = replica.index + 1
        let again = restored.run(2, .keepAlive, sequence: sequence)
        #expect(again == first)
    }

    @Test("a damaged coordination snapshot is refused with what is wrong", arguments: [1, 9, 40, 200])
    func damaged(cut: Int) {
        let bytes = Self.busyReplica().machine.snapshotData()
        #expect(throws: KVStateMachine.SnapshotError.self) { try CoordinationStateMachine(restoring: Array(bytes.dropLast(cut))) }
    }
}

@Suite struct ClusterTimeTests {
    @Test("clock entries are never deduplicated: a client sharing their ID cannot freeze cluster time")
    func clockEntriesBypassDeduplication() {
        var replica = Replica()
        #expect(replica.run(0, .openSession(ttlMillis: 100)) == .refused(.reservedClient))
        replica.run(0, .increment(counter: "c", by: 1), sequence: 7)
        replica.elapse(50)
        replica.elapse(50)
        #expect(replica.machine.nowMillis == 100)
    }
}

@Suite struct ConfigTests {
    @Test("writes get increasing revisions; a key keeps its versions and rolls back to an earlier one")
    func historyAndRollback() {
        var replica = Replica()
        #expect(replica.run(1, .configSet(key: "app/timeout", value: "1s")) == .configRevision(1))
        #expect(replica.run(1, .configSet(key: "app/retries", value: "3")) == .configRevision(2))
        #expect(replica.run(1, .configSet(key: "app/timeout", value: "5s")) == .configRevision(3))
        #expect(replica.run(1, .configGet(key: "app/timeout")) == .configValue(.init(revision: 3, value: "5s")))
        #expect(replica.run(1, .configHistory(key: "app/timeout")) == .configHistory([.init(revision: 1, value: "1s"), .init(revision: 3, value: "5s")]))
        #expect(replica.run(1, .configRollback(key: "app/timeout", toRevision: 2)) == .configRevision(4))
        #expect(replica.run(1, .configGet(key: "app/timeout")) == .configValue(.init(revision: 4, value: "1s")))
        #expect(replica.run(1, .configSet(key: "app/retries", value: nil)) == .configRevision(5))
        #expect(replica.run(1, .configGet(key: "app/retries")) == .configValue(nil))
        #expect(replica.run(1, .configSet(key: "app/retries", value: nil)) == .refused(.invalidRequest("config key 'app/retries' does not exist")))
        #expect(replica.run(1, .configRollback(key: "nope", toRevision: 1)) == .refused(.invalidRequest("config key 'nope' does not exist")))
    }

    @Test("a key keeps at most its last 32 versions; rolling back further says what is kept")
    func versionsBounded() {
        var replica = Replica()
        for number in 1...40 { replica.run(1, .configSet(key: "k", value: "v\(number)")) }
        guard case .configHistory(let versions) = replica.run(1, .configHistory(key: "k")) else { Issue.record("no history"); return }
        #expect(versions.count == ConfigStore.versionsPerKeyMax)
        #expect(versions.first?.revision == 9)
        #expect(replica.run(1, .configRollback(key: "k", toRevision: 3))
                == .refused(.invalidRequest("config key 'k' has no version at or before revision 3 (oldest kept: 9)")))
    }

    @Test("a watch resumes from any revision without loss, filtered by prefix, in order")
    func watchResumes() {
        var replica = Replica()
        for number in 1...10 { replica.run(1, .configSet(key: number % 2 == 0 ? "a/\(number)" : "b/\(number)", value: "\(number)")) }
        #expect(replica.run(2, .configWatch(prefix: "a/", afterRevision: 0))
                == .configWatch(.events((1...5).map { ConfigStore.Event(revision: UInt64($0 * 2), key: "a/\($0 * 2)", value: "\($0 * 2)") }, upTo: 10)))
        #expect(replica.run(2, .configWatch(prefix: "a/", afterRevision: 6))
                == .configWatch(.events([.init(revision: 8, key: "a/8", value: "8"), .init(revision: 10, key: "a/10", value: "10")], upTo: 10)))
        #expect(replica.run(2, .configWatch(prefix: "", afterRevision: 10)) == .configWatch(.events([], upTo: 10)))
    }

    @Test("a watch from before the oldest kept event is told it was compacted and where to re-list from")
    func watchCompacted() {
        var replica = Replica()
        for number in 1...(ConfigStore.eventsMax + 5) { replica.run(1, .configSet(key: "k", value: "\(number)")) }
        let latest = UInt64(ConfigStore.eventsMax + 5)
        #expect(replica.run(2, .configWatch(prefix: "k", afterRevision: 2)) == .configWatch(.compacted(relistFrom: latest)))
        guard case .configWatch(.events(let events, _)) = replica.run(2, .configWatch(prefix: "k", afterRevision: 5)) else {
            Issue.record("the oldest retained revision must still be watchable"); return
        }
        #expect(events.count == ConfigStore.eventsPerWatchMax)
        #expect(events.first?.revision == 6)
    }

    @Test("the config store travels in snapshots")
    func configInSnapshots() throws {
        var replica = CoordinationSnapshotTests.busyReplica()
        replica.run(5, .configSet(key: "x", value: "1"))
        replica.run(5, .configSet(key: "x", value: nil))
        replica.run(5, .configWatch(prefix: "", afterRevision: 0))
        let restored = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        #expect(restored == replica.machine)
        #expect(restored.config.events.count == 2)
    }

    @Test("past eventsMax the newest eventsMax events are kept at every write, across the log's compactions; a snapshot of it restores equal")
    func eventWindow() throws {
        var config = ConfigStore()
        let max = ConfigStore.eventsMax
        for number in 1...(max * 2 + max / 3) {
            _ = try config.write("k\(number % 7)", value: "\(number)")
            if number > max && number % 997 == 0 || number == max + 1 || number == max + max / 4 {
                #expect(config.events.count == max, "after \(number) writes")
                #expect(config.events.first?.revision == UInt64(number - max + 1) && config.events.last?.revision == UInt64(number))
                #expect(config.watch(prefix: "k", after: UInt64(number - max)) != .compacted(relistFrom: config.revision))
                #expect(config.watch(prefix: "k", after: UInt64(number - max - 1)) == .compacted(relistFrom: config.revision))
            }
        }
        var replica = Replica()
        for number in 1...(max + max / 3) { replica.run(1, .configSet(key: "k\(number % 5)", value: "\(number)")) }
        let restored = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        #expect(restored == replica.machine, "the same events, whatever the head of the log they sit in")
        #expect(restored.config.events.count == max)
    }
}

@Suite struct WorkerLeaseTests {
    @Test("two live sessions never hold the same worker ID; a freed ID's next holder starts after the last deadline")
    func workerLeases() {
        var replica = Replica()
        replica.open(1, ttl: 500)
        replica.open(2, ttl: 60_000)
        #expect(replica.run(1, .leaseWorker(workersMax: 2, deadlineMillis: 10_000)) == .workerLeased(worker: 0, startAfterMillis: 0))
        #expect(replica.run(2, .leaseWorker(workersMax: 2, deadlineMillis: 20_000)) == .workerLeased(worker: 1, startAfterMillis: 0))
        replica.open(3, ttl: 60_000)
        #expect(replica.run(3, .leaseWorker(workersMax: 2, deadlineMillis: 5_000)) == .refused(.limitReached("all 2 worker IDs are leased")))
        #expect(replica.run(1, .leaseWorker(workersMax: 2, deadlineMillis: 12_000)) == .workerLeased(worker: 0, startAfterMillis: 0))
        #expect(replica.run(1, .leaseWorker(workersMax: 2, deadlineMillis: 11_000))
                == .refused(.invalidRequest("a renewal may not move worker 0's deadline back (11000 < 12000)")))
        replica.elapse(500)  // session 1 expires: worker 0 is free, its deadline remembered
        #expect(replica.run(3, .leaseWorker(workersMax: 2, deadlineMillis: 9_000)) == .workerLeased(worker: 0, startAfterMillis: 12_000))
    }

    /// Seed 851079 (IDs, 5 nodes, every fault): worker 0's holder on a fast clock recorded deadline
    /// 20187; the next holder, on a true clock, renewed with 17143 and the renewal overwrote the
    /// record, so the holder after it started at 17143 and stamped inside the first one's range.
    @Test("a renewal never lowers the recorded deadline a worker ID's next holder must start after")
    func renewalKeepsTheHighestDeadline() {
        var replica = Replica()
        replica.open(1, ttl: 500)
        #expect(replica.run(1, .leaseWorker(workersMax: 1, deadlineMillis: 20_187)) == .workerLeased(worker: 0, startAfterMillis: 0))
        replica.elapse(500)
        replica.open(2, ttl: 500)
        #expect(replica.run(2, .leaseWorker(workersMax: 1, deadlineMillis: 16_767)) == .workerLeased(worker: 0, startAfterMillis: 20_187))
        #expect(replica.run(2, .leaseWorker(workersMax: 1, deadlineMillis: 17_143)) == .workerLeased(worker: 0, startAfterMillis: 0))
        replica.elapse(500)
        replica.open(3, ttl: 500)
        #expect(replica.run(3, .leaseWorker(workersMax: 1, deadlineMillis: 18_999)) == .workerLeased(worker: 0, startAfterMillis: 20_187))
    }

    @Test("worker leases need a session, a sane range, and travel in snapshots")
    func workerLeaseInputs() throws {
        var replica = Replica()
        #expect(replica.run(7, .leaseWorker(workersMax: 32, deadlineMillis: 1)) == .refused(.unknownSession(7)))
        replica.open(7)
        #expect(replica.run(7, .leaseWorker(workersMax: 0, deadlineMillis: 1)) == .refused(.invalidRequest("workersMax 0; accepted: 1…4194304")))
        #expect(replica.run(7, .leaseWorker(workersMax: 32, deadlineMillis: 1)) == .workerLeased(worker: 0, startAfterMillis: 0))
        let restored = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        #expect(restored == replica.machine)
        #expect(restored.workers.leases[0]?.session == 7)
        let request = CoordinationRequest(client: 1, sequence: 2, command: .leaseWorker(workersMax: 32, deadlineMillis: 99))
        #expect(CoordinationRequest(decoding: request.encoded()) == request)
    }
}
