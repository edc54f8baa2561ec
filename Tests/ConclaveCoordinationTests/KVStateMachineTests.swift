import ConclaveCore
import Testing
@testable import ConclaveCoordination

@Suite struct KVStateMachineTests {
    static func entry(_ client: UInt64, _ sequence: UInt64, _ command: KVCommand) -> [UInt8] {
        KVRequest(client: client, sequence: sequence, command: command).encoded()
    }

    @Test("put, get, delete and compare-and-swap behave as a register per key")
    func registerSemantics() {
        var machine = KVStateMachine()
        #expect(machine.apply(index: 1, data: Self.entry(1, 1, .put(key: "k", value: "a")))?.result == .written(revision: 1))
        #expect(machine.apply(index: 2, data: Self.entry(1, 2, .get(key: "k")))?.result == .value("a"))
        #expect(machine.apply(index: 3, data: Self.entry(1, 3, .compareAndSwap(key: "k", expected: "b", value: "c")))?.result == .swapped(false))
        #expect(machine.apply(index: 4, data: Self.entry(1, 4, .compareAndSwap(key: "k", expected: "a", value: "c")))?.result == .swapped(true))
        #expect(machine.apply(index: 5, data: Self.entry(1, 5, .delete(key: "k")))?.result == .written(revision: 3))
        #expect(machine.apply(index: 6, data: Self.entry(1, 6, .compareAndSwap(key: "k", expected: nil, value: "d")))?.result == .swapped(true))
        #expect(machine.read("k", nowMillis: 0) == "d")
    }

    @Test("a retried request (same client and sequence) takes effect once and gets the first answer")
    func retriesApplyOnce() {
        var machine = KVStateMachine()
        _ = machine.apply(index: 1, data: Self.entry(7, 1, .put(key: "k", value: "a")))
        let retry = machine.apply(index: 2, data: Self.entry(7, 1, .put(key: "k", value: "a")))
        #expect(retry?.result == .written(revision: 1))
        #expect(machine.revision == 1)
        let stale = machine.apply(index: 3, data: Self.entry(7, 0, .put(key: "k", value: "old")))
        #expect(stale.map { if case .rejected = $0.result { return true } else { return false } } == true)
        #expect(machine.read("k", nowMillis: 0) == "a")
    }

    @Test("empty and malformed entries change nothing but the applied index")
    func emptyAndMalformed() {
        var machine = KVStateMachine()
        #expect(machine.apply(index: 1, data: []) == nil)
        #expect(machine.apply(index: 2, data: [1, 2, 3]) == nil)
        var truncated = Self.entry(1, 1, .put(key: "k", value: "v"))
        truncated.removeLast()
        #expect(machine.apply(index: 3, data: truncated) == nil)
        #expect(machine.values.isEmpty)
        #expect(machine.appliedIndex == 3)
    }

    @Test("every command round-trips through its log encoding", arguments: [
        KVCommand.put(key: "k", value: "v"), .get(key: "ключ"), .delete(key: ""),
        .compareAndSwap(key: "k", expected: nil, value: "x"), .compareAndSwap(key: "k", expected: "y", value: "x"),
    ])
    func encodingRoundTrip(command: KVCommand) {
        let request = KVRequest(client: .max, sequence: 42, command: command)
        #expect(KVRequest(decoding: request.encoded()) == request)
        #expect(KVRequest(decoding: request.encoded() + [0]) == nil)
    }

    @Test("the session table is bounded: past the limit the least recently used client is forgotten")
    func sessionsBounded() {
        var machine = KVStateMachine(sessionsMax: 3)
        for client in 1...5 { _ = machine.apply(index: LogIndex(client), data: Self.entry(UInt64(client), 1, .get(key: "k"))) }
        #expect(machine.sessions.count == 3)
        #expect(machine.sessions.keys.sorted() == [3, 4, 5])
    }

    @Test("past the limit the least recently written session goes, on a replica restored from a snapshot too; the order stays bounded")
    func sessionsForgetLeastRecentlyWritten() throws {
        var machine = KVStateMachine(sessionsMax: 100)
        var index: LogIndex = 0
        func write(_ machine: inout KVStateMachine, _ client: UInt64, _ sequence: UInt64) {
            index += 1
            _ = machine.apply(index: index, data: Self.entry(client, sequence, .put(key: "k\(client)", value: "v")))
        }
        for client in 1...100 as ClosedRange<UInt64> { write(&machine, client, 1) }
        // Client 1 writes again: now client 2 is the least recently written.
        write(&machine, 1, 2)
        var restored = try KVStateMachine(restoring: machine.snapshotData(), sessionsMax: 100)
        for client in 101...150 as ClosedRange<UInt64> {
            let before = index
            write(&machine, client, 1)
            index = before
            write(&restored, client, 1)
        }
        let expected = Set([1] + Array(52...150)) as Set<UInt64>
        #expect(Set(machine.sessions.keys) == expected)
        #expect(Set(restored.sessions.keys) == expected)
        #expect(machine == restored && machine.digest == restored.digest)
        // One client rewriting many times leaves stale places behind; they are dropped.
        for sequence in 2...10_000 as ClosedRange<UInt64> { write(&machine, 150, sequence) }
        #expect(machine.sessionOrder.storedCount <= 2 * machine.sessions.count + 64, "\(machine.sessionOrder.storedCount) places held")
        // 20,000 new clients through a full table: each forgets one, as the limit says.
        for client in 1_000...21_000 as ClosedRange<UInt64> { write(&machine, client, 1) }
        #expect(machine.sessions.count == 100)
        #expect(Set(machine.sessions.keys) == Set(20_901...21_000))
        #expect(machine.sessionOrder.storedCount <= 2 * machine.sessions.count + 64 + 1_024)
    }

    @Test("replicas applying the same entries reach the same digest; different answers differ")
    func digestTracksState() {
        var first = KVStateMachine()
        var second = KVStateMachine()
        var third = KVStateMachine()
        for (index, data) in [Self.entry(1, 1, .put(key: "a", value: "1")), Self.entry(2, 1, .get(key: "a"))].enumerated() {
            _ = first.apply(index: LogIndex(index + 1), data: data)
            _ = second.apply(index: LogIndex(index + 1), data: data)
        }
        _ = third.apply(index: 1, data: Self.entry(1, 1, .put(key: "a", value: "2")))
        _ = third.apply(index: 2, data: Self.entry(2, 1, .get(key: "a")))
        #expect(first.digest == second.digest)
        #expect(first.digest != third.digest)
    }
}

extension KVStateMachine {
    /// These tests set no TTL: cluster time stays at 0.
    mutating func apply(index: LogIndex, data: [UInt8]) -> Applied? { apply(index: index, data: data, nowMillis: 0) }
}
