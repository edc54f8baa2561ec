import ConclaveCore
import Testing
@testable import ConclaveCoordination

extension Replica {
    /// Applies a KV request through the coordination state machine, at its cluster time.
    @discardableResult
    mutating func kv(_ client: UInt64, _ command: KVCommand) -> KVResult? {
        let next = sequences[client, default: 0] + 1
        sequences[client] = next
        index += 1
        return machine.apply(index: index, data: KVRequest(client: client, sequence: next, command: command).encoded()).kv?.result
    }

    mutating func set(_ key: String, _ value: String, _ condition: SetCondition = .always, ttl: UInt64? = nil) -> KVResult? {
        kv(100, .set(key: key, value: value, condition: condition, ttlMillis: ttl))
    }

    mutating func get(_ key: String) -> String?? {
        guard case .value(let value) = kv(101, .get(key: key)) else { return nil }
        return .some(value)
    }
}

/// Redis `SET` (NX/XX/PX), `INCR` family, `DEL`, `EXISTS`, and key expiry on cluster time.
@Suite struct KVRedisCommandTests {
    static let ttlMax = CoordinationLimits.kvTTLMillisRange.upperBound

    @Test("SET writes and answers the revision; NX writes only an absent key, XX only a present one")
    func setConditions() {
        var replica = Replica()
        #expect(replica.set("k", "a", .ifPresent) == .notSet)
        #expect(replica.get("k") == .some(nil))
        #expect(replica.set("k", "a", .ifAbsent) == .written(revision: 1))
        #expect(replica.set("k", "b", .ifAbsent) == .notSet)
        #expect(replica.get("k") == "a")
        #expect(replica.set("k", "c", .ifPresent) == .written(revision: 2))
        #expect(replica.set("k", "d") == .written(revision: 3))
        #expect(replica.get("k") == "d")
        #expect(replica.machine.kv.revision == 3, "a refused condition writes nothing")
    }

    @Test("a key with a TTL lives until cluster time reaches set time + TTL, then is gone and purged")
    func expiryOnClusterTime() {
        var replica = Replica()
        replica.elapse(1_000)
        #expect(replica.set("k", "v", ttl: 100) == .written(revision: 1))
        #expect(replica.machine.kv.expiries == ["k": 1_100])
        replica.elapse(99)
        #expect(replica.get("k") == "v")
        #expect(replica.kv(1, .exists(["k"])) == .count(1))
        replica.elapse(1)
        #expect(replica.machine.kv.values.isEmpty, "the clock entry purged it")
        #expect(replica.machine.kv.expiries.isEmpty)
        #expect(replica.machine.kv.expiryIndex.count == 0)
        #expect(replica.get("k") == .some(nil))
        #expect(replica.kv(1, .exists(["k"])) == .count(0))
    }

    @Test("a plain SET and a put clear the TTL; an increment keeps it")
    func ttlClearedOrKept() {
        var replica = Replica()
        _ = replica.set("plain", "1", ttl: 50)
        _ = replica.set("plain", "2")
        _ = replica.set("put", "1", ttl: 50)
        replica.kv(1, .put(key: "put", value: "2"))
        _ = replica.set("swapped", "1", ttl: 50)
        replica.kv(1, .compareAndSwap(key: "swapped", expected: "1", value: "2"))
        _ = replica.set("counter", "10", ttl: 50)
        #expect(replica.kv(1, .increment(key: "counter", by: 5)) == .integer(15))
        #expect(replica.machine.kv.expiries == ["counter": 50])
        replica.elapse(50)
        #expect(replica.get("plain") == "2")
        #expect(replica.get("put") == "2")
        #expect(replica.get("swapped") == "2")
        #expect(replica.get("counter") == .some(nil), "the increment kept the TTL")
    }

