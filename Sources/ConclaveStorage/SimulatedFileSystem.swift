import ConclaveCore
import Synchronization

/// A file system in memory that remembers, per file, what is durable and what is only in the page
/// cache, and injects seeded faults — so a test (or the simulator) can crash the "machine" at any
/// call and see exactly what a real disk could hold afterwards.
///
/// Fault model (all decisions drawn from one seeded generator, so a seed replays a run):
/// - Short writes: `write` may write a prefix and return its length (POSIX allows it).
/// - Full disk: writes and preallocation beyond `capacityBytes` fail with ENOSPC (a write may first
///   come up short with what still fits).
/// - Failed syncs: `fdatasync`/`fsync` may fail with EIO, and then — like Linux after fsyncgate — the
///   file's unsynced writes are dropped for good: the page cache still shows them, a later sync
///   succeeds, yet they never reach the disk.
/// - Crash (`crash()` now, or `crashAfter(mutations:)` at a chosen call; every later call fails with
///   `.crashed` until `restart()`): of each file's unsynced 512-byte sectors, none, all, or a prefix
///   in file order survive (a sector is atomic; the page cache merges writes to one sector first).
///   Names created, renamed or removed since their directory's last successful `fsyncDirectory`
///   revert. Open descriptors die.
///
/// Out of the model: sectors of one unsynced range reaching the disk out of order (the WAL would
/// then stop with a corruption error rather than guess), and damage to synced sectors by later
/// writes. Latent damage is planted explicitly with `corrupt`.
public final class SimulatedFileSystem: FileSystem {
    public struct Faults: Sendable {
        public var shortWriteProbability: Double
        public var syncFailureProbability: Double
        /// Total bytes the disk holds (sum of file lengths); beyond it, ENOSPC.
        public var capacityBytes: Int
        /// At a crash, per file: the chance that no unsynced sector survives…
        public var lostWriteProbability: Double
        /// …and otherwise that only a prefix of them does (a torn write); else all survive.
        public var tornWriteProbability: Double
        public var sectorBytes: Int

        public init(shortWriteProbability: Double = 0, syncFailureProbability: Double = 0, capacityBytes: Int = .max,
                    lostWriteProbability: Double = 0.4, tornWriteProbability: Double = 0.5, sectorBytes: Int = 512) {
            precondition(sectorBytes > 0, "sectorBytes must be positive")
            self.shortWriteProbability = shortWriteProbability
            self.syncFailureProbability = syncFailureProbability
            self.capacityBytes = capacityBytes
            self.lostWriteProbability = lostWriteProbability
            self.tornWriteProbability = tornWriteProbability
            self.sectorBytes = sectorBytes
        }
    }

    private let state: Mutex<SimulatedDisk>

    public init(seed: UInt64, faults: Faults = Faults()) {
        state = Mutex(SimulatedDisk(random: SeededGenerator(seed: seed, stream: 0x5157), faults: faults))
    }

    // MARK: - Controls

    public var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    /// Mutating calls so far (create, write, sync, truncate, preallocate, rename, remove, mkdir):
    /// the "write boundaries" a crash can fall between.
    public var mutationCount: Int { state.withLock { $0.mutations } }

    /// The process dies just before mutating call number `mutationCount + mutations + 1`: that call and
    /// every later one fail with `.crashed` until `restart()`.
    public func crashAfter(mutations: Int) {
        state.withLock { $0.crashAtMutation = $0.mutations + mutations }
    }

    /// The process dies now.
    public func crash() { state.withLock { $0.crashed = true } }

    public var isCrashed: Bool { state.withLock { $0.crashed } }

    /// The machine comes back: applies the crash model (see the type's comment) and clears the crash.
    public func restart() { state.withLock { $0.restart() } }

    /// The next `count` syncs (file or directory) fail with EIO.
    public func failNextSyncs(_ count: Int = 1) { state.withLock { $0.scriptedSyncFailures += count } }

    /// What reads of `path` return now (nil if absent).
    public func contents(of path: String) -> [UInt8]? {
        state.withLock { disk in disk.names[path].map { disk.inodes[$0]!.current } }
    }

    /// What `path` would hold after a crash in which no unsynced write survived.
    public func durableContents(of path: String) -> [UInt8]? {
        state.withLock { disk in disk.durableNames[path].map { disk.inodes[$0]!.durable } }
    }

    /// Replaces `path`'s content, durably and at once, as a test's way to plant torn or corrupt data.
    public func replaceContents(of path: String, with bytes: [UInt8]) {
        state.withLock { disk in
            guard let inode = disk.names[path] else { preconditionFailure("no file \(path)") }
            disk.inodes[inode]!.current = bytes
            disk.inodes[inode]!.durable = bytes
            disk.inodes[inode]!.pending = []
        }
    }

    /// Flips bits of the byte at `offset` of `path`, durably (a latent media error).
    public func corrupt(_ path: String, at offset: Int, xor mask: UInt8 = 0x5A) {
        guard var bytes = contents(of: path) else { preconditionFailure("no file \(path)") }
        bytes[offset] ^= mask
        replaceContents(of: path, with: bytes)
    }

    // MARK: - FileSystem

    public func open(_ path: String, mode: FileOpenMode) throws(FileSystemError) -> OpenFile {
        try state.withLock { (disk) throws(FileSystemError) in
            if mode == .createNew {
                try disk.beginMutation("open", path)
                guard disk.names[path] == nil else { throw disk.error("open", path, 17, "File exists") }
                guard disk.directories.contains(parentDirectory(of: path)) else {
                    throw disk.error("open", path, 2, "No such file or directory")
                }
                disk.names[path] = disk.newInode()
            } else {
                try disk.checkAlive("open", path)
            }
            guard let inode = disk.names[path] else { throw disk.error("open", path, 2, "No such file or directory") }
            let descriptor = disk.nextDescriptor
            disk.nextDescriptor += 1
            disk.descriptors[descriptor] = inode
            return OpenFile(descriptor: descriptor, path: path)
        }
    }

