import ConclaveCore
import Testing
@testable import ConclaveCoordination

/// A fenced write names the lock that guards its key and carries a token: it lands only if that
/// lock granted the token to a holder that still holds it, and no write with a higher token
/// landed on the key before.
@Suite struct FencedWriteTests {
    static func accepted(_ result: CoordinationResult) -> Bool {
        if case .fenced(let accepted, _) = result { return accepted }
        return false
    }

    @Test("a token of another lock cannot write a key guarded by this one")
    func tokenOfAnotherLock() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        let tokenA = replica.token(of: replica.acquire(1, "A"))!
        let tokenB = replica.token(of: replica.acquire(2, "B"))!
        #expect(tokenB > tokenA)
        #expect(Self.accepted(replica.run(1, .fencedPut(key: "k", value: "from A's holder", lock: "A", token: tokenA))))
        let intruder = replica.run(2, .fencedPut(key: "k", value: "from B's holder", lock: "A", token: tokenB))
        #expect(intruder == .fenced(accepted: false, reason: "token \(tokenB) was never granted on lock 'A'"))
        #expect(replica.machine.kv.read("k", nowMillis: 0) == "from A's holder")
        // A's holder still writes: the intruder did not raise the key's fence.
        #expect(Self.accepted(replica.run(1, .fencedPut(key: "k", value: "again", lock: "A", token: tokenA))))
    }

    @Test("a token whose hold ended cannot write, even where no newer token wrote yet")
    func endedHoldCannotWrite() {
        var replica = Replica()
        replica.open(1)
        let token = replica.token(of: replica.acquire(1, "A"))!
        #expect(Self.accepted(replica.run(1, .fencedPut(key: "k", value: "1", lock: "A", token: token))))
        replica.run(1, .release(lock: "A"))
        let late = replica.run(1, .fencedPut(key: "k", value: "2", lock: "A", token: token))
        #expect(late == .fenced(accepted: false, reason: "token \(token) does not hold lock 'A': nobody holds it"))
        #expect(replica.machine.kv.read("k", nowMillis: 0) == "1")
    }

    @Test("a token granted on this lock whose hold ended cannot write while another holds it")
    func earlierHolderOfTheSameLock() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        let first = replica.token(of: replica.acquire(1, "A"))!
        replica.run(1, .release(lock: "A"))
        _ = replica.acquire(2, "A")
        let late = replica.run(1, .fencedPut(key: "k", value: "late", lock: "A", token: first))
        #expect(late == .fenced(accepted: false, reason: "token \(first) does not hold lock 'A' now (its hold ended, or another lock granted it)"))
        #expect(replica.machine.kv.read("k", nowMillis: 0) == nil)
    }

    @Test("every holder of a shared lock writes with its own token; the key's highest token orders them")
    func sharedHolders() {
        var replica = Replica()
        replica.open(1)
        replica.open(2)
        let older = replica.token(of: replica.acquire(1, "R", kind: .readWrite, mode: .shared))!
        let newer = replica.token(of: replica.acquire(2, "R", kind: .readWrite, mode: .shared))!
        #expect(Self.accepted(replica.run(1, .fencedPut(key: "k", value: "1", lock: "R", token: older))))
        #expect(Self.accepted(replica.run(2, .fencedPut(key: "k", value: "2", lock: "R", token: newer))))
        #expect(!Self.accepted(replica.run(1, .fencedPut(key: "k", value: "3", lock: "R", token: older))))
        #expect(replica.machine.kv.read("k", nowMillis: 0) == "2")
    }
}