    @Test("an expired key is absent to every command before it is purged")
    func expiredButUnpurged() {
        func machine() -> KVStateMachine {
            var machine = KVStateMachine()
            _ = machine.apply(index: 1, data: KVRequest(client: 1, sequence: 1,
                command: .set(key: "k", value: "7", condition: .always, ttlMillis: 10)).encoded(), nowMillis: 0)
            return machine
        }
        func answer(_ command: KVCommand) -> KVResult? {
            var machine = machine()
            return machine.apply(index: 2, data: KVRequest(client: 2, sequence: 1, command: command).encoded(), nowMillis: 10)?.result
        }
        #expect(machine().values == ["k": "7"], "not purged: no clock entry came")
        #expect(machine().read("k", nowMillis: 9) == "7")
        #expect(machine().read("k", nowMillis: 10) == nil)
        #expect(machine().existsCount(["k", "k"], nowMillis: 10) == 0)
        #expect(answer(.get(key: "k")) == .value(nil))
        #expect(answer(.exists(["k"])) == .count(0))
        #expect(answer(.set(key: "k", value: "x", condition: .ifPresent, ttlMillis: nil)) == .notSet)
        #expect(answer(.set(key: "k", value: "x", condition: .ifAbsent, ttlMillis: nil)) == .written(revision: 2))
        #expect(answer(.increment(key: "k", by: 1)) == .integer(1))
        #expect(answer(.compareAndSwap(key: "k", expected: "7", value: "x")) == .swapped(false))
        #expect(answer(.compareAndSwap(key: "k", expected: nil, value: "x")) == .swapped(true))
        #expect(answer(.deleteKeys(["k"])) == .count(0))
        var incremented = machine()
        _ = incremented.apply(index: 2, data: KVRequest(client: 2, sequence: 1, command: .increment(key: "k", by: 1)).encoded(),
                              nowMillis: 10)
        #expect(incremented.expiries.isEmpty, "a key counted from 0 again starts without the old TTL")
    }

