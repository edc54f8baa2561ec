import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// A replica restored from a snapshot must go on exactly as the replica it was taken from.
@Suite struct LockSnapshotReplayTests {
    /// Found by the lock-mix chaos sweep: `conclave chaos --workload locks --seed 32 --nodes 3
    /// --clients 10 --duration 20s --nemesis all` ends with "node 5's state machine diverged at
    /// index 2491": node 5 joined, installed the snapshot at 2000, and at a clock entry granted
    /// queue-1 (token 324) to another waiter than every replica that had applied the log.
    ///
    /// The cause: `LockIndexes.sessions` is a superset on a replica that applied the log (a wait
    /// that ended by its deadline or a cancel leaves the lock's name under the session) but exact
    /// on a restored one, and `LockTable.sessionEnded` then granted the queue of every lock in it —
    /// so when that session expires, the original grants the head waiter of a lock the session no
    /// longer touched, in the very step whose `advance` would first have ended that waiter's wait
    /// (its deadline has passed); the restored replica ends the wait and grants the next waiter.
    /// Same token, two holders, depending on which replica answers.
    /// Fixed: `sessionEnded` acts only on locks where the session holds or waits.
    @Test("a replica restored from a snapshot answers a session's expiry as the original does")
    func restoredReplicaAnswersAlike() throws {
        var original = Replica()
        original.open(1, ttl: 300)
        for client: UInt64 in 2...4 { original.open(client, ttl: 60_000) }
        #expect(original.token(of: original.acquire(2, delay: 100)) != nil)
        #expect(original.acquire(1, wait: 50, delay: 100) == .acquire(.queued(position: 0)))
        original.elapse(100)  // client 1's wait ends by its deadline; "L" stays in its index
        original.elapse(100)
        original.run(2, .closeSession)  // the holder's session ends: "L" is unavailable until 300
        #expect(original.acquire(3, wait: 100, delay: 100) == .acquire(.queued(position: 0)))  // deadline 300
        #expect(original.acquire(4, wait: 10_000, delay: 100) == .acquire(.queued(position: 1)))
        var restored = original
        restored.machine = try CoordinationStateMachine(restoring: original.machine.snapshotData())
        #expect(restored.machine == original.machine)
        let eventsBefore = original.events.count
        original.elapse(100)  // client 1's session expires, the lock-delay and client 3's wait end
        restored.elapse(100)
        #expect(Array(restored.events.dropFirst(eventsBefore)) == Array(original.events.dropFirst(eventsBefore)))
        #expect(restored.holders == original.holders)
    }
}
