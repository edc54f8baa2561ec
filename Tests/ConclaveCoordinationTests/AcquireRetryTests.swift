import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// A retried queued acquire (same client and sequence, sent again because no answer came) is
/// answered with where the request stands now, so a client whose grant notice was lost learns it
/// holds the lock.
@Suite struct AcquireRetryTests {
    static func retry(_ replica: inout Replica, _ client: UInt64, wait: UInt64 = 60_000) -> CoordinationResult {
        replica.run(client, .acquire(lock: "L", kind: .mutex, mode: .exclusive, waitMillis: wait, ttlMillis: nil, lockDelayMillis: 0),
                    sequence: replica.sequences[client]!)
    }

    @Test("a retry after the grant is answered granted, with the token")
    func retryAfterGrant() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        _ = replica.acquire(1)
        #expect(replica.acquire(2, wait: 60_000) == .acquire(.queued(position: 0)))
        replica.run(1, .release(lock: "L"))
        let token = replica.machine.locks.locks["L"]!.holders[0].token
        #expect(Self.retry(&replica, 2) == .acquire(.granted(token: token, holdCount: 1)))
        #expect(replica.holders == [2])
    }

    @Test("a retry while still queued is answered with the position now")
    func retryWhileQueued() {
        var replica = Replica()
        for client: UInt64 in 1...3 { replica.open(client, ttl: 60_000) }
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 100)
        #expect(replica.acquire(3, wait: 60_000) == .acquire(.queued(position: 1)))
        replica.elapse(100)  // client 2's wait runs out: client 3 moves up
        #expect(Self.retry(&replica, 3) == .acquire(.queued(position: 0)))
    }

    @Test("a retry after the wait ended is told it ended, and why")
    func retryAfterWaitEnded() {
        var replica = Replica()
        for client: UInt64 in 1...2 { replica.open(client, ttl: 60_000) }
        _ = replica.acquire(1)
        _ = replica.acquire(2, wait: 100)
        replica.elapse(100)
        let result = Self.retry(&replica, 2, wait: 100)
        guard case .refused(let error) = result else { Issue.record("answered \(result)"); return }
        #expect(error.description.contains("deadline passed"), "\(error)")
        #expect(replica.machine.locks.locks["L"]?.waiters.isEmpty == true)
    }
}