    public func close(_ file: OpenFile) {
        state.withLock { disk in
            disk.descriptors[file.descriptor] = nil
            disk.collectGarbage()
        }
    }

    public func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.checkAlive("pread", file.path)
            let bytes = try disk.inode(file, "pread").current
            guard offset < bytes.count else { return 0 }
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
            }
            return count
        }
    }

    public func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation("pwrite", file.path)
            let inode = try disk.inodeNumber(file, "pwrite")
            var count = bytes.count
            if count > 1, disk.random.chance(disk.faults.shortWriteProbability) {
                count = Int.random(in: 1..<count, using: &disk.random)
            }
            let length = disk.inodes[inode]!.current.count
            let room = disk.faults.capacityBytes - disk.usedBytes
            if offset + count > length + room {
                count = max(0, length + room - offset)
                guard count > 0 else { throw disk.error("pwrite", file.path, 28, "No space left on device") }
            }
            let change = SimulatedDisk.Change.write(offset: offset, bytes: [UInt8](bytes.prefix(count)))
            disk.inodes[inode]!.current.apply(change)
            disk.inodes[inode]!.pending.append(change)
            return count
        }
    }

    public func size(of file: OpenFile) throws(FileSystemError) -> Int {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.checkAlive("fstat", file.path)
            return try disk.inode(file, "fstat").current.count
        }
    }

    public func fdatasync(_ file: OpenFile) throws(FileSystemError) { try sync(file, "fdatasync") }

    public func fsync(_ file: OpenFile) throws(FileSystemError) { try sync(file, "fsync") }

    private func sync(_ file: OpenFile, _ operation: String) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation(operation, file.path)
            let inode = try disk.inodeNumber(file, operation)
            if disk.nextSyncFails() {
                disk.inodes[inode]!.pending = []
                throw disk.error(operation, file.path, 5, "Input/output error")
            }
            for change in disk.inodes[inode]!.pending { disk.inodes[inode]!.durable.apply(change) }
            disk.inodes[inode]!.pending = []
        }
    }

    public func truncate(_ file: OpenFile, to length: Int) throws(FileSystemError) {
        try resize(file, "ftruncate", to: length, shrink: true)
    }

    public func preallocate(_ file: OpenFile, length: Int) throws(FileSystemError) {
        try resize(file, "fallocate", to: length, shrink: false)
    }

    private func resize(_ file: OpenFile, _ operation: String, to length: Int, shrink: Bool) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation(operation, file.path)
            let inode = try disk.inodeNumber(file, operation)
            let current = disk.inodes[inode]!.current.count
            guard shrink || length > current else { return }
            if length > current, length - current > disk.faults.capacityBytes - disk.usedBytes {
                throw disk.error(operation, file.path, 28, "No space left on device")
            }
            disk.inodes[inode]!.current.apply(.resize(length))
            disk.inodes[inode]!.pending.append(.resize(length))
        }
    }

    public func rename(_ source: String, to target: String) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation("rename", source)
            guard let inode = disk.names.removeValue(forKey: source) else {
                throw disk.error("rename", "\(source) -> \(target)", 2, "No such file or directory")
            }
            disk.names[target] = inode
            disk.collectGarbage()
        }
    }

    public func fsyncDirectory(_ directory: String) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation("fsync", directory)
            guard disk.directories.contains(directory) else { throw disk.error("open", directory, 2, "No such file or directory") }
            if disk.nextSyncFails() { throw disk.error("fsync", directory, 5, "Input/output error") }
            disk.durableNames = disk.durableNames.filter { parentDirectory(of: $0.key) != directory }
            for (name, inode) in disk.names where parentDirectory(of: name) == directory { disk.durableNames[name] = inode }
            disk.durableDirectories = disk.durableDirectories.filter { parentDirectory(of: $0) != directory || $0 == directory }
            for child in disk.directories where parentDirectory(of: child) == directory && child != directory {
                disk.durableDirectories.insert(child)
            }
        }
    }

    public func remove(_ path: String) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.beginMutation("unlink", path)
            guard disk.names.removeValue(forKey: path) != nil else { throw disk.error("unlink", path, 2, "No such file or directory") }
            disk.collectGarbage()
        }
    }

    public func list(_ directory: String) throws(FileSystemError) -> [String] {
        try state.withLock { (disk) throws(FileSystemError) in
            try disk.checkAlive("opendir", directory)
            guard disk.directories.contains(directory) else { throw disk.error("opendir", directory, 2, "No such file or directory") }
            let files = disk.names.keys.filter { parentDirectory(of: $0) == directory }
            let children = disk.directories.filter { parentDirectory(of: $0) == directory && $0 != directory }
            return (files + children).map { String($0.split(separator: "/").last ?? "") }.sorted()
        }
    }

    public func makeDirectory(_ directory: String) throws(FileSystemError) {
        try state.withLock { (disk) throws(FileSystemError) in
            guard !disk.directories.contains(directory) else { return try disk.checkAlive("mkdir", directory) }
            try disk.beginMutation("mkdir", directory)
            guard disk.names[directory] == nil else { throw disk.error("mkdir", directory, 17, "File exists") }
            guard disk.directories.contains(parentDirectory(of: directory)) else {
                throw disk.error("mkdir", directory, 2, "No such file or directory")
            }
            disk.directories.insert(directory)
        }
    }

    public func kind(of path: String) -> FileKind? {
        state.withLock { disk in
            disk.directories.contains(path) ? .directory : disk.names[path] == nil ? nil : .file
        }
    }
}
