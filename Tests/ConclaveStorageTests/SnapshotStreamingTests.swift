import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

/// A leader on `DurableLogStorage` sends its snapshot chunk by chunk read from the file: it never
/// takes the whole image (`snapshot()`), and no read hands it more than a chunk. A follower on it
/// writes the chunks to a temporary snapshot file as they arrive, not to its memory.
@Suite struct SnapshotStreamingTests {
    /// Forwards to a `DurableLogStorage`, counting whole-snapshot reads and the chunks handed out.
    final class CountingStorage: LogStorage {
        let durable: DurableLogStorage
        var wholeSnapshotReads = 0
        var chunkReads: [(offset: Int, bytes: Int)] = []

        init(_ durable: DurableLogStorage) { self.durable = durable }

        func initialState() -> (HardState, ConfState) { durable.initialState() }
        func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
            try durable.entries(from: low, to: high, maxBytes: maxBytes)
        }
        func term(at index: LogIndex) throws(StorageError) -> Term { try durable.term(at: index) }
        var firstIndex: LogIndex { durable.firstIndex }
        var lastIndex: LogIndex { durable.lastIndex }
        func snapshot() throws(StorageError) -> Snapshot {
            wholeSnapshotReads += 1
            return try durable.snapshot()
        }
        func snapshotManifest() throws(StorageError) -> SnapshotManifest { try durable.snapshotManifest() }
        func snapshotChunk(index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8] {
            let chunk = try durable.snapshotChunk(index: index, offset: offset, maxBytes: maxBytes)
            chunkReads.append((offset, chunk.count))
            return chunk
        }
    }

    /// `RaftOnDiskTests.Cluster`'s `snapshotChunkBytes`.
    static let chunkBytes = 200
    /// 25 Raft chunks, spread over 20 file chunks of 256 bytes (`smallOptions`).
    static let data = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 251) }

    @Test("a leader streams a multi-chunk snapshot from its file, never reading it whole, and the follower installs it")
    func leaderStreamsFromFile() throws {
        var leaderStorage: CountingStorage?
        var cluster = try RaftOnDiskTests.Cluster { id, storage in
            guard id == 1 else { return storage }
            let counting = CountingStorage(storage)
            leaderStorage = counting
            return counting
        }
        defer { cluster.closeAll() }
        let index = try cluster.snapshotPastLaggingFollower(proposals: 20) { _ in Self.data }
        let counting = try #require(leaderStorage)
        #expect(counting.wholeSnapshotReads == 0)
        #expect(counting.chunkReads.count >= Self.data.count / Self.chunkBytes)
        #expect(counting.chunkReads.allSatisfy { $0.bytes <= Self.chunkBytes })
        #expect(cluster.storages[3]!.snapshotMetadata.index == index)
        #expect(try cluster.storages[3]!.snapshot().data == Self.data)
        #expect(try cluster.log(3) == (try cluster.log(1)))
        // The follower's Raft handed the snapshot out without its data: that was in the file.
        #expect(cluster.handedOutSnapshots[3]?.map(\.index) == [index])
        #expect(cluster.handedOutSnapshots[3]?.allSatisfy(\.data.isEmpty) == true)
    }

    static let manifest = SnapshotManifest(index: 9, term: 2, voters: [1, 2, 3], learners: [], totalBytes: data.count)

    /// Receives `data` into `storage` in chunks of `chunkBytes`.
    static func receive(_ data: [UInt8], into storage: DurableLogStorage, chunkBytes: Int = 300) throws {
        try storage.beginReceivingSnapshot(SnapshotManifest(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                                            learners: [], totalBytes: data.count))
        for start in stride(from: 0, to: data.count, by: chunkBytes) {
            try storage.receiveSnapshotChunk(Array(data[start..<min(data.count, start + chunkBytes)]))
        }
    }

    @Test("a received snapshot is staged in a temporary file, finished, then made current, and survives a restart")
    func receiveFinishCommit() throws {
        let disk = quietDisk()
        var storage = try openStorage(disk)
        try Self.receive(Self.data, into: storage)
        #expect(try disk.list("/data/snap").contains { $0.hasSuffix(".tmp") })
        #expect(storage.snapshotMetadata.index == 0)
        let finished = try storage.finishReceivedSnapshot()
        #expect(finished == Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: Self.data))
        #expect(storage.snapshotMetadata.index == 0)
        try storage.commitReceivedSnapshot()
        #expect(storage.snapshotMetadata.index == 9 && storage.firstIndex == 10)
        storage.close()
        storage = try openStorage(disk)
        defer { storage.close() }
        #expect(try storage.snapshot().data == Self.data)
    }

    @Test("an abandoned receive leaves no file, staged or finished; a crash mid-receive leaves one that open removes")
    func abandonedReceive() throws {
        let disk = quietDisk()
        var storage = try openStorage(disk)
        try Self.receive(Self.data, into: storage)
        storage.abandonReceivedSnapshot()
        #expect(try disk.list("/data/snap").isEmpty)
        try Self.receive(Self.data, into: storage)
        _ = try storage.finishReceivedSnapshot()
        storage.abandonReceivedSnapshot()
        #expect(try disk.list("/data/snap").isEmpty)
        #expect(throws: StorageError.self) { try storage.commitReceivedSnapshot() }
        try Self.receive(Array(Self.data.prefix(1_000)), into: storage)
        storage.close()
        storage = try openStorage(disk)
        defer { storage.close() }
        #expect(try disk.list("/data/snap").isEmpty)
        #expect(storage.recovery.removedFiles.count == 1)
    }

    @Test("a transfer cut short by a new term (a new leader, or our own pre-vote) leaves no temporary file")
    func transferDroppedByTermChange() throws {
        let disk = quietDisk()
        // Node 1 of {1, 2, 3} as a follower of node 2; the transfer sends 1,000 of 5,000 bytes.
        let storage = try openStorage(disk)
        defer { storage.close() }
        var raft = try Raft(config: RaftConfig(id: 1), storage: storage, random: SeededGenerator(seed: 1))
        func firstChunk(from leader: NodeID, term: Term) -> Message {
            Message(kind: .snapshot, from: leader, to: 1, term: term,
                    chunk: SnapshotChunk(index: 40, term: term, voters: [1, 2, 3], learners: [], offset: 0,
                                         totalBytes: Self.data.count, data: Array(Self.data.prefix(1_000))))
        }
        raft.step(firstChunk(from: 2, term: 3))
        #expect(try disk.list("/data/snap").contains { $0.hasSuffix(".tmp") })
        // Node 3 leads term 4: its heartbeat makes us its follower, and node 2's transfer is over.
        raft.step(Message(kind: .heartbeat, from: 3, to: 1, term: 4))
        #expect(raft.leader == 3)
        #expect(try disk.list("/data/snap").isEmpty)
        // The same when our own election timeout starts a pre-vote mid-transfer.
        raft.step(firstChunk(from: 3, term: 4))
        #expect(try disk.list("/data/snap").contains { $0.hasSuffix(".tmp") })
        for _ in 0..<(2 * RaftConfig(id: 1).electionTimeoutTicks) where raft.role == .follower { raft.tick() }
        #expect(raft.role == .preCandidate)
        #expect(try disk.list("/data/snap").isEmpty)
    }

    @Test("a receive refuses a snapshot not past the current one, bytes past the declared length, and finishing short")
    func receiveLimits() throws {
        let storage = try openStorage(quietDisk())
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: [1]))
        #expect(throws: StorageError.self) { try storage.beginReceivingSnapshot(Self.manifest) }
        let next = SnapshotManifest(index: 12, term: 2, voters: [1, 2, 3], learners: [], totalBytes: 10)
        try storage.beginReceivingSnapshot(next)
        try storage.receiveSnapshotChunk(Array(repeating: 1, count: 6))
        #expect(throws: StorageError.self) { try storage.receiveSnapshotChunk(Array(repeating: 1, count: 5)) }
        try storage.beginReceivingSnapshot(next)
        try storage.receiveSnapshotChunk(Array(repeating: 1, count: 6))
        #expect(throws: StorageError.self) { _ = try storage.finishReceivedSnapshot() }
    }

    @Test("chunk reads at any offset match the data, forwards, backwards and across file chunks")
    func chunkReadsMatchData() throws {
        let storage = try openStorage(quietDisk())
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: Self.data))
        #expect(try storage.snapshotManifest() == SnapshotManifest(index: 9, term: 2, voters: [1, 2, 3], learners: [],
                                                                    totalBytes: Self.data.count))
        for (offset, maxBytes) in [(0, 200), (200, 200), (250, 300), (100, 7), (4_900, 500), (5_000, 10), (0, 5_000), (255, 2)] {
            let expected = Array(Self.data[offset..<min(Self.data.count, offset + maxBytes)])
            #expect(try storage.snapshotChunk(index: 9, offset: offset, maxBytes: maxBytes) == expected, "at \(offset)")
        }
        #expect(throws: StorageError.unavailable) { _ = try storage.snapshotChunk(index: 9, offset: 5_001, maxBytes: 10) }
        #expect(throws: StorageError.compacted) { _ = try storage.snapshotChunk(index: 8, offset: 0, maxBytes: 10) }
    }

    @Test("a replaced snapshot is still served while its file is kept, then is compacted")
    func replacedSnapshot() throws {
        let storage = try openStorage(quietDisk())
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: Self.data))
        #expect(try storage.snapshotChunk(index: 9, offset: 0, maxBytes: 10) == Array(Self.data[0..<10]))
        try storage.applySnapshot(Snapshot(index: 20, term: 3, voters: [1, 2, 3], data: [1, 2, 3]))
        #expect(try storage.snapshotChunk(index: 9, offset: 10, maxBytes: 10) == Array(Self.data[10..<20]))
        #expect(try storage.snapshotChunk(index: 20, offset: 1, maxBytes: 10) == [2, 3])
        try storage.applySnapshot(Snapshot(index: 30, term: 3, voters: [1, 2, 3], data: [4]))
        #expect(throws: StorageError.compacted) { _ = try storage.snapshotChunk(index: 9, offset: 0, maxBytes: 10) }
    }

    @Test("a damaged chunk is an io error naming the file when it is streamed")
    func damagedChunkWhileStreaming() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: Self.data))
        let path = "/data/snap/0000000000000002-0000000000000009.snap"
        disk.corrupt(path, at: 3_000)
        #expect(try storage.snapshotManifest().totalBytes == Self.data.count)
        #expect(try storage.snapshotChunk(index: 9, offset: 0, maxBytes: 200).count == 200)
        let error = #expect(throws: StorageError.self) { _ = try storage.snapshotChunk(index: 9, offset: 2_800, maxBytes: 400) }
        guard case .io(let text) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(text.hasPrefix("corrupt: \(path) at byte "), "\(text)")
    }
}
