import Synchronization

/// A file system that passes every call to `base` until it is armed (`failNextSync`): then the
/// next fdatasync or fsync fails with EIO without reaching the disk, once. It is how an operator
/// injects the disk fault Raft cares most about into a live node (ADMIN.DISK-FAULT FSYNC): a sync
/// that fails must stop the node — it is never retried, nothing after it is acknowledged.
/// Thread-safe: the arming is one atomic flag, read on every sync.
///
/// With `syncsFiles` false (`conclave node --unsafe-no-fsync`, etcd's flag of that name) a file's
/// fdatasync and fsync return at once without reaching the disk: a crash of the machine (not of
/// the process) may then lose acknowledged writes. For benchmarks that separate the software's
/// cost from the disk's, and for tests; never for data. Directory syncs still happen.
public final class SyncFaultFileSystem: FileSystem {
    private let base: any FileSystem
    private let armed = Atomic<Bool>(false)
    public let syncsFiles: Bool

    public init(base: any FileSystem = PosixFileSystem(), syncsFiles: Bool = true) {
        self.base = base
        self.syncsFiles = syncsFiles
    }

    /// The next fdatasync or fsync fails with EIO.
    public func failNextSync() { armed.store(true, ordering: .sequentiallyConsistent) }

    private func injected(_ operation: String, _ path: String) throws(FileSystemError) {
        guard armed.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged else { return }
        throw FileSystemError(operation: operation, path: path, code: 5, message: "Input/output error (injected: ADMIN.DISK-FAULT FSYNC)")
    }

    public func open(_ path: String, mode: FileOpenMode) throws(FileSystemError) -> OpenFile { try base.open(path, mode: mode) }
    public func close(_ file: OpenFile) { base.close(file) }
    public func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try base.read(file, into: buffer, at: offset)
    }
    public func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try base.write(file, bytes, at: offset)
    }
    public func size(of file: OpenFile) throws(FileSystemError) -> Int { try base.size(of: file) }
    public func fdatasync(_ file: OpenFile) throws(FileSystemError) {
        try injected("fdatasync", file.path)
        if syncsFiles { try base.fdatasync(file) }
    }
    public func fsync(_ file: OpenFile) throws(FileSystemError) {
        try injected("fsync", file.path)
        if syncsFiles { try base.fsync(file) }
    }
    public func truncate(_ file: OpenFile, to length: Int) throws(FileSystemError) { try base.truncate(file, to: length) }
    public func preallocate(_ file: OpenFile, length: Int) throws(FileSystemError) { try base.preallocate(file, length: length) }
    public func rename(_ source: String, to target: String) throws(FileSystemError) { try base.rename(source, to: target) }
    public func fsyncDirectory(_ directory: String) throws(FileSystemError) {
        try injected("fsync", directory)
        try base.fsyncDirectory(directory)
    }
    public func remove(_ path: String) throws(FileSystemError) { try base.remove(path) }
    public func list(_ directory: String) throws(FileSystemError) -> [String] { try base.list(directory) }
    public func makeDirectory(_ directory: String) throws(FileSystemError) { try base.makeDirectory(directory) }
    public func kind(of path: String) -> FileKind? { base.kind(of: path) }
    public func willRead(_ path: String) { base.willRead(path) }
}
