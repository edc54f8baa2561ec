import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

/// A torn last record is truncated and reported; damage anywhere else stops recovery with the file
/// and byte offset. Segments are not preallocated here, so each save's end is the file's length.
@Suite struct TornTailTests {
    static let segment = "/data/wal/0000000000000001.wal"

    /// Three saves; returns the disk, the state after the first two, and where the third record
    /// starts and ends (it spans several 512-byte sectors).
    static func threeSaves() throws -> (SimulatedFileSystem, Observed, Range<Int>) {
        let disk = quietDisk()
        let storage = try openStorage(disk, options: smallOptions(segmentBytes: 1 << 20, preallocate: false))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: makeEntries(1...3, term: 1))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(4...5, term: 1))
        let before = Observed(storage)
        let start = disk.contents(of: segment)!.count
        try storage.append(makeEntries(6...9, term: 1, bytes: 400))
        let end = disk.contents(of: segment)!.count
        storage.close()
        return (disk, before, start..<end)
    }

    @Test("a file cut at every byte offset of the last record recovers the records before it")
    func cutAtEveryOffset() throws {
        let (disk, before, last) = try Self.threeSaves()
        let whole = disk.contents(of: Self.segment)!
        #expect(last.count > 1_024)
        for cut in last.lowerBound..<last.upperBound {
            disk.replaceContents(of: Self.segment, with: Array(whole[..<cut]))
            let storage = try openStorage(disk, options: smallOptions(segmentBytes: 1 << 20, preallocate: false))
            #expect(Observed(storage) == before, "cut at \(cut)")
            if cut == last.lowerBound {
                #expect(storage.recovery.tornTail == nil)
            } else {
                #expect(storage.recovery.tornTail?.offset == last.lowerBound, "cut at \(cut)")
                let nonZeroEnd = (whole[..<cut].lastIndex { $0 != 0 } ?? 0) + 1
                #expect(storage.recovery.tornTail?.bytesDiscarded == nonZeroEnd - last.lowerBound)
            }
            #expect(disk.contents(of: Self.segment)!.count == last.lowerBound)
            storage.close()
        }
    }

    @Test("the last record zeroed from any sector boundary on (a torn preallocated write) is truncated")
    func zeroedFromEverySector() throws {
        let (disk, before, last) = try Self.threeSaves()
        let whole = disk.contents(of: Self.segment)!
        let boundaries = stride(from: (last.lowerBound / 512 + 1) * 512, to: last.upperBound, by: 512)
        #expect(boundaries.underestimatedCount >= 2)
        for cut in [last.lowerBound] + Array(boundaries) {
            var bytes = whole
            for position in cut..<bytes.count { bytes[position] = 0 }
            bytes += [UInt8](repeating: 0, count: 4_096)
            disk.replaceContents(of: Self.segment, with: bytes)
            let storage = try openStorage(disk, options: smallOptions(segmentBytes: 1 << 20, preallocate: false))
            #expect(Observed(storage) == before, "zeroed from \(cut)")
            #expect(storage.recovery.tornTail?.offset == (cut == last.lowerBound ? nil : last.lowerBound), "zeroed from \(cut)")
            storage.close()
        }
    }

    @Test("the recovered WAL takes new writes after a torn tail, and they survive the next restart")
    func writesAfterTruncation() throws {
        let (disk, _, last) = try Self.threeSaves()
        disk.replaceContents(of: Self.segment, with: Array(disk.contents(of: Self.segment)![..<(last.lowerBound + 100)]))
        let storage = try openStorage(disk)
        try storage.append(makeEntries(6...7, term: 2))
        let after = Observed(storage)
        storage.close()
        let reopened = try openStorage(disk)
        defer { reopened.close() }
        #expect(Observed(reopened) == after)
        #expect(reopened.recovery.tornTail == nil)
    }

    @Test("a bad record with valid records after it is corruption: file and offset named, nothing skipped")
    func corruptionBeforeValidRecords() throws {
        let (disk, _, _) = try Self.threeSaves()
        // The segment opens with the header (64 bytes), the hard state (40) and the snapshot marker
        // (64); the first save's entries record starts at byte 168.
        let error = try recoveryError(disk) { disk.corrupt(Self.segment, at: 168 + 40) }
        guard case .corrupt(let file, let offset, let reason) = error else { Issue.record("\(error)"); return }
        #expect(file == Self.segment)
        #expect(offset == 168)
        #expect(reason.contains("CRC mismatch") && reason.contains("a valid record follows at byte"), "\(reason)")
        #expect(error.description.hasPrefix("corrupt: \(Self.segment) at byte \(offset): "))
    }

    @Test("a bit flip in the complete last record is damage, not a torn write")
    func bitFlipInLastRecord() throws {
        let (disk, _, last) = try Self.threeSaves()
        let error = try recoveryError(disk) { disk.corrupt(Self.segment, at: last.lowerBound + 700) }
        #expect(error == .corrupt(file: Self.segment, offset: last.lowerBound, reason: error.corruptReason ?? ""))
        #expect(error.corruptReason?.contains("damage, not a torn write") == true)
    }

    @Test("the last record zeroed from any byte on (a crash between two short writes) is torn: its CRC never made it")
    func zeroedMidSector() throws {
        let (disk, before, last) = try Self.threeSaves()
        let whole = disk.contents(of: Self.segment)!
        for cut in stride(from: last.lowerBound + 1, to: last.upperBound, by: 37) {
            var bytes = whole
            for position in cut..<bytes.count { bytes[position] = 0 }
            disk.replaceContents(of: Self.segment, with: bytes)
            let storage = try openStorage(disk, options: smallOptions(segmentBytes: 1 << 20, preallocate: false))
            #expect(Observed(storage) == before, "zeroed from \(cut)")
            #expect(storage.recovery.tornTail?.offset == last.lowerBound, "zeroed from \(cut)")
            storage.close()
        }
    }

    @Test("bytes after a seal record, a missing middle segment, a wrong identity: each refused by name")
    func otherDamage() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        for index in stride(from: 1 as LogIndex, through: 400, by: 4) { try storage.append(makeEntries(index...index + 3, term: 1)) }
        storage.close()
        let segments = try disk.list("/data/wal")
        #expect(segments.count >= 4)
        let first = "/data/wal/" + segments[0]
        let sealed = disk.contents(of: first)!
        let stray = try recoveryError(disk) {
            var bytes = sealed
            bytes[bytes.count - 3] = 1
            disk.replaceContents(of: first, with: bytes)
        }
        #expect(stray.corruptReason?.hasPrefix("data after the seal record") == true)
        disk.replaceContents(of: first, with: sealed)

        let third = "/data/wal/" + segments[2]
        let removed = disk.contents(of: third)!
        let missing = try recoveryError(disk) { try? disk.remove(third) }
        #expect(missing.corruptReason == "segment 3 is missing between /data/wal/\(segments[1]) and this one")
        let restored = try disk.open(third, mode: .createNew)
        try disk.writeAll(restored, removed, at: 0)

        let other = StorageIdentity(clusterID: 0xC1, nodeID: 2)
        let wrong = #expect(throws: DurableStorageError.self) { _ = try openStorage(disk, identity: other) }
        #expect(wrong == .wrongIdentity(file: first, expected: other, found: testIdentity))
        #expect(wrong?.description == "\(first) belongs to cluster 193, node 1, not to cluster 193, node 2: "
            + "refusing a data directory of another cluster or node")
        let reopened = try openStorage(disk)
        #expect(reopened.lastIndex == 400)
        reopened.close()
    }

    @Test("damage to a sealed segment's records is corruption even with nothing valid after it")
    func damageInANonLastSegment() throws {
        let disk = quietDisk()
        let storage = try openStorage(disk)
        for index in stride(from: 1 as LogIndex, through: 80, by: 4) { try storage.append(makeEntries(index...index + 3, term: 1)) }
        storage.close()
        let first = "/data/wal/" + (try disk.list("/data/wal"))[0]
        let error = try recoveryError(disk) { disk.corrupt(first, at: 300) }
        #expect(error.corruptFile == first)
    }

    private func recoveryError(_ disk: SimulatedFileSystem, damage: () throws -> Void) throws -> DurableStorageError {
        try damage()
        do {
            let storage = try openStorage(disk)
            storage.close()
        } catch let error as DurableStorageError {
            return error
        }
        Issue.record("recovery accepted the damaged WAL")
        return .closed
    }
}

extension DurableStorageError {
    var corruptReason: String? {
        if case .corrupt(_, _, let reason) = self { return reason }
        return nil
    }

    var corruptFile: String? {
        if case .corrupt(let file, _, _) = self { return file }
        return nil
    }
}
