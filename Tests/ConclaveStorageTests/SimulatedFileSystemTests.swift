import Testing
@testable import ConclaveStorage

@Suite struct SimulatedFileSystemTests {
    typealias Faults = SimulatedFileSystem.Faults

    private func file(_ disk: SimulatedFileSystem, _ path: String = "/f") throws -> OpenFile {
        let file = try disk.open(path, mode: .createNew)
        try disk.fsyncDirectory("/")
        return file
    }

    @Test("synced bytes survive a crash; bytes written after the last sync do not")
    func unsyncedDataIsLost() throws {
        let disk = SimulatedFileSystem(seed: 1, faults: Faults(lostWriteProbability: 1))
        let handle = try file(disk)
        try disk.writeAll(handle, [1, 2, 3], at: 0)
        try disk.fdatasync(handle)
        try disk.writeAll(handle, [4, 5], at: 3)
        #expect(disk.contents(of: "/f") == [1, 2, 3, 4, 5])
        disk.restart()
        #expect(disk.contents(of: "/f") == [1, 2, 3])
        #expect(throws: FileSystemError.self) { try disk.fdatasync(handle) }
    }

    @Test("a name is durable only once its directory is fsync'ed")
    func directoryEntriesNeedADirectorySync() throws {
        let disk = SimulatedFileSystem(seed: 1)
        let created = try disk.open("/a", mode: .createNew)
        try disk.writeAll(created, [7], at: 0)
        try disk.fsync(created)
        let synced = try file(disk, "/b")
        disk.close(synced)
        try disk.rename("/b", to: "/c")
        disk.restart()
        #expect(disk.kind(of: "/a") == .file)
        #expect(disk.kind(of: "/b") == .file)
        #expect(disk.kind(of: "/c") == nil)

        let orphan = try disk.open("/d", mode: .createNew)
        try disk.fsync(orphan)
        disk.restart()
        #expect(disk.kind(of: "/d") == nil)
    }

    @Test("after a failed fsync the data never reaches the disk, though a later fsync succeeds (fsyncgate)")
    func failedSyncDropsData() throws {
        let disk = SimulatedFileSystem(seed: 1, faults: Faults(lostWriteProbability: 0, tornWriteProbability: 0))
        let handle = try file(disk)
        try disk.writeAll(handle, [1, 2], at: 0)
        disk.failNextSyncs()
        #expect(throws: FileSystemError.self) { try disk.fdatasync(handle) }
        try disk.fdatasync(handle)
        #expect(disk.contents(of: "/f") == [1, 2])
        disk.restart()
        #expect(disk.contents(of: "/f") == [])
    }

    @Test("short writes are legal; writeAll loops over them")
    func shortWrites() throws {
        let disk = SimulatedFileSystem(seed: 3, faults: Faults(shortWriteProbability: 1))
        let handle = try file(disk)
        let bytes = (0..<100).map { UInt8($0) }
        let written = try bytes.withUnsafeBytes { try disk.write(handle, $0, at: 0) }
        #expect(written < 100 && written > 0)
        try disk.writeAll(handle, bytes, at: 0)
        #expect(disk.contents(of: "/f") == bytes)
    }

    @Test("a full disk: a write comes up short with what fits, then ENOSPC; preallocation past it fails")
    func fullDisk() throws {
        let disk = SimulatedFileSystem(seed: 1, faults: Faults(capacityBytes: 10))
        let handle = try file(disk)
        let written = try [UInt8](repeating: 1, count: 16).withUnsafeBytes { try disk.write(handle, $0, at: 0) }
        #expect(written == 10)
        let error = #expect(throws: FileSystemError.self) { try disk.writeAll(handle, [2], at: 10) }
        #expect(error?.kind == .noSpace)
        #expect((try? disk.preallocate(handle, length: 64)) == nil)
        try disk.writeAll(handle, [3], at: 0)
    }

    @Test("a torn write keeps a prefix of the unsynced sectors, in file order")
    func tornWrites() throws {
        for seed in 0..<20 as Range<UInt64> {
            let disk = SimulatedFileSystem(seed: seed, faults: Faults(lostWriteProbability: 0, tornWriteProbability: 1, sectorBytes: 512))
            let handle = try file(disk)
            try disk.fdatasync(handle)
            try disk.writeAll(handle, [UInt8](repeating: 9, count: 2_000), at: 100)
            disk.restart()
            let length = disk.contents(of: "/f")!.count
            #expect(length % 512 == 0 && length < 2_100, "seed \(seed): \(length)")
            #expect(disk.contents(of: "/f")!.dropFirst(100).allSatisfy { $0 == 9 })
        }
    }

    @Test("a crash at a chosen call: that call and every later one fail until restart")
    func crashAtAChosenCall() throws {
        let disk = SimulatedFileSystem(seed: 1)
        let handle = try file(disk)
        disk.crashAfter(mutations: 1)
        try disk.writeAll(handle, [1], at: 0)
        let error = #expect(throws: FileSystemError.self) { try disk.fdatasync(handle) }
        #expect(error?.kind == .crashed)
        #expect(throws: FileSystemError.self) { _ = try disk.list("/") }
        disk.restart()
        #expect(try disk.list("/") == ["f"])
    }
}
