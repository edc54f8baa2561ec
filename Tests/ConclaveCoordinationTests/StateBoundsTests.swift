import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// Every piece of replicated state that grew without limit has one now, stated in
/// `CoordinationLimits`; each test here reaches its limit.
@Suite struct StateBoundsTests {
    @Test("answers of clients without a session: the least recently written is forgotten past the limit")
    func looseAnswersBounded() {
        var replica = Replica()
        replica.open(7)
        #expect(replica.run(7, .increment(counter: "held", by: 1)) == .counter(1))
        #expect(replica.run(1, .increment(counter: "c", by: 1)) == .counter(1))
        // Client 1 and as many others as fit: clients 1_000 onwards.
        let others = 1_000 + UInt64(CoordinationLimits.answersWithoutSessionMax) - 1
        for client in 1_000..<others { replica.run(client, .readCounter(counter: "c")) }
        #expect(replica.machine.looseAnswers.count == CoordinationLimits.answersWithoutSessionMax)
        #expect(replica.run(1, .increment(counter: "c", by: 1), sequence: 1) == .counter(1), "answered from the cache")
        replica.run(others, .readCounter(counter: "c"))
        #expect(replica.machine.looseAnswers.count == CoordinationLimits.answersWithoutSessionMax)
        // Client 1's answer was the least recently written: forgotten, its retry runs again.
        #expect(replica.run(1, .increment(counter: "c", by: 1), sequence: 1) == .counter(2))
        // A client with a live session keeps its answer whatever the others do.
        #expect(replica.run(7, .increment(counter: "held", by: 1), sequence: 2) == .counter(1))
    }

    @Test("a session's answer goes with the session: when it expires, the answer joins the bounded ones")
    func answerFollowsTheSession() {
        var replica = Replica()
        replica.open(3, ttl: 100)
        replica.run(3, .increment(counter: "c", by: 5))
        #expect(replica.machine.sessionAnswers[3] != nil)
        replica.elapse(100)
        #expect(replica.machine.sessionAnswers[3] == nil)
        #expect(replica.machine.looseAnswers[3]?.result == .counter(5))
        #expect(replica.run(3, .increment(counter: "c", by: 5), sequence: 2) == .counter(5))
    }

    @Test("fenced keys: past the limit the least recently written key's token is forgotten")
    func fencesBounded() {
        var replica = Replica()
        replica.open(1)
        let token = replica.token(of: replica.acquire(1))!
        for key in 0...CoordinationLimits.fencesMax {
            replica.run(1, .fencedPut(key: "k\(key)", value: "v", lock: "L", token: token))
        }
        #expect(replica.machine.fenceTokens.count == CoordinationLimits.fencesMax)
        #expect(replica.machine.fenceTokens["k0"] == nil)
        #expect(replica.machine.fenceTokens["k1"] == token)
        #expect(replica.machine.kv.read("k0", nowMillis: 0) == "v", "forgetting a fence keeps the value")
    }

    @Test("counters: a new one past the limit is refused; one back at 0 frees its place")
    func countersBounded() {
        var replica = Replica()
        for counter in 0..<CoordinationLimits.countersMax { replica.run(1, .increment(counter: "c\(counter)", by: 1)) }
        #expect(replica.run(1, .increment(counter: "new", by: 1)) == .refused(.limitReached("100000 counters (one back at 0 frees its place)")))
        #expect(replica.run(1, .increment(counter: "c0", by: 1)) == .counter(2))
        #expect(replica.run(1, .increment(counter: "c0", by: -2)) == .counter(0))
        #expect(replica.machine.counters.count == CoordinationLimits.countersMax - 1)
        #expect(replica.run(1, .readCounter(counter: "c0")) == .counter(0))
        #expect(replica.run(1, .increment(counter: "new", by: 1)) == .counter(1))
    }
}

@Suite struct RecencyBoundedMapTests {
    @Test("forgets the least recently written first; an update does not make a key recent")
    func order() {
        var map = RecencyBoundedMap<String, Int>(capacity: 3) { key, value in StableHash.key(key) &+ UInt64(value) }
        map.set("a", 1)
        map.set("b", 2)
        map.set("c", 3)
        map.set("a", 4)
        map.update("b", 5)
        #expect(map.set("d", 6) == ["b"])
        #expect(map.recencyOrder.map(\.key) == ["c", "a", "d"])
        #expect(map["b"] == nil && map["a"] == 4)
        map.remove("c")
        #expect(map.set("e", 7).isEmpty)
        #expect(map.recencyOrder.map(\.key) == ["a", "d", "e"])
        #expect(map.stateHash == map.recomputedStateHash())
    }

    @Test("rewriting a few keys forever keeps the order short and its contents right")
    func compaction() {
        var map = RecencyBoundedMap<Int, Int>(capacity: 10) { key, value in UInt64(key * 31 + value) }
        for round in 0..<10_000 { map.set(round % 4, round) }
        #expect(map.count == 4)
        #expect(map.recencyOrder.map(\.key) == [0, 1, 2, 3])
        #expect(map.recencyOrder.map(\.value) == [9_996, 9_997, 9_998, 9_999])
        #expect(map.storedOrderCount <= 2 * map.count + 65)
        #expect(map.stateHash == map.recomputedStateHash())
    }
}
