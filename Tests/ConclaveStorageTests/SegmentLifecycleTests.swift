import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

@Suite struct SegmentLifecycleTests {
    /// 400 entries in batches of 4 over 4 KiB segments.
    static func filled(_ disk: SimulatedFileSystem) throws -> DurableLogStorage {
        let storage = try openStorage(disk)
        for index in stride(from: 1 as LogIndex, through: 400, by: 4) {
            try storage.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: makeEntries(index...index + 3, term: 1))
        }
        return storage
    }

    @Test("segments roll over at the size limit; every cut segment ends with a seal record")
    func rollover() throws {
        let disk = quietDisk()
        let storage = try Self.filled(disk)
        storage.close()
        let names = try disk.list("/data/wal")
        #expect(names.count >= 6)
        #expect(names.first == "0000000000000001.wal")
        var buffer: [UInt8] = []
        for (position, name) in names.enumerated() {
            let path = "/data/wal/" + name
            #expect(disk.contents(of: path)!.count <= 4_096 + 24)
            let (header, end) = try SegmentFile.read(path, sequence: UInt64(position + 1), isLast: position == names.count - 1,
                                                     expected: testIdentity, fileSystem: disk, options: smallOptions(), buffer: &buffer) { _, _ in }
            #expect(header.identity == testIdentity)
            if position < names.count - 1 {
                #expect(end == .sealed(dataEnd: end.dataEnd, nextSequence: UInt64(position + 2)))
            }
        }
    }

    @Test("a snapshot and compaction delete the segments wholly before it, and restart sees the same log")
    func deletionBeforeSnapshot() throws {
        let disk = quietDisk()
        let storage = try Self.filled(disk)
        let segmentsBefore = try disk.list("/data/wal").count
        try storage.createSnapshot(index: 300, voters: [1, 2, 3], learners: [], data: Array("state at 300".utf8))
        try storage.compact(through: 300)
        let remaining = try disk.list("/data/wal")
        #expect(remaining.count < segmentsBefore)
        #expect(remaining.first != "0000000000000001.wal")
        #expect(storage.firstIndex == 301)
        let expected = Observed(storage)
        storage.close()

        let reopened = try openStorage(disk)
        defer { reopened.close() }
        #expect(Observed(reopened) == expected)
        #expect(try reopened.term(at: 300) == 1)
        #expect(try reopened.snapshot().data == Array("state at 300".utf8))
        #expect(throws: StorageError.compacted) { _ = try reopened.entries(from: 300, to: 301, maxBytes: .max) }
        // Every remaining segment but the first holds only entries after the snapshot's prefix.
        var buffer: [UInt8] = []
        let (header, _) = try SegmentFile.read("/data/wal/" + remaining[1], sequence: SegmentFile.sequence(fromName: remaining[1])!,
                                               isLast: remaining.count == 2, expected: testIdentity, fileSystem: disk,
                                               options: smallOptions(), buffer: &buffer) { _, _ in }
        #expect(header.second > 300)
    }

    @Test("an installed snapshot replaces the log; after compaction only the new segment is left")
    func installedSnapshot() throws {
        let disk = quietDisk()
        let storage = try Self.filled(disk)
        let data = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try storage.applySnapshot(Snapshot(index: 1_000, term: 5, voters: [1, 2, 3, 4], learners: [5], data: data))
        try storage.compact(through: 1_000)
        #expect(try disk.list("/data/wal").count == 1)
        try storage.save(hardState: HardState(term: 5, vote: 0, commit: 1_001), entries: makeEntries(1_001...1_001, term: 5))
        let expected = Observed(storage)
        storage.close()

        let reopened = try openStorage(disk)
        defer { reopened.close() }
        #expect(Observed(reopened) == expected)
        #expect(reopened.initialState().1 == ConfState(voters: [1, 2, 3, 4], learners: [5]))
        #expect(reopened.firstIndex == 1_001 && reopened.lastIndex == 1_001)
        #expect(try reopened.snapshot().data == data)
    }

    @Test("snapshot files are pruned to the newest two")
    func snapshotPruning() throws {
        let disk = quietDisk()
        let storage = try Self.filled(disk)
        defer { storage.close() }
        for index in [100, 200, 300] as [LogIndex] {
            try storage.createSnapshot(index: index, voters: [1, 2, 3], learners: [], data: [UInt8(index / 100)])
        }
        #expect(try disk.list("/data/snap") == [
            "0000000000000001-00000000000000c8.snap", "0000000000000001-000000000000012c.snap",
        ])
    }

    @Test("a sealed last segment (crash before the next was renamed in) is followed by a new one on open")
    func sealedLastSegment() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        try storage.append(makeEntries(1...4, term: 1))
        storage.close()
        // Seal segment 1 by hand, as a cut does before the rename.
        let path = "/data/wal/0000000000000001.wal"
        var buffer: [UInt8] = []
        let (_, end) = try SegmentFile.read(path, sequence: 1, isLast: true, expected: testIdentity, fileSystem: disk,
                                            options: smallOptions(), buffer: &buffer) { _, _ in }
        var bytes = disk.contents(of: path)!
        var seal: [UInt8] = []
        RecordFrame.append(type: .seal, seed: 1, fileOffset: end.dataEnd, to: &seal) { WALRecord.seal(nextSequence: 2).encodePayload(into: &$0) }
        bytes.replaceSubrange(end.dataEnd..<end.dataEnd + seal.count, with: seal)
        disk.replaceContents(of: path, with: bytes)

        let reopened = try openStorage(disk)
        #expect(reopened.recovery.segments.count == 2)
        try reopened.append(makeEntries(5...5, term: 1))
        reopened.close()
        let again = try openStorage(disk)
        defer { again.close() }
        #expect(again.lastIndex == 5)
    }
}
