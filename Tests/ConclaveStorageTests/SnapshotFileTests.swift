import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

@Suite struct SnapshotFileTests {
    static let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }

    @Test("a streamed snapshot is written in chunks and read back chunk by chunk with its CRCs")
    func streaming() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        defer { storage.close() }
        let writer = try storage.beginSnapshot(SnapshotMetadata(index: 50, term: 3, voters: [1, 2, 3], learners: [4]))
        var offset = 0
        for piece in [1, 700, 33, 4_000, 5_266] {
            try writer.write(Self.data[offset..<offset + piece])
            offset += piece
        }
        #expect(disk.kind(of: "/data/snap/0000000000000003-0000000000000032.snap") == nil)
        try storage.commitSnapshot(writer, replacesLog: true)
        #expect(disk.kind(of: "/data/snap/0000000000000003-0000000000000032.snap") == .file)
        let reader = try #require(try storage.openSnapshot())
        #expect(reader.metadata == SnapshotMetadata(index: 50, term: 3, voters: [1, 2, 3], learners: [4]))
        var chunks: [[UInt8]] = []
        while let chunk = try reader.nextChunk() { chunks.append(chunk) }
        #expect(chunks.allSatisfy { $0.count <= 256 } && chunks.count == 40)
        #expect(Array(chunks.joined()) == Self.data)
        #expect(try storage.snapshot().data == Self.data)
        #expect(storage.initialState().1 == ConfState(voters: [1, 2, 3], learners: [4]))
    }

    @Test("a damaged chunk is reported with the file and offset when the snapshot is read")
    func damagedChunk() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: Self.data))
        let path = "/data/snap/0000000000000002-0000000000000009.snap"
        disk.corrupt(path, at: 5_000)
        let error = #expect(throws: StorageError.self) { _ = try storage.snapshot() }
        guard case .io(let text) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(text.hasPrefix("corrupt: \(path) at byte "), "\(text)")
    }

    @Test("a marker whose snapshot file is missing stops recovery, naming the file")
    func missingFile() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        try storage.applySnapshot(Snapshot(index: 9, term: 2, voters: [1, 2, 3], data: [1, 2, 3]))
        storage.close()
        try disk.remove("/data/snap/0000000000000002-0000000000000009.snap")
        let error = #expect(throws: DurableStorageError.self) { _ = try openStorage(disk) }
        #expect(error?.corruptFile == "/data/snap/0000000000000002-0000000000000009.snap")
        #expect(error?.corruptReason?.contains("which is missing") == true)
    }

    @Test("a crash at every step of taking a snapshot leaves the old one or the new one, whole, and no leftovers")
    func atomicAtEveryCrashPoint() throws {
        var crashPoint = 0
        var sawNew = false
        var sawOld = false
        while true {
            let disk = SimulatedFileSystem(seed: UInt64(crashPoint), faults: .init(shortWriteProbability: 0.3))
            let storage = try openStorage(disk)
            try storage.save(hardState: HardState(term: 2, vote: 1, commit: 20), entries: makeEntries(1...20, term: 2))
            try storage.createSnapshot(index: 10, voters: [1, 2, 3], learners: [], data: [10])
            disk.crashAfter(mutations: crashPoint)
            let finished = (try? storage.createSnapshot(index: 20, voters: [1, 2, 3], learners: [], data: Self.data)) != nil
            storage.close()
            disk.restart()
            let recovered = try openStorage(disk)
            let snapshot = try recovered.snapshot()
            if snapshot.index == 20 {
                #expect(snapshot.data == Self.data)
                sawNew = true
            } else {
                #expect(!finished, "crash point \(crashPoint): the acknowledged snapshot was lost")
                #expect(snapshot.index == 10 && snapshot.data == [10])
                sawOld = true
            }
            #expect(try disk.list("/data/snap").allSatisfy { $0.hasSuffix(".snap") })
            #expect(recovered.lastIndex == 20)
            recovered.close()
            if finished { break }
            crashPoint += 1
        }
        #expect(sawNew && sawOld && crashPoint > 5)
    }
}

extension SnapshotFileTests {
    @Test("a leader's snapshot older than the current one is refused, nothing written")
    func olderInstalledSnapshot() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        defer { storage.close() }
        try storage.applySnapshot(Snapshot(index: 20, term: 2, voters: [1, 2, 3], data: [2]))
        #expect(throws: DurableStorageError.snapshotMismatch("index 10 is older than the current snapshot at 20")) {
            try storage.applySnapshot(Snapshot(index: 10, term: 2, voters: [1, 2, 3], data: [1]))
        }
        #expect(try disk.list("/data/snap") == ["0000000000000002-0000000000000014.snap"])
    }
}
