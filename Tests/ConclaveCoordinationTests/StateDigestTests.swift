import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// The replica digest covers state, not only answers: two replicas whose answers were alike but
/// whose states differ are told apart.
@Suite struct StateDigestTests {
    /// Two replicas built by `build`, the second with the first's answer history, must still differ.
    static func differ(_ build: (inout Replica, Bool) -> Void) -> Bool {
        var first = Replica()
        var second = Replica()
        build(&first, false)
        build(&second, true)
        second.machine.digest = first.machine.digest
        return first.machine.combinedDigest != second.machine.combinedDigest
    }

    @Test("replicas that differ in who holds a lock have different digests")
    func holders() {
        #expect(Self.differ { replica, other in
            replica.open(1)
            replica.open(2)
            _ = replica.acquire(other ? 2 : 1)
        })
    }

    @Test("replicas that differ in who waits have different digests")
    func waiters() {
        #expect(Self.differ { replica, other in
            for client: UInt64 in 1...3 { replica.open(client) }
            _ = replica.acquire(1)
            _ = replica.acquire(other ? 3 : 2, wait: 60_000)
        })
    }

    @Test("replicas that differ in sessions, counters, fences or the clock have different digests", arguments: 0..<4)
    func otherState(kind: Int) {
        #expect(Self.differ { replica, other in
            switch kind {
            case 0: replica.open(1, ttl: other ? 2_000 : 1_000)
            case 1: replica.run(1, .increment(counter: "c", by: other ? 2 : 1))
            case 2:
                replica.open(1)
                _ = replica.acquire(1)
                _ = replica.acquire(1, "M")
                replica.run(1, .fencedPut(key: "k", value: "v", lock: other ? "M" : "L", token: other ? 2 : 1))
            default: replica.elapse(other ? 6 : 5)
            }
        })
    }

    @Test("the digest kept up to date as entries apply equals one rebuilt from the state, and a restored replica's")
    func upkeep() throws {
        var replica = CoordinationSnapshotTests.busyReplica()
        replica.task(0, .members([1, 2]))
        let queued = try replica.scheduled(TaskSpec(name: "q", timing: .after(millis: 5), target: .queue("jobs"), idempotencyKey: "k"))
        let callback = try replica.scheduled(TaskSpec(name: "c", timing: .after(millis: 5), target: .callback("hook")))
        replica.elapse(5)
        replica.task(0, .claim(id: queued, fire: 1, node: replica.primary(of: queued), nextFireMillis: nil))
        replica.task(0, .claim(id: callback, fire: 1, node: replica.primary(of: callback), nextFireMillis: nil))
        replica.task(8, .pull(queue: "jobs", max: 5, visibilityMillis: 1_000))
        replica.run(1, .configSet(key: "x", value: "1"))
        replica.run(1, .leaseWorker(workersMax: 4, deadlineMillis: 99))
        replica.run(1, .throttle(.define(name: "t", count: 5, periodMillis: 1_000, maxBurst: 1)))
        replica.run(2, .throttle(.take(name: "t", quantity: 1, stampNanos: 0)))
        replica.elapse(6_000)  // sessions expire: holds, waits, answers move
        #expect(replica.machine.stateDigest == replica.machine.recomputedStateDigest())
        let restored = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        #expect(restored.stateDigest == replica.machine.stateDigest)
        #expect(restored.combinedDigest == replica.machine.combinedDigest)
    }
}