    @Test("a TTL of 0 or past the limit is refused naming the limit; the limit itself is accepted at cluster time's end")
    func ttlBounds() {
        var replica = Replica()
        #expect(replica.set("k", "v", ttl: 0) == .rejected("invalid expire time in 'set' command: 0 ms; a TTL is 1…\(Self.ttlMax) ms"))
        #expect(replica.set("k", "v", ttl: Self.ttlMax + 1)
                == .rejected("invalid expire time in 'set' command: \(Self.ttlMax + 1) ms; a TTL is 1…\(Self.ttlMax) ms"))
        #expect(replica.set("k", "v", ttl: .max) != .written(revision: 1))
        #expect(replica.machine.kv.values.isEmpty)
        replica.elapse(CoordinationLimits.clusterTimeMillisMax)
        #expect(replica.set("k", "v", ttl: Self.ttlMax) == .written(revision: 1))
        #expect(replica.machine.kv.expiries["k"] == CoordinationLimits.clusterTimeMillisMax + Self.ttlMax)
        // The KV machine alone takes any clock: an instant past UInt64 is refused, not a trap.
        var alone = KVStateMachine()
        let result = alone.apply(index: 1, data: KVRequest(client: 1, sequence: 1,
            command: .set(key: "k", value: "v", condition: .always, ttlMillis: 10)).encoded(), nowMillis: .max - 5)?.result
        #expect(result == .rejected("invalid expire time in 'set' command: cluster time + TTL overflows"))
    }

    @Test("INCR family: absent counts as 0, DECR is a negative step, non-integers and overflow are refused")
    func increments() {
        var replica = Replica()
        #expect(replica.kv(1, .increment(key: "n", by: 1)) == .integer(1))
        #expect(replica.kv(1, .increment(key: "n", by: -11)) == .integer(-10))
        #expect(replica.get("n") == "-10")
        _ = replica.set("text", "abc")
        #expect(replica.kv(1, .increment(key: "text", by: 1)) == .rejected("value is not an integer or out of range"))
        _ = replica.set("big", String(Int64.max))
        #expect(replica.kv(1, .increment(key: "big", by: 1)) == .rejected("increment or decrement would overflow"))
        _ = replica.set("small", String(Int64.min))
        #expect(replica.kv(1, .increment(key: "small", by: -1)) == .rejected("increment or decrement would overflow"))
        #expect(replica.kv(1, .increment(key: "small", by: Int64.max)) == .integer(-1))
        #expect(replica.get("big") == String(Int64.max), "a refused increment changes nothing")
        #expect(replica.get("text") == "abc")
    }

    @Test("integers parse by Redis's rules", arguments: [
        ("0", 0), ("1", 1), ("-1", -1), ("42", 42), ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
    ] as [(String, Int64)])
    func integersParse(text: String, value: Int64) {
        #expect(KVStateMachine.parseInteger(text) == value)
    }

    @Test("non-integers are refused by Redis's rules", arguments: [
        "", " 1", "1 ", "+1", "01", "00", "-0", "-01", "-", "1a", "1.0", "0x10", "9223372036854775808",
        "-9223372036854775809", "99999999999999999999", "123456789012345678901", "١", "1\u{0}",
    ])
    func nonIntegersRefused(text: String) {
        #expect(KVStateMachine.parseInteger(text) == nil)
    }

    @Test("DEL counts the keys it removed (a name twice counts once); EXISTS counts names found (twice counts twice)")
    func deleteAndExists() {
        var replica = Replica()
        _ = replica.set("a", "1")
        _ = replica.set("b", "2")
        #expect(replica.kv(1, .exists(["a", "a", "b", "missing"])) == .count(3))
        #expect(replica.machine.kv.existsCount(["a", "a", "missing"], nowMillis: 0) == 2)
        #expect(replica.machine.kv.readResult(of: .exists(["b"]), nowMillis: 0) == .count(1))
        #expect(replica.machine.kv.readResult(of: .get(key: "a"), nowMillis: 0) == .value("1"))
        #expect(replica.machine.kv.readResult(of: .deleteKeys(["a"]), nowMillis: 0) == nil)
        let revision = replica.machine.kv.revision
        #expect(replica.kv(1, .deleteKeys(["a", "a", "missing"])) == .count(1))
        #expect(replica.machine.kv.revision == revision + 1)
        #expect(replica.kv(1, .deleteKeys(["missing"])) == .count(0))
        #expect(replica.machine.kv.revision == revision + 1, "deleting nothing is no write")
        #expect(replica.kv(1, .deleteKeys([])) == .count(0))
        #expect(replica.machine.kv.values == ["b": "2"])
    }

    @Test("expired keys are purged as time passes: memory holds only keys that live, however often they are set")
    func purgeBoundsMemory() {
        var replica = Replica()
        for round in 0..<5 {
            for number in 0..<200 { _ = replica.set("key\(number)", "\(round)", ttl: UInt64(1 + number % 7)) }
            #expect(replica.machine.kv.values.count == 200)
            #expect(replica.machine.kv.expiryIndex.count == 200, "a key set again keeps one entry in the index")
            replica.elapse(7)
            #expect(replica.machine.kv.values.isEmpty)
            #expect(replica.machine.kv.expiries.isEmpty)
            #expect(replica.machine.kv.expiryIndex.count == 0)
        }
        _ = replica.set("lives", "v")
        _ = replica.set("dies", "v", ttl: 5)
        replica.elapse(5)
        #expect(replica.machine.kv.values == ["lives": "v"])
    }

    @Test("keys with a TTL are bounded: past the limit a new one is refused, an existing one may change")
    func expiringKeysBounded() {
        var machine = KVStateMachine(expiringKeysMax: 2)
        var index: LogIndex = 0
        func set(_ key: String, ttl: UInt64?, at now: UInt64 = 0) -> KVResult? {
            index += 1
            return machine.apply(index: index, data: KVRequest(client: 1, sequence: index,
                command: .set(key: key, value: "v", condition: .always, ttlMillis: ttl)).encoded(), nowMillis: now)?.result
        }
        #expect(set("a", ttl: 10) == .written(revision: 1))
        #expect(set("b", ttl: 20) == .written(revision: 2))
        #expect(set("c", ttl: 10) == .rejected("2 keys with a TTL at once; one must expire, be deleted or be overwritten without a TTL first"))
        #expect(set("c", ttl: nil) == .written(revision: 3), "a key without a TTL is not counted")
        #expect(set("a", ttl: 30) == .written(revision: 4), "changing a TTL adds no key")
        #expect(machine.expire(nowMillis: 20) == 1)
        #expect(set("c", ttl: 10, at: 20) == .written(revision: 5))
        #expect(machine.expiries == ["a": 30, "c": 30])
    }

    @Test("a snapshot carries the TTLs: the restored replica has the same state and digest, and expires the same keys")
    func snapshotKeepsTTLs() throws {
        var replica = Replica()
        replica.elapse(10)
        _ = replica.set("short", "1", ttl: 5)
        _ = replica.set("long", "2", ttl: 500)
        _ = replica.set("forever", "3")
        replica.kv(1, .increment(key: "n", by: 3))
        let bytes = replica.machine.snapshotData()
        var restored = Replica(machine: try CoordinationStateMachine(restoring: bytes), index: replica.index,
                               sequences: replica.sequences)
        #expect(restored.machine == replica.machine)
        #expect(restored.machine.kv.expiries == ["short": 15, "long": 510])
        #expect(restored.machine.combinedDigest == replica.machine.combinedDigest)
        #expect(restored.machine.stateDigest == restored.machine.recomputedStateDigest())
        #expect(restored.machine.snapshotData() == bytes)
        for step: UInt64 in [5, 494, 1] {
            replica.elapse(step)
            restored.elapse(step)
            #expect(restored.machine.kv.values == replica.machine.kv.values)
            #expect(restored.machine.kv.expiryIndex.count == replica.machine.kv.expiries.count)
            #expect(restored.machine.combinedDigest == replica.machine.combinedDigest)
        }
        #expect(restored.machine.kv.values == ["forever": "3", "n": "3"])
    }

    @Test("a KV snapshot of version 1 (before TTLs) loads; an unknown version or an expiry without its key is refused")
    func snapshotVersions() throws {
        var machine = KVStateMachine()
        _ = machine.apply(index: 1, data: KVRequest(client: 1, sequence: 1, command: .put(key: "a", value: "1")).encoded(), nowMillis: 0)
        let current = machine.snapshotData()
        #expect(current.first == 3)
        // Version 1 is version 3 without the expiry count (empty here: 1 + 3×8 header, "a" and "1", 4+1
        // each) and without the script cache (17 bytes when empty: version, uses, count).
        let expiryCountAt = 1 + 8 * 4 + 5 + 5
        var versionOne = Array(current.dropLast(17))
        versionOne.removeSubrange(expiryCountAt..<(expiryCountAt + 8))
        versionOne[0] = 1
        #expect(try KVStateMachine(restoring: versionOne) == machine)
        let unknown = #expect(throws: KVStateMachine.SnapshotError.self) { try KVStateMachine(restoring: [4] + current.dropFirst()) }
        #expect(unknown?.description == "KV snapshot: unknown version 4 (this build reads 1 to 3)")
        _ = machine.apply(index: 2, data: KVRequest(client: 1, sequence: 2,
            command: .set(key: "b", value: "2", condition: .always, ttlMillis: 9)).encoded(), nowMillis: 0)
        var orphan = machine.snapshotData()
        let keyAt = try #require(orphan.indices.last { orphan[$0] == UInt8(ascii: "b") && orphan[$0 - 4] == 1 })
        orphan[keyAt] = UInt8(ascii: "c")
        let refused = #expect(throws: KVStateMachine.SnapshotError.self) { try KVStateMachine(restoring: orphan) }
        #expect(refused?.reason == "an expiry for key 'c', which holds no value")
        #expect(throws: KVStateMachine.SnapshotError.self) {
            try KVStateMachine(restoring: machine.snapshotData(), expiringKeysMax: 0)
        }
    }

    @Test("replicas that differ only in a TTL have different digests, and the kept digest equals the rebuilt one")
    func digestCoversTTLs() {
        #expect(StateDigestTests.differ { replica, other in
            _ = replica.set("k", "v", ttl: other ? 101 : 100)
        })
        #expect(StateDigestTests.differ { replica, other in
            _ = replica.set("k", "v", ttl: other ? nil : 100)
        })
        var replica = Replica()
        _ = replica.set("a", "1", ttl: 5)
        _ = replica.set("b", "1", ttl: 50)
        _ = replica.set("b", "2", ttl: 60)
        replica.kv(1, .deleteKeys(["c"]))
        replica.elapse(5)
        #expect(replica.machine.stateDigest == replica.machine.recomputedStateDigest())
    }

    @Test("the new answers survive in a snapshot's client sessions, so a retry after a restore gets them again",
          arguments: [KVResult.notSet, .integer(-5), .integer(Int64.min), .count(0), .count(3)])
    func answersInSnapshot(result: KVResult) {
        #expect(KVResult(snapshotEncoding: result.encodedForSnapshot()) == result)
        #expect(result.hashForDigest != KVResult.rejected("").hashForDigest)
    }

    @Test("a retried SET NX takes effect once and gets its first answer")
    func retriedSet() {
        var machine = KVStateMachine()
        let request = KVRequest(client: 1, sequence: 1, command: .set(key: "k", value: "v", condition: .ifAbsent, ttlMillis: 10)).encoded()
        #expect(machine.apply(index: 1, data: request, nowMillis: 0)?.result == .written(revision: 1))
        #expect(machine.apply(index: 2, data: request, nowMillis: 0)?.result == .written(revision: 1))
        #expect(machine.revision == 1)
    }
}

