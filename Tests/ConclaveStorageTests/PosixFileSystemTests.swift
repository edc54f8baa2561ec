import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

/// The same storage on the real file system, in a fresh temporary directory each test removes.
@Suite struct PosixFileSystemTests {
    @Test("a data directory on disk: rollover with preallocation, snapshot, restart, torn tail truncated")
    func realDisk() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.path + "/node/data"
        let fileSystem = PosixFileSystem()
        let storage = try openStorage(fileSystem, directory: directory)
        for first in stride(from: 1 as LogIndex, through: 200, by: 4) {
            try storage.save(hardState: HardState(term: 1, vote: 1, commit: first - 1), entries: makeEntries(first...first + 3, term: 1))
        }
        try storage.createSnapshot(index: 150, voters: [1, 2, 3], learners: [], data: Array(repeating: 7, count: 1_000))
        try storage.compact(through: 150)
        let expected = Observed(storage)
        storage.close()
        let segments = try fileSystem.list(directory + "/wal")
        #expect(segments.count >= 2)
        #expect(try fileSystem.list(directory + "/snap") == ["0000000000000001-0000000000000096.snap"])

        // A torn write on the last segment: the first 20 bytes of a record after the last one.
        let last = directory + "/wal/" + segments.last!
        var buffer: [UInt8] = []
        let (_, end) = try SegmentFile.read(last, sequence: SegmentFile.sequence(fromName: segments.last!)!, isLast: true, expected: testIdentity,
                                            fileSystem: fileSystem, options: smallOptions(), buffer: &buffer) { _, _ in }
        let file = try fileSystem.open(last, mode: .readWrite)
        try fileSystem.writeAll(file, Array(buffer[FileHeader.bytes..<FileHeader.bytes + 20]), at: end.dataEnd)
        fileSystem.close(file)

        let recovered = try openStorage(fileSystem, directory: directory)
        defer { recovered.close() }
        #expect(Observed(recovered) == expected)
        #expect(recovered.recovery.tornTail?.offset == end.dataEnd)
        #expect(try recovered.snapshot().data == Array(repeating: 7, count: 1_000))
    }

    @Test("errors name the call, the path and errno")
    func errors() throws {
        let fileSystem = PosixFileSystem()
        let error = #expect(throws: FileSystemError.self) { _ = try fileSystem.open("/nonexistent/conclave/x", mode: .readOnly) }
        #expect(error?.kind == .notFound)
        #expect(error?.description == "open /nonexistent/conclave/x: No such file or directory (errno 2)")
    }
}
