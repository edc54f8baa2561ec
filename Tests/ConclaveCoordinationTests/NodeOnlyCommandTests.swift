import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// Client 0 is the nodes' own: the leader's clock and the scheduler's membership, claims and
/// reports. Nothing else may use it, and nobody else may send those.
@Suite struct NodeOnlyCommandTests {
    @Test("a client's clock entry is refused: only client 0 (the leader's clock) moves cluster time")
    func clientCannotMoveClusterTime() {
        var replica = Replica()
        replica.open(1, ttl: 1_000)
        let result = replica.run(1, .elapsed(millis: 5_000))
        #expect(replica.machine.nowMillis == 0)
        #expect(replica.machine.sessions.contains(1), "a client expired sessions by moving time")
        #expect(replica.refusal(result)?.contains("client 0") == true, "\(result)")
    }

    @Test("scheduler membership, claims and reports from a client are refused, naming why",
          arguments: [TaskCommand.members([1, 2]), .claim(id: 1, fire: 1, node: 1, nextFireMillis: nil),
                      .finish(id: 1, fire: 1, node: 1, outcome: .succeeded(attempts: 1))])
    func clientCannotSendSchedulerNodeCommands(command: TaskCommand) {
        var replica = Replica()
        let result = replica.run(3, .task(command))
        #expect(replica.refusal(result)?.contains("client 0") == true, "\(result)")
        #expect(replica.machine.tasks.members.isEmpty)
    }

    @Test("client 0 is reserved: an ordinary command sent with it is refused and changes nothing")
    func clientZeroIsReserved() {
        var replica = Replica()
        let increment = replica.run(0, .increment(counter: "c", by: 1), sequence: 1)
        #expect(replica.machine.counters["c"] == nil)
        #expect(replica.refusal(increment)?.contains("client 0 is reserved") == true, "\(increment)")
        let open = replica.run(0, .openSession(ttlMillis: 100), sequence: 2)
        #expect(replica.refusal(open)?.contains("client 0 is reserved") == true, "\(open)")
        // The nodes' entries still run, whatever sequence they carry, and are never answered from a cache.
        replica.run(0, .elapsed(millis: 50), sequence: 2)
        replica.run(0, .elapsed(millis: 50), sequence: 2)
        #expect(replica.machine.nowMillis == 100)
    }
}
