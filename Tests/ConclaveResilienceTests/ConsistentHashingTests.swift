import ConclaveCore
import Testing
@testable import ConclaveResilience

@Suite struct ConsistentHashingTests {
    static let keys = (0..<100_000).map { "key-\($0)" }
    static func names(_ count: Int) -> [String] { (1...count).map { "node-\($0)" } }

    @Test("stable hashes match the published FNV-1a 64 vectors and never depend on the process")
    func knownAnswers() {
        #expect(StableHash.fnv1a64("".utf8) == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a64("a".utf8) == 0xaf63_dc4c_8601_ec8c)
        #expect(StableHash.fnv1a64("foobar".utf8) == 0x8594_4171_f739_67e8)
        #expect(StableHash.mix(0) == 0)
        #expect(StableHash.key("a") == StableHash.mix(0xaf63_dc4c_8601_ec8c))
    }

    @Test("adding an 11th node moves about 1/11 of keys, all of them to the new node")
    func addMovesOneNth() throws {
        var ring = try ConsistentHashRing(backends: Self.names(10))
        let before = Self.keys.map { ring.backend(forKey: $0) }
        try ring.add(backend: "node-11")
        let after = Self.keys.map { ring.backend(forKey: $0) }
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.1 == "node-11" })
        let fraction = Double(moved.count) / Double(Self.keys.count)
        #expect(abs(fraction - 1.0 / 11) < 0.03, "moved \(fraction)")
    }

    @Test("removing one of 10 nodes moves exactly its keys, about 1/10")
    func removeMovesOnlyItsKeys() throws {
        var ring = try ConsistentHashRing(backends: Self.names(10))
        let before = Self.keys.map { ring.backend(forKey: $0) }
        #expect(try ring.remove(backend: "node-4"))
        #expect(try !ring.remove(backend: "node-4"))
        let after = Self.keys.map { ring.backend(forKey: $0) }
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.0 == "node-4" })
        #expect(moved.count == before.filter { $0 == "node-4" }.count)
        #expect(abs(Double(moved.count) / Double(Self.keys.count) - 0.1) < 0.03)
    }

    @Test("a ring of one cannot lose its last node; duplicates and empty lists are refused")
    func ringErrors() throws {
        var ring = try ConsistentHashRing(backends: ["only"])
        #expect(throws: ResilienceConfigurationError.self) { try ring.remove(backend: "only") }
        #expect(throws: ResilienceConfigurationError.self) { try ring.add(backend: "only") }
        #expect(throws: ResilienceConfigurationError.self) { try ConsistentHashRing(backends: []) }
    }

    @Test("bounded loads keep every node within (1 + ε) of the mean; the plain ring does not")
    func boundedLoads() throws {
        var bounded = try BoundedLoadHashRing(backends: Self.names(10), virtualNodesPerBackend: 20, balanceFactor: 0.25)
        var plain = Array(repeating: 0, count: 10)
        for key in Self.keys.prefix(10_000) {
            _ = bounded.assign(key: key)
            plain[bounded.ring.backendIndex(forKeyHash: StableHash.key(key))] += 1
        }
        #expect(bounded.totalLoad == 10_000)
        #expect(bounded.loads.max()! <= 1_250)
        #expect(plain.max()! > 1_250, "with 20 virtual nodes the plain ring overloads some node (max \(plain.max()!))")
        for backend in 0..<10 { for _ in 0..<500 { bounded.release(backend: backend) } }
        #expect(bounded.totalLoad == 5_000)
        bounded.release(backend: -1)
    }

    @Test("Maglev gives every backend ⌊M/N⌋ or ⌈M/N⌉ slots and moves few keys beyond the removed node's")
    func maglev() throws {
        let table = try MaglevTable(backends: Self.names(7), tableSize: 65_537)
        var slots = Array(repeating: 0, count: 7)
        for slot in table.table { slots[Int(slot)] += 1 }
        #expect(slots.allSatisfy { $0 == 65_537 / 7 || $0 == 65_537 / 7 + 1 })
        let smaller = try MaglevTable(backends: Self.names(7).filter { $0 != "node-3" })
        let before = Self.keys.map { table.backend(forKey: $0) }
        let after = Self.keys.map { smaller.backend(forKey: $0) }
        let movedOthers = zip(before, after).filter { $0.0 != $0.1 && $0.0 != "node-3" }.count
        #expect(before.filter { $0 == "node-3" }.count > 13_000)
        #expect(Double(movedOthers) / Double(Self.keys.count) < 0.03, "disruption beyond the removed node: \(movedOthers)")
    }

    @Test("Maglev refuses a table size that is not a prime at least the backend count")
    func maglevErrors() {
        #expect(throws: ResilienceConfigurationError.self) { try MaglevTable(backends: ["a"], tableSize: 65_536) }
        #expect(throws: ResilienceConfigurationError.self) { try MaglevTable(backends: ["a", "b", "c"], tableSize: 2) }
        #expect(throws: ResilienceConfigurationError.self) { try MaglevTable(backends: []) }
    }
}
