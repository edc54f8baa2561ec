import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// A restored snapshot must not hold a value its apply arithmetic traps on (see
/// `CoordinationStateMachine.restoredStateProblem`). Each case damages one field of a real state,
/// as one changed byte or word of its snapshot would, and the restore must refuse it, naming the
/// field. Before the checks each of these restored, and the command named in `trappedOn` then
/// ended the process (or, where it says nothing at once, held what no apply writes). The first is
/// the hole the fuzzer's author reported; `lockAcquires`, `lockRefusals` and `sessionTTL` are
/// what `SnapshotMutationFuzzTests` hit first on seeds 1–4 with the checks switched off.
@Suite struct SnapshotRestoreCheckTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case waiterTTL, lockAcquires, lockRefusals, lockWaits, holdCount, waiterEnqueuedAfterNow, holderToken, tokenCounter
        case sessionTTL, sessionExpiry, configEventRevision, configRevision, taskAttempts, taskCreatedAfterNow
        case kvRevision, kvAppliedIndex, kvExpiry

        var testDescription: String { rawValue }

        /// What the refusal must name.
        var field: String {
            switch self {
            case .waiterTTL, .sessionTTL: return "TTL"
            case .lockAcquires: return "acquires"
            case .lockRefusals: return "refusals"
            case .lockWaits: return "waits"
            case .holdCount: return "hold count"
            case .waiterEnqueuedAfterNow: return "enqueued at"
            case .holderToken: return "token"
            case .tokenCounter: return "fencing-token counter"
            case .sessionExpiry: return "expires at"
            case .configEventRevision: return "config events"
            case .configRevision: return "config revision"
            case .taskAttempts: return "attempts"
            case .taskCreatedAfterNow: return "created at"
            case .kvRevision: return "KV revision"
            case .kvAppliedIndex: return "KV applied index"
            case .kvExpiry: return "expires-at"
            }
        }

        /// What applied to the damaged state ended the process before the checks.
        var trappedOn: String {
            switch self {
            case .waiterTTL: return "the holder's release: the grant adds the TTL to cluster time (LockTable.grant)"
            case .lockAcquires: return "the next grant's acquires += 1"
            case .lockRefusals: return "the next refused try-lock's refusals += 1"
            case .lockWaits: return "the next queued acquire's waits += 1"
            case .holdCount: return "a reentrant acquire's holdCount += 1"
            case .waiterEnqueuedAfterNow: return "the handoff's cluster time − enqueue time"
            case .holderToken, .configRevision, .kvExpiry, .sessionExpiry: return "nothing at once; a state apply never makes"
            case .tokenCounter: return "the next grant's token += 1"
            case .sessionTTL: return "a keep-alive: cluster time + TTL"
            case .configEventRevision: return "a watch: the oldest event's revision − 1"
            case .taskAttempts: return "a claim: timeout × attempts"
            case .taskCreatedAfterNow: return "nothing at once; a state apply never makes"
            case .kvRevision: return "the next KV write's revision += 1"
            case .kvAppliedIndex: return "the next entry: applied index + 1"
            }
        }

        /// The KV applied index is changed in the bytes: the outer version and KV part's length
        /// (9 bytes), the KV version (1), then the index.
        func damage(_ snapshot: inout [UInt8]) {
            guard self == .kvAppliedIndex else { return }
            for position in 10..<18 { snapshot[position] = 0xFF }
        }

        func apply(to machine: inout CoordinationStateMachine) {
            let now = machine.nowMillis
            switch self {
            case .waiterTTL: machine.locks.locks["L"]!.waiters[0].ttlMillis = .max
            case .lockAcquires: machine.locks.locks["L"]!.acquires = .max
            case .lockRefusals: machine.locks.locks["L"]!.refusals = .max
            case .lockWaits: machine.locks.locks["L"]!.waits = .max
            case .holdCount: machine.locks.locks["L"]!.holders[0].holdCount = .max
            case .waiterEnqueuedAfterNow: machine.locks.locks["L"]!.waiters[0].enqueuedAtMillis = now + 1
            case .holderToken: machine.locks.locks["L"]!.holders[0].token = machine.locks.lastToken + 1
            case .tokenCounter:
                machine.locks.lastToken = .max
                machine.locks.locks["L"]!.lastToken = .max
            case .sessionTTL: machine.sessions.sessions[1]!.ttlMillis = .max
            case .sessionExpiry: machine.sessions.sessions[1]!.expiresAtMillis = .max
            case .configEventRevision: machine.config.events[0].revision = 0
            case .configRevision: machine.config.revision = .max
            case .taskAttempts: machine.tasks.tasks[1]!.spec.retry.attemptsMax = .max
            case .taskCreatedAfterNow: machine.tasks.tasks[1]!.createdAtMillis = now + 1
            case .kvRevision: machine.kv.revision = .max
            case .kvAppliedIndex: break  // not settable: see `damage(_:)`
            case .kvExpiry: machine.kv.expiries["a"] = .max
            }
        }
    }

    /// Two sessions; client 1 holds "L" (TTL-limited), client 2 waits on it with a TTL; a config
    /// key, a delay task, a KV key with a TTL.
    static func realState() -> CoordinationStateMachine {
        var replica = Replica()
        replica.open(1, ttl: 60_000)
        replica.open(2, ttl: 60_000)
        replica.elapse(1_000)
        _ = replica.acquire(1, ttl: 5_000)
        _ = replica.acquire(2, wait: 10_000, ttl: 5_000)
        replica.run(1, .configSet(key: "k", value: "1"))
        replica.run(0, .task(.members([1, 2, 3])), sequence: 0)
        replica.run(1, .task(.schedule(TaskSpec(name: "job", timing: .after(millis: 100), payload: "", target: .callback("hook"),
                                               timeoutMillis: 100, retry: RetryPolicy(), idempotencyKey: nil))))
        replica.index += 1
        let set = KVRequest(client: 1, sequence: 1, command: .set(key: "a", value: "1", condition: .always, ttlMillis: 5_000))
        _ = replica.machine.apply(index: replica.index, data: set.encoded())
        return replica.machine
    }

    @Test("the real state restores, and every case's field is there to damage")
    func realStateRestores() throws {
        let machine = Self.realState()
        #expect(try CoordinationStateMachine(restoring: machine.snapshotData()) == machine)
        #expect(machine.locks.locks["L"]?.waiters.count == 1 && machine.tasks.tasks[1] != nil && machine.kv.expiries["a"] != nil)
    }

    @Test("a snapshot holding a value apply traps on is refused, naming the field", arguments: Damage.allCases)
    func refused(damage: Damage) {
        var machine = Self.realState()
        damage.apply(to: &machine)
        var snapshot = machine.snapshotData()
        damage.damage(&snapshot)
        #expect {
            _ = try CoordinationStateMachine(restoring: snapshot)
        } throws: { error in
            "\(error)".contains(damage.field)
        }
    }

    @Test("with every token spent, an acquire is refused and a waiter stays queued: the grant path never wraps the counter")
    func tokensSpent() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client, ttl: 60_000) }
        replica.machine.locks.lastToken = .max - 2
        #expect(replica.token(of: replica.acquire(1)) == UInt64.max - 1)
        #expect(replica.acquire(2, wait: 10_000) == .acquire(.queued(position: 0)))
        #expect(replica.token(of: replica.acquire(3, "N")) == UInt64.max)
        replica.run(1, .release(lock: "L"))
        #expect(replica.holders.isEmpty, "the waiter is not granted: no token is left")
        #expect(replica.machine.locks.locks["L"]?.waiters.count == 1)
        #expect(replica.acquire(3, "P") == .refused(.limitReached("fencing tokens: all \(UInt64.max) were granted")))
    }
}
