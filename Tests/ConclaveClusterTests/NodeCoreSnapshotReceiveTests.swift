import ConclaveCore
import ConclaveCoordination
import ConclaveRaft
import Testing
@testable import ConclaveCluster

/// A node whose storage receives a leader's snapshot chunk by chunk (`SnapshotReceivingStorage`,
/// as `DurableLogStorage` does into a file) installs it from there: Raft hands it out without data.
@Suite struct NodeCoreSnapshotReceiveTests {
    /// Stages the snapshot apart from the current one, as the WAL stages a temporary file.
    final class StagingStorage: MemoryBackedStorage, SnapshotReceivingStorage {
        var staged: (manifest: SnapshotManifest, data: [UInt8], finished: Bool)?
        var chunksReceived = 0
        var commits = 0
        var wholeSnapshotsApplied = 0
        /// Hand back damaged data from `finishReceivedSnapshot` (a file that reads back wrong).
        var damagesData = false

        func beginReceivingSnapshot(_ manifest: SnapshotManifest) throws(StorageError) { staged = (manifest, [], false) }
        func receiveSnapshotChunk(_ data: [UInt8]) throws(StorageError) {
            guard staged != nil, staged!.finished == false else { throw .io("no snapshot being received") }
            staged!.data += data
            chunksReceived += 1
        }
        func finishReceivedSnapshot() throws(StorageError) -> Snapshot {
            guard let (manifest, data, _) = staged, data.count == manifest.totalBytes else { throw .io("nothing whole to finish") }
            staged!.finished = true
            return Snapshot(index: manifest.index, term: manifest.term, voters: manifest.voters, learners: manifest.learners,
                            data: damagesData ? [0xDE, 0xAD, 0xBE, 0xEF] : data)
        }
        func commitReceivedSnapshot() throws(StorageError) {
            guard let (manifest, data, finished) = staged, finished else { throw .io("nothing finished to commit") }
            memory.applySnapshot(Snapshot(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                          learners: manifest.learners, data: data))
            staged = nil
            commits += 1
        }
        func abandonReceivedSnapshot() { staged = nil }
        override func applySnapshot(_ snapshot: Snapshot) throws {
            wholeSnapshotsApplied += 1
            try super.applySnapshot(snapshot)
        }
    }

    @Test("a follower that missed compacted entries receives the snapshot into its storage and loads it (one that does not load is dropped and stops the node)",
          arguments: [false, true])
    func followerReceivesIntoStorage(damaged: Bool) throws {
        let voters: [NodeID] = [1, 2, 3]
        let staging = StagingStorage(voters: voters)
        staging.damagesData = damaged
        var cores = try voters.map { id in
            var config = NodeConfig(raft: RaftConfig(id: id))
            config.tickNanos = NodeCoreTests.tickNanos
            config.snapshotEveryEntries = 20
            config.compactionKeepEntries = 5
            config.raft.snapshotChunkBytes = 64
            let storage: any WritableLogStorage = id == 3 ? staging : MemoryStorage(voters: voters)
            return try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 7, stream: id),
                                callbackTargets: NodeCoreTests.NoTargets())
        }
        var nanos: UInt64 = 0
        var isolated = true
        var installed: [LogIndex] = []
        func deliver() {
            var mailbox: [Message] = []
            repeat {
                for position in cores.indices {
                    for output in cores[position].takeOutputs() {
                        switch output {
                        case .send(let message) where !isolated || (message.to != 3 && message.from != 3): mailbox.append(message)
                        case .snapshotInstalled(let index, _) where position == 2: installed.append(index)
                        default: break
                        }
                    }
                }
                let batch = mailbox
                mailbox.removeAll()
                for message in batch { cores[Int(message.to) - 1].receive(message, at: NodeCoreTests.time(nanos)) }
                if batch.isEmpty { break }
            } while true
        }
        func round() {
            nanos += NodeCoreTests.tickNanos
            for position in cores.indices { cores[position].tick(at: NodeCoreTests.time(nanos)) }
            deliver()
        }
        for _ in 0..<100 where !cores.contains(where: { $0.raft.role == .leader }) { round() }
        let leader = try #require(cores.firstIndex { $0.raft.role == .leader })
        var readNumbers: UInt64 = 0
        for number in 1...60 {
            let put = KVRequest(client: 5, sequence: UInt64(number), command: .put(key: "k\(number % 7)", value: "\(number)"))
            #expect(cores[leader].submit(put, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos)) == nil)
            round()
        }
        #expect(try cores[leader].storage.snapshot().index >= 40)
        isolated = false
        for _ in 0..<50 { round() }
        if damaged {
            #expect(cores[2].stopReason?.contains("does not load") == true, "\(String(describing: cores[2].stopReason))")
            #expect(installed.isEmpty && staging.commits == 0 && staging.staged == nil && staging.wholeSnapshotsApplied == 0)
            return
        }
        #expect(installed.count == 1 && staging.commits == 1)
        #expect(staging.chunksReceived > 1 && staging.wholeSnapshotsApplied == 0)
        #expect(cores[2].stateMachine.kv.read("k3", nowMillis: cores[2].stateMachine.nowMillis)
            == cores[leader].stateMachine.kv.read("k3", nowMillis: cores[leader].stateMachine.nowMillis))
        #expect(cores[2].stateMachine.appliedIndex == cores[leader].stateMachine.appliedIndex)
    }
}
