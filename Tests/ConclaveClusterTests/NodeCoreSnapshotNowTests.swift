import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Testing

/// `NodeCore.snapshotNow` (the operator's ADMIN.SNAPSHOT): a snapshot at the applied index
/// whatever the schedule says, the log compacted behind it, and nothing new when nothing applied.
struct NodeCoreSnapshotNowTests {
    /// A one-node core on `storage` with the test tick and the snapshot settings `configure` sets.
    static func core(on storage: MemoryStorage, _ configure: (inout NodeConfig) -> Void) throws -> NodeCore {
        var config = NodeConfig(raft: RaftConfig(id: 1))
        config.tickNanos = NodeCoreTests.tickNanos
        configure(&config)
        return try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 7), callbackTargets: NodeCoreTests.NoTargets())
    }

    @Test("snapshotNow snapshots at the applied index, compacts, and answers the same index when nothing applied since")
    func snapshotNow() throws {
        let storage = MemoryStorage(voters: [1])
        var core = try Self.core(on: storage) { config in
            config.snapshotEveryEntries = 0
            config.compactionKeepEntries = 2
        }
        var (nanos, _) = NodeCoreTests.elect(&core)
        var readNumbers: UInt64 = 0
        for sequence in 1...10 as ClosedRange<UInt64> {
            nanos += 1
            let put = KVRequest(client: 9, sequence: sequence, command: .put(key: "k\(sequence)", value: "v"))
            #expect(core.submit(put, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos)) == nil)
        }
        _ = core.takeOutputs()
        let applied = core.stateMachine.appliedIndex
        #expect(core.snapshotNow(at: NodeCoreTests.time(nanos + 1)) == applied)
        #expect(core.takeOutputs().contains { if case .snapshotTaken(let index) = $0 { index == applied } else { false } })
        #expect(try storage.snapshot().index == applied)
        #expect(storage.firstIndex == applied - 1, "compacted through applied - compactionKeepEntries")
        #expect(core.snapshotNow(at: NodeCoreTests.time(nanos + 2)) == applied)
        #expect(core.takeOutputs().isEmpty, "nothing applied since: no new snapshot")
    }

    @Test("with snapshotLogRatio, a snapshot waits until the entries since the last one hold that many times its bytes")
    func snapshotLogRatio() throws {
        let storage = MemoryStorage(voters: [1])
        var core = try Self.core(on: storage) { config in
            config.snapshotEveryEntries = 5
            config.snapshotLogRatio = 4
        }
        var (nanos, _) = NodeCoreTests.elect(&core)
        var readNumbers: UInt64 = 0
        var sequence: UInt64 = 0
        var snapshots: [(index: UInt64, bytes: Int)] = []
        let value = String(repeating: "v", count: 1_000)
        for _ in 1...200 {
            nanos += 1
            sequence += 1
            // Distinct keys: the state grows as the log does, so each snapshot is larger.
            let put = KVRequest(client: 9, sequence: sequence, command: .put(key: "k\(sequence)", value: value))
            #expect(core.submit(put, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos)) == nil)
            for output in core.takeOutputs() {
                if case .snapshotTaken(let index) = output { snapshots.append((index, try storage.snapshot().data.count)) }
            }
        }
        #expect(snapshots.count >= 3)
        // The first snapshot comes by count (nothing taken yet); each later one only after 4 × the
        // previous one's bytes of entries: about 4 × its key count of 1 KB puts.
        for (previous, next) in zip(snapshots, snapshots.dropFirst()) {
            let entries = next.index - previous.index
            #expect(Int(entries) * 1_000 >= 4 * previous.bytes * 9 / 10, "snapshot at \(next.index) after \(entries) entries; last was \(previous.bytes) B")
            #expect(entries > 5, "the ratio, not the count, decided")
        }
    }
}
