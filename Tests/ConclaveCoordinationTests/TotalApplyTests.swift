import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// `apply` is total: a value that cannot execute is refused with what was wrong and what is
/// accepted — never a trap, which would kill every replica at that index, and again on replay.
@Suite struct TotalApplyTests {
    @Test("a clock entry past the last representable cluster time is refused; time stays put")
    func hugeElapsed() {
        var replica = Replica()
        replica.elapse(1)
        replica.elapse(.max)
        #expect(replica.machine.nowMillis == 1)
        replica.elapse(1)
        #expect(replica.machine.nowMillis == 2)
    }

    @Test("a blocking acquire with a huge wait is refused with the accepted range")
    func hugeWait() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        _ = replica.acquire(1)
        let result = replica.acquire(2, wait: .max)
        #expect(replica.refusal(result)?.contains("accepted") == true, "\(result)")
        #expect(replica.machine.locks.locks["L"]?.waiters.isEmpty == true)
    }

    @Test("a huge lock-delay is refused where the lock is asked for, not when its holder's session dies")
    func hugeLockDelay() {
        var replica = Replica()
        replica.open(1, ttl: 100)
        let result = replica.acquire(1, delay: .max)
        #expect(replica.refusal(result)?.contains("accepted") == true, "\(result)")
        replica.elapse(100)
        #expect(!replica.machine.sessions.contains(1))
    }

    @Test("a huge revocation grace is refused with the accepted range")
    func hugeGrace() {
        var replica = Replica()
        replica.open(1)
        _ = replica.acquire(1)
        let result = replica.run(9, .revoke(lock: "L", graceMillis: .max))
        #expect(replica.refusal(result)?.contains("accepted") == true, "\(result)")
        #expect(replica.machine.locks.locks["L"]?.holders.first?.revokeAtMillis == nil)
    }

    @Test("a config watch from the last possible revision answers, and does not overflow")
    func watchFromTheEnd() {
        var replica = Replica()
        replica.run(1, .configSet(key: "k", value: "v"))
        #expect(replica.run(1, .configWatch(prefix: "", afterRevision: .max)) == .configWatch(.events([], upTo: 1)))
    }

    @Test("negative permits and counts round-trip through the log and are refused with the value sent")
    func negativeCounts() {
        var replica = Replica()
        replica.open(1)
        let semaphore = replica.acquire(1, "S", kind: .semaphore(permits: -1), mode: .permits(-1))
        #expect(replica.refusal(semaphore)?.contains("-1") == true, "\(semaphore)")
        let workers = replica.run(1, .leaseWorker(workersMax: -5, deadlineMillis: 1))
        #expect(replica.refusal(workers)?.contains("-5") == true, "\(workers)")
        let list = replica.run(1, .task(.list(afterID: 0, limit: -3)))
        #expect(replica.refusal(list)?.contains("-3") == true, "\(list)")
    }

    @Test("a recurring claim's next firing past the last cluster time is refused; snapshots still encode")
    func hugeNextFiring() throws {
        var replica = Replica()
        replica.task(0, .members([1]))
        let spec = TaskSpec(name: "cron", timing: .cron(CronTiming(expression: "* * * * *", zone: "UTC", firstFireMillis: 10)),
                            target: .queue("q"))
        let id = try replica.scheduled(spec)
        replica.elapse(10)
        let claim = replica.task(0, .claim(id: id, fire: 1, node: replica.primary(of: id), nextFireMillis: .max))
        #expect(replica.refusal(claim)?.contains("accepted") == true, "\(claim)")
        let restored = try CoordinationStateMachine(restoring: replica.machine.snapshotData())
        #expect(restored == replica.machine)
    }

    @Test("a task due after the last cluster time is refused, naming the bound", arguments: [
        TaskTiming.after(millis: .max), .at(millis: .max),
        .cron(CronTiming(expression: "* * * * *", zone: "UTC", firstFireMillis: .max)),
    ])
    func hugeTaskTimes(timing: TaskTiming) {
        var replica = Replica()
        let result = replica.task(7, .schedule(TaskSpec(name: "t", timing: timing, target: .queue("q"))))
        #expect(replica.refusal(result)?.contains("accepted") == true, "\(result)")
        #expect(replica.machine.tasks.tasks.isEmpty)
    }

    @Test("a request whose command does not decode is answered with that; bytes without a client answer nobody")
    func malformedCommand() {
        var replica = Replica()
        var bytes = CoordinationRequest(client: 4, sequence: 1, command: .keepAlive).encoded()
        bytes[17] = 200  // no such command kind
        replica.index += 1
        let applied = replica.machine.apply(index: replica.index, data: bytes).coordination
        #expect(applied?.result == .refused(.invalidRequest(CoordinationRequest.malformedCommand)))
        replica.index += 1
        #expect(replica.machine.apply(index: replica.index, data: [2, 1, 2]).coordination == nil)
        #expect(replica.machine.appliedIndex == replica.index)
    }

    @Test("a name out of bounds is refused as one by every command that takes a name (found by the command fuzzer)",
          arguments: ["", String(repeating: "n", count: CoordinationLimits.nameBytesMax + 1)])
    func namesOutOfBounds(name: String) {
        var replica = Replica()
        replica.open(1)
        let commands: [CoordinationCommand] = [
            .release(lock: name), .extend(lock: name, ttlMillis: 1_000), .revoke(lock: name, graceMillis: 0),
            .cancelWait(lock: name, sequence: 1), .configRollback(key: name, toRevision: 1), .task(.ack(queue: name, message: 1)),
        ]
        for command in commands {
            // Before, these answered "unknown lock ''" and the like: true, but not what was wrong.
            if case .refused(.invalidName) = replica.run(1, command) { continue }
            Issue.record("\(command) was not refused as an invalid name")
        }
    }

    @Test("cluster time runs up to its stated end and no further")
    func clusterTimeEnds() {
        var replica = Replica()
        replica.elapse(CoordinationLimits.clusterTimeMillisMax)
        #expect(replica.machine.nowMillis == CoordinationLimits.clusterTimeMillisMax)
        let refused = replica.run(0, .elapsed(millis: 1), sequence: 0)
        #expect(refused == .refused(.invalidRequest(
            "clock entry 1 ms would move cluster time past its end at \(CoordinationLimits.clusterTimeMillisMax) ms; accepted now: 0…0 ms")))
    }
}
