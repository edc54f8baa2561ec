import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Testing

/// `NodeCore.snapshotNow` (the operator's ADMIN.SNAPSHOT): a snapshot at the applied index
/// whatever the schedule says, the log compacted behind it, and nothing new when nothing applied.
struct NodeCoreSnapshotNowTests {
    @Test("snapshotNow snapshots at the applied index, compacts, and answers the same index when nothing applied since")
    func snapshotNow() throws {
        let storage = MemoryStorage(voters: [1])
        var config = NodeConfig(raft: RaftConfig(id: 1))
        config.tickNanos = NodeCoreTests.tickNanos
        config.snapshotEveryEntries = 0
        config.compactionKeepEntries = 2
        var core = try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 7),
                                callbackTargets: NodeCoreTests.NoTargets())
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
}