/// The log encoding of the Redis commands.
@Suite struct KVRedisEncodingTests {
    static let commands: [KVCommand] = [
        .set(key: "k", value: "v", condition: .always, ttlMillis: nil),
        .set(key: "ключ", value: "", condition: .ifAbsent, ttlMillis: 1),
        .set(key: "", value: "v", condition: .ifPresent, ttlMillis: .max),
        .increment(key: "n", by: 1), .increment(key: "n", by: Int64.min), .increment(key: "n", by: Int64.max),
        .deleteKeys([]), .deleteKeys(["a", "a", "b"]), .exists(["x"]),
        .exists(Array(repeating: "k", count: CoordinationLimits.kvKeysPerCommandMax)),
    ]

    @Test("every Redis command round-trips through its log encoding", arguments: commands)
    func roundTrip(command: KVCommand) {
        let request = KVRequest(client: 9, sequence: .max, command: command)
        #expect(KVRequest(decoding: request.encoded()) == request)
        #expect(KVRequest(decoding: request.encoded() + [0]) == nil)
    }

    @Test("the old commands keep their bytes")
    func oldTagsUnchanged() {
        let put = KVRequest(client: 1, sequence: 2, command: .put(key: "k", value: "v")).encoded()
        #expect(put == [1] + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0] + [1] + [1, 0, 0, 0, 107] + [1, 0, 0, 0, 118])
    }

