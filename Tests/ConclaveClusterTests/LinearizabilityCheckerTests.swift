import ConclaveCluster
import Testing

/// A hand-written history and why it is (or is not) linearizable.
struct ExampleHistory: Sendable, CustomTestStringConvertible {
    var name: String
    var operations: [HistoryOperation]
    var testDescription: String { name }
}

@Suite struct LinearizabilityCheckerTests {
    static let linearizableHistories: [ExampleHistory] = [
        ExampleHistory(name: "sequential puts, gets and a delete", operations: [
            .get(client: 1, nil, from: 0, to: 1),
            .put(client: 1, "a", from: 2, to: 3),
            .get(client: 2, "a", from: 4, to: 5),
            .put(client: 2, "b", from: 6, to: 7),
            .get(client: 1, "b", from: 8, to: 9),
            .delete(client: 1, from: 10, to: 11),
            .get(client: 2, nil, from: 12, to: 13),
        ]),
        ExampleHistory(name: "overlapping puts and gets that need reordering", operations: [
            .put(client: 1, "a", from: 0, to: 10),
            .get(client: 3, "a", from: 1, to: 2),
            .put(client: 2, "b", from: 3, to: 20),
            .get(client: 3, "a", from: 5, to: 6),
            .get(client: 4, "b", from: 7, to: 8),
            .get(client: 3, "b", from: 21, to: 22),
        ]),
        ExampleHistory(name: "a put with unknown outcome that a later get observes", operations: [
            .put(client: 1, "a", from: 0, to: 5),
            .put(client: 2, "b", from: 6, to: nil),
            .get(client: 3, "a", from: 50, to: 51),
            .get(client: 3, "b", from: 100, to: 101),
        ]),
        ExampleHistory(name: "a put with unknown outcome that is never observed", operations: [
            .put(client: 1, "a", from: 0, to: 5),
            .put(client: 2, "b", from: 6, to: nil),
            .get(client: 3, "a", from: 100, to: 101),
            .get(client: 4, "a", from: 200, to: 201),
        ]),
        ExampleHistory(name: "a chain of compare-and-sets, some refused, some concurrent", operations: [
            .cas(client: 1, expected: nil, "v1", ok: true, from: 0, to: 1),
            .cas(client: 2, expected: "v1", "v2", ok: true, from: 2, to: 10),
            .cas(client: 3, expected: "v1", "v3", ok: false, from: 3, to: 9),
            .cas(client: 4, expected: nil, "v4", ok: false, from: 11, to: 12),
            .cas(client: 5, expected: "v2", "v5", ok: true, from: 13, to: nil),
            .get(client: 6, "v5", from: 20, to: 21),
            .cas(client: 6, expected: "v5", "v6", ok: true, from: 22, to: 23),
        ]),
        ExampleHistory(name: "a lock handed from client to client with growing tokens", operations: [
            .acquire(client: 1, token: 1, from: 0, to: 1),
            .acquire(client: 2, ok: false, from: 2, to: 3),
            .release(client: 1, from: 4, to: 5),
            .acquire(client: 2, token: 2, from: 6, to: 7),
            .release(client: 3, ok: false, from: 8, to: 9),
            .release(client: 2, from: 10, to: 11),
            .acquire(client: 3, token: 7, from: 12, to: 20),
            .acquire(client: 4, ok: false, from: 13, to: 19),
        ]),
        ExampleHistory(name: "an expire frees the lock of a client that was abandoned", operations: [
            .acquire(client: 1, token: 5, from: 0, to: 1),
            .release(client: 1, from: 2, to: nil),
            .expire(client: 9, holder: 1, from: 10),
            .acquire(client: 2, token: 6, from: 20, to: 21),
        ]),
        ExampleHistory(name: "an acquire with unknown outcome may hold the lock until its expire", operations: [
            .acquire(client: 1, from: 0, to: nil),
            .acquire(client: 2, ok: false, from: 5, to: 6),
            .expire(client: 9, holder: 1, from: 10),
            .acquire(client: 2, token: 3, from: 20, to: 21),
        ]),
        ExampleHistory(name: "an unknown outcome that could only be a no-op, called after every answer, is left out", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .cas(client: 2, expected: "z", "b", ok: true, from: 2, to: nil),
            .release(client: 3, from: 3, to: nil),
        ]),
        ExampleHistory(name: "unanswered gets and unanswered puts tell nothing", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .get(client: 2, "never written", from: 2, to: nil),
            HistoryOperation(client: 3, kind: .get, key: "x", output: "also never written", ok: false, call: 3, returnTime: 4),
            HistoryOperation(client: 4, kind: .put, key: "x", value: "b", ok: false, call: 5, returnTime: 6),
            .get(client: 5, "a", from: 7, to: 8),
        ]),
    ]

    @Test("histories that respect the models pass", arguments: linearizableHistories)
    func linearizableHistoryPasses(history: ExampleHistory) {
        let report = LinearizabilityChecker().check(history.operations)
        #expect(report.verdict == .linearizable, "\(report)")
    }

    static let violatingHistories: [ExampleHistory] = [
        ExampleHistory(name: "a stale read: a get goes back to a value another get already saw replaced", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .put(client: 1, "b", from: 2, to: 20),
            .get(client: 2, "b", from: 3, to: 4),
            .get(client: 3, "a", from: 5, to: 6),
        ]),
        ExampleHistory(name: "a read of a value never written", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .get(client: 2, "z", from: 2, to: 3),
        ]),
        ExampleHistory(name: "a lost acknowledged write: a later get sees the older value", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .put(client: 2, "b", from: 2, to: 3),
            .get(client: 3, "a", from: 10, to: 11),
        ]),
        ExampleHistory(name: "a compare-and-set that succeeds on the wrong value", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .cas(client: 2, expected: "b", "c", ok: true, from: 2, to: 3),
        ]),
        ExampleHistory(name: "a compare-and-set refused although the value matched", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .cas(client: 2, expected: "a", "c", ok: false, from: 2, to: 3),
        ]),
        ExampleHistory(name: "two clients hold the lock at once", operations: [
            .acquire(client: 1, token: 1, from: 0, to: 1),
            .acquire(client: 2, token: 2, from: 2, to: 3),
        ]),
        ExampleHistory(name: "a fencing token that does not grow", operations: [
            .acquire(client: 1, token: 5, from: 0, to: 1),
            .release(client: 1, from: 2, to: 3),
            .acquire(client: 2, token: 5, from: 4, to: 5),
        ]),
        ExampleHistory(name: "a release reported ok by a client that does not hold the lock", operations: [
            .acquire(client: 1, token: 1, from: 0, to: 1),
            .release(client: 2, from: 2, to: 3),
        ]),
        ExampleHistory(name: "a try-lock refused while the lock is free", operations: [
            .acquire(client: 1, ok: false, from: 0, to: 1),
        ]),
        ExampleHistory(name: "a lock granted while another client holds it, with an expire for the wrong holder", operations: [
            .acquire(client: 1, token: 1, from: 0, to: 1),
            .expire(client: 9, holder: 2, from: 2),
            .acquire(client: 3, token: 2, from: 10, to: 11),
        ]),
        ExampleHistory(name: "a failure only real-time order shows: a get misses a put that had returned", operations: [
            .put(client: 1, "a", from: 0, to: 1),
            .get(client: 2, nil, from: 2, to: 3),
        ]),
    ]

    @Test("histories that break the models fail", arguments: violatingHistories)
    func violatingHistoryFails(history: ExampleHistory) {
        let report = LinearizabilityChecker().check(history.operations)
        #expect(report.verdict == .notLinearizable, "\(report)")
    }

    @Test("the same get passes when it overlaps the put: only real time made the last example fail")
    func overlapMakesItLinearizable() {
        let report = LinearizabilityChecker().check([
            .put(client: 1, "a", from: 0, to: 2),
            .get(client: 2, nil, from: 2, to: 3),
        ])
        #expect(report.verdict == .linearizable, "touching intervals count as concurrent")
    }
}
