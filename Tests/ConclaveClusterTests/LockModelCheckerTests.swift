import ConclaveCluster
import Testing

/// The checker's rules for README's history operations beyond HISTORY.md: each rule has a history
/// that keeps it (passes) and one that breaks it (fails, with a report that says why).
@Suite struct LockModelCheckerTests {
    static let linearizableHistories: [ExampleHistory] = [
        ExampleHistory(name: "two readers hold a read/write lock together; the writer waits until both let go", operations: [
            .acquire(client: 1, mode: .shared, token: 1, holds: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .shared, token: 2, holds: 1, from: 2, to: 3),
            .acquire(client: 3, mode: .exclusive, wait: 500, token: 3, holds: 1, from: 4, to: 20),
            .release(client: 1, from: 5, to: 6),
            .release(client: 2, from: 7, to: 8),
            .acquire(client: 4, mode: .shared, ok: false, from: 9, to: 10),
            .release(client: 3, from: 21, to: 22),
        ]),
        ExampleHistory(name: "a semaphore of 3 permits holds 2 + 1, refuses 1 more, and grants it after a release", operations: [
            .acquire(client: 1, mode: .permits, permits: 2, capacity: 3, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .permits, permits: 1, capacity: 3, token: 2, from: 2, to: 3),
            .acquire(client: 3, mode: .permits, permits: 1, capacity: 3, ok: false, from: 4, to: 5),
            .release(client: 2, from: 6, to: 7),
            .acquire(client: 3, mode: .permits, permits: 1, capacity: 3, token: 3, from: 8, to: 9),
        ]),
        ExampleHistory(name: "a reentrant grant returns the holder's token, and the lock frees at the last release", operations: [
            .acquire(client: 1, mode: .exclusive, token: 5, holds: 1, from: 0, to: 1),
            .acquire(client: 1, mode: .exclusive, token: 5, holds: 2, from: 2, to: 3),
            .release(client: 1, from: 4, to: 5),
            .acquire(client: 2, mode: .exclusive, ok: false, from: 6, to: 7),
            .release(client: 1, from: 8, to: 9),
            .acquire(client: 2, mode: .exclusive, token: 6, holds: 1, from: 10, to: 11),
        ]),
        ExampleHistory(name: "a semaphore holder asking again holds twice under two tokens; a release frees one", operations: [
            .acquire(client: 1, mode: .permits, permits: 1, capacity: 2, token: 1, holds: 1, from: 0, to: 1),
            .acquire(client: 1, mode: .permits, permits: 1, capacity: 2, token: 2, holds: 1, from: 2, to: 3),
            .acquire(client: 2, mode: .permits, permits: 1, capacity: 2, ok: false, from: 4, to: 5),
            .release(client: 1, from: 6, to: 7),
            .acquire(client: 2, mode: .permits, permits: 1, capacity: 2, token: 3, from: 8, to: 9),
        ]),
        ExampleHistory(name: "a blocking acquire is granted inside its interval; a wait that ended took no hold", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .exclusive, wait: 100, token: 2, from: 2, to: 10),
            .release(client: 1, from: 3, to: 4),
            .acquire(client: 3, mode: .exclusive, wait: 50, ok: false, from: 5, to: 8),
            .release(client: 2, from: 11, to: 12),
            .release(client: 3, ok: false, from: 13, to: 14),
            .acquire(client: 3, mode: .exclusive, token: 3, from: 15, to: 16),
        ]),
        ExampleHistory(name: "a reader's try-lock is refused behind a queued writer while only readers hold", operations: [
            .acquire(client: 1, mode: .shared, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .exclusive, wait: 100, token: 3, from: 2, to: 20),
            .acquire(client: 3, mode: .shared, ok: false, from: 3, to: 4),
            .release(client: 1, from: 5, to: 6),
            .release(client: 2, from: 21, to: 22),
        ]),
        ExampleHistory(name: "a revoke frees its holders when the grace ends, without a release", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, from: 0, to: 1),
            .revoke(client: 9, from: 2, to: 3),
            .acquire(client: 2, mode: .exclusive, token: 2, from: 10, to: 11),
            .release(client: 1, ok: false, from: 12, to: 13),
        ]),
        ExampleHistory(name: "a holder may let go inside the grace, and a reader that came after the revoke stays", operations: [
            .acquire(client: 1, mode: .shared, token: 1, from: 0, to: 1),
            .revoke(client: 9, from: 2, to: 3),
            .acquire(client: 2, mode: .shared, token: 2, from: 4, to: 5),
            .release(client: 1, from: 6, to: 7),
            .acquire(client: 3, mode: .exclusive, ok: false, from: 8, to: 9),
            .release(client: 2, from: 10, to: 11),
            .acquire(client: 3, mode: .exclusive, token: 3, from: 12, to: 13),
        ]),
        ExampleHistory(name: "a second revoke leaves the first one's holders to the first one's grace", operations: [
            .acquire(client: 1, mode: .shared, token: 1, holds: 1, from: 0, to: 1),
            .revoke(client: 8, from: 2, to: 3),
            .acquire(client: 2, mode: .shared, token: 2, holds: 1, from: 4, to: 5),
            .revoke(client: 9, from: 6, to: 7),
            .acquire(client: 1, mode: .shared, token: 1, holds: 2, from: 8, to: 9),
            .release(client: 1, ok: false, from: 10, to: 11),
            .release(client: 2, from: 12, to: 13),
        ]),
        ExampleHistory(name: "a revoke with unknown outcome may mark and free a later holder", operations: [
            .revoke(client: 9, from: 0, to: nil),
            .acquire(client: 1, mode: .exclusive, token: 1, from: 2, to: 3),
            .acquire(client: 2, mode: .exclusive, token: 2, from: 10, to: 11),
        ]),
        ExampleHistory(name: "lock-delay: after a holder's session ends, a try-lock may be refused on the free lock", operations: [
            .acquire(client: 1, mode: .exclusive, delay: 100, token: 1, from: 0, to: 1),
            .expire(client: 9, holder: 1, from: 2),
            .release(client: 1, ok: false, from: 3, to: 4),
            .acquire(client: 2, mode: .exclusive, delay: 100, ok: false, from: 5, to: 6),
            .acquire(client: 2, mode: .exclusive, delay: 100, token: 2, from: 20, to: 21),
        ]),
        ExampleHistory(name: "a cancelled wait whose answer was lost took no hold", operations: [
            .acquire(client: 1, mode: .exclusive, wait: 100, from: 0, to: nil),
            .cancel(client: 1, from: 2, to: 3),
            .acquire(client: 2, mode: .exclusive, token: 2, from: 4, to: 5),
            .release(client: 2, from: 6, to: 7),
        ]),
        ExampleHistory(name: "fenced writes land in token order; stale and forged ones are refused", operations: [
            .acquire(client: 1, lock: "A", token: 1, from: 0, to: 1),
            .acquire(client: 3, lock: "B", token: 2, from: 0, to: 1),
            .fencedPut(client: 1, "a", lock: "A", token: 1, from: 2, to: 3),
            .release(client: 1, lock: "A", from: 4, to: 5),
            .acquire(client: 2, lock: "A", token: 3, from: 6, to: 7),
            .fencedPut(client: 2, "b", lock: "A", token: 3, from: 8, to: 9),
            .fencedPut(client: 1, "stale", lock: "A", token: 1, ok: false, from: 10, to: 11),
            .fencedPut(client: 3, "forged", lock: "A", token: 2, ok: false, from: 12, to: 13),
            .fencedPut(client: 3, "forged too", lock: "A", token: 2, from: 12, to: nil),
            .get(client: 4, "b", from: 14, to: 15),
        ]),
        ExampleHistory(name: "a fenced write with unknown outcome may land later, and plain puts do not move the fence", operations: [
            .fencedPut(client: 1, "a", token: 4, from: 0, to: 1),
            .fencedPut(client: 2, "b", token: 5, from: 2, to: nil),
            .put(client: 3, "c", from: 3, to: 4),
            .get(client: 4, "c", from: 5, to: 6),
            .get(client: 4, "b", from: 7, to: 8),
            .fencedPut(client: 5, "d", token: 5, from: 9, to: 10),
        ]),
    ]

    @Test("histories that keep the lock and fencing rules pass", arguments: linearizableHistories)
    func linearizableHistoryPasses(history: ExampleHistory) {
        let report = LinearizabilityChecker().check(history.operations)
        #expect(report.verdict == .linearizable, "\(report)")
    }

    /// A history that breaks one rule, and words its report must contain.
    struct Violation: Sendable, CustomTestStringConvertible {
        var name: String
        var operations: [HistoryOperation]
        var reportMentions: [String]
        var testDescription: String { name }
    }

    static let violatingHistories: [Violation] = [
        Violation(name: "a writer granted while a reader holds", operations: [
            .acquire(client: 1, mode: .shared, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .exclusive, token: 2, from: 2, to: 3),
        ], reportMentions: ["held by client 1 (shared, token 1)"]),
        Violation(name: "a semaphore grants more permits than it has", operations: [
            .acquire(client: 1, mode: .permits, permits: 2, capacity: 3, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .permits, permits: 2, capacity: 3, token: 2, from: 2, to: 3),
        ], reportMentions: ["client 1 (2 permits, token 1)"]),
        Violation(name: "a reentrant grant with a new token", operations: [
            .acquire(client: 1, mode: .exclusive, token: 5, holds: 1, from: 0, to: 1),
            .acquire(client: 1, mode: .exclusive, token: 6, holds: 2, from: 2, to: 3),
        ], reportMentions: ["#2 client 1 acquire \"lock\" ok token 6 holds 2"]),
        Violation(name: "a reentrant grant that answers the wrong hold count", operations: [
            .acquire(client: 1, mode: .exclusive, token: 5, holds: 1, from: 0, to: 1),
            .acquire(client: 1, mode: .exclusive, token: 5, holds: 3, from: 2, to: 3),
        ], reportMentions: ["holds 3"]),
        Violation(name: "one release frees a double hold", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, holds: 1, from: 0, to: 1),
            .acquire(client: 1, mode: .exclusive, token: 1, holds: 2, from: 2, to: 3),
            .release(client: 1, from: 4, to: 5),
            .acquire(client: 2, mode: .exclusive, token: 2, from: 6, to: 7),
        ], reportMentions: ["client 1 (exclusive, token 1)"]),
        Violation(name: "a new grant whose token does not exceed an earlier grant's", operations: [
            .acquire(client: 1, mode: .permits, permits: 1, capacity: 2, token: 5, from: 0, to: 1),
            .acquire(client: 2, mode: .permits, permits: 1, capacity: 2, token: 4, from: 2, to: 3),
        ], reportMentions: ["highest token 5"]),
        Violation(name: "a blocking acquire granted while another client held the lock for its whole wait", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, from: 0, to: 1),
            .acquire(client: 2, mode: .exclusive, wait: 100, token: 2, from: 2, to: 5),
            .release(client: 1, from: 6, to: 7),
        ], reportMentions: ["waiting 100 ms"]),
        Violation(name: "a try-lock refused on a free lock with no waiter and no lock-delay", operations: [
            .acquire(client: 1, mode: .exclusive, ok: false, from: 0, to: 1),
        ], reportMentions: ["the lock is free"]),
        Violation(name: "a holder that came after a revoke is forced out with the revoked one", operations: [
            .acquire(client: 1, mode: .shared, token: 1, from: 0, to: 1),
            .revoke(client: 9, from: 2, to: 3),
            .acquire(client: 2, mode: .shared, token: 2, from: 4, to: 5),
            .acquire(client: 3, mode: .exclusive, token: 3, from: 6, to: 7),
        ], reportMentions: ["client 2 (shared, token 2)"]),
        Violation(name: "a revoke refused while the lock is held", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, from: 0, to: 1),
            .revoke(client: 9, ok: false, from: 2, to: 3),
        ], reportMentions: ["revoke \"lock\" grace 100 ms refused"]),
        Violation(name: "a try-lock refused on a free lock after an expire, without a lock-delay", operations: [
            .acquire(client: 1, mode: .exclusive, token: 1, from: 0, to: 1),
            .expire(client: 9, holder: 1, from: 2),
            .release(client: 1, ok: false, from: 3, to: 4),
            .acquire(client: 2, mode: .exclusive, ok: false, from: 5, to: 6),
        ], reportMentions: ["#4 client 2 acquire"]),
        Violation(name: "a refusal that only a wait a cancel withdrew could explain", operations: [
            .acquire(client: 1, mode: .exclusive, wait: 100, from: 0, to: nil),
            .cancel(client: 1, from: 2, to: 3),
            .acquire(client: 2, mode: .exclusive, ok: false, from: 4, to: 5),
        ], reportMentions: ["#3 client 2 acquire \"lock\" refused [4, 5] could not be placed"]),
        Violation(name: "a wait a cancel withdrew is granted", operations: [
            .acquire(client: 1, mode: .exclusive, wait: 100, token: 1, from: 0, to: 10),
            .cancel(client: 1, from: 2, to: 3),
        ], reportMentions: ["#2 client 1 cancel \"lock\" ok [2, 3] withdrew the wait of #1", "yet that acquire was granted"]),
        Violation(name: "a fenced write accepted with a token below one that landed", operations: [
            .fencedPut(client: 1, "a", token: 3, from: 0, to: 1),
            .fencedPut(client: 2, "b", token: 2, from: 2, to: 3),
        ], reportMentions: ["highest fencing token 3"]),
        Violation(name: "a fenced write accepted with a token another lock granted", operations: [
            .acquire(client: 1, lock: "A", token: 1, from: 0, to: 1),
            .acquire(client: 2, lock: "B", token: 2, from: 0, to: 1),
            .fencedPut(client: 2, "forged", lock: "A", token: 2, from: 2, to: 3),
        ], reportMentions: ["carries token 2, which the history shows granted on \"B\" (#2", "never on \"A\", yet it was accepted"]),
        Violation(name: "the value of a fenced write with another lock's token is read", operations: [
            .acquire(client: 2, lock: "B", token: 2, from: 0, to: 1),
            .fencedPut(client: 2, "forged", lock: "A", token: 2, from: 2, to: nil),
            .get(client: 3, "forged", from: 4, to: 5),
        ], reportMentions: ["#3 client 3 get \"x\" -> \"forged\" [4, 5] read the value of a fenced write that must never land"]),
    ]

    @Test("histories that break a lock or fencing rule fail, and the report says where", arguments: violatingHistories)
    func violatingHistoryFails(violation: Violation) {
        let report = LinearizabilityChecker().check(violation.operations)
        #expect(report.verdict == .notLinearizable, "\(report)")
        for words in violation.reportMentions {
            #expect(report.description.contains(words), "\(report)")
        }
    }

    @Test("a key that uses none of README's additions keeps HISTORY.md's mutex: a reentrant grant fails there")
    func plainMutexStaysPlain() {
        let plain: [HistoryOperation] = [
            .acquire(client: 1, token: 1, from: 0, to: 1),
            .acquire(client: 1, token: 1, from: 2, to: 3),
        ]
        #expect(LinearizabilityChecker().check(plain).verdict == .notLinearizable)
        var counted = plain
        counted[0].holds = 1
        counted[1].holds = 2
        #expect(LinearizabilityChecker().check(counted).verdict == .linearizable)
    }
}