    @Test("every truncation of an encoded command is refused", arguments: commands.prefix(9))
    func truncations(command: KVCommand) {
        let bytes = KVRequest(client: 9, sequence: 1, command: command).encoded()
        for length in 0..<bytes.count {
            #expect(KVRequest(decoding: Array(bytes.prefix(length))) == nil, "length \(length)")
        }
    }

    @Test("an unknown condition, an unknown tag, a key count past the limit or past the bytes is refused")
    func garbage() {
        var set = KVRequest(client: 1, sequence: 1, command: .set(key: "k", value: "v", condition: .always, ttlMillis: nil)).encoded()
        set[set.count - 2] = 3
        #expect(KVRequest(decoding: set) == nil)
        var tag = KVRequest(client: 1, sequence: 1, command: .get(key: "k")).encoded()
        tag[17] = 99
        #expect(KVRequest(decoding: tag) == nil)
        let tooMany = KVRequest(client: 1, sequence: 1,
                                command: .exists(Array(repeating: "", count: CoordinationLimits.kvKeysPerCommandMax + 1)))
        #expect(KVRequest(decoding: tooMany.encoded()) == nil)
        var huge = ByteWriter()
        huge.write(UInt8(1)); huge.write(UInt64(1)); huge.write(UInt64(1)); huge.write(UInt8(7)); huge.write(UInt64.max)
        #expect(KVRequest(decoding: huge.bytes) == nil)
    }

    @Test("random bytes behind a valid header never trap, in decoding or in apply", arguments: [1, 2, 3] as [UInt64])
    func randomBytes(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var replica = Replica()
        for _ in 0..<2_000 {
            var bytes: [UInt8] = [1] + Array(repeating: 0, count: 16) + [UInt8(5 + random.next() % 4)]
            // Small bytes often, so that counts, lengths and condition codes are sometimes plausible.
            for _ in 0..<(random.next() % 40) {
                bytes.append(UInt8(truncatingIfNeeded: random.next() % 4 == 0 ? random.next() % 3 : random.next()))
            }
            _ = KVRequest(decoding: bytes)
            replica.index += 1
            _ = replica.machine.apply(index: replica.index, data: bytes)
        }
        #expect(replica.machine.appliedIndex == 2_000)
    }
}
