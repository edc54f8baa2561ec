/// The file-system seam: everything the WAL and the snapshot store do to a disk, and nothing more.
///
/// Two implementations: `PosixFileSystem` (the real calls, every return value checked) and
/// `SimulatedFileSystem` (in memory, seeded faults: short writes, unsynced data lost at a crash, torn
/// last writes, failed fsyncs, a full disk), so the same storage code runs on a real disk and in
/// tests and the simulator (TigerBeetle injects storage faults the same way).
///
/// Durability contract, as POSIX gives it and as the simulator enforces it: written bytes survive a
/// crash only after `fdatasync`/`fsync` on that file succeeded; a created, renamed or removed name
/// survives only after `fsyncDirectory` on its parent succeeded. A failed sync may have dropped the
/// dirty data for good (fsyncgate): callers never retry one.
///
/// Implementations are thread-safe: the WAL writer thread and a reader of snapshot files may use
/// one at the same time (on different files).
public protocol FileSystem: AnyObject, Sendable {
    /// Opens `path`. `.createNew` fails with `.alreadyExists` if the name is taken.
    func open(_ path: String, mode: FileOpenMode) throws(FileSystemError) -> OpenFile
    /// Closes `file`. Close errors are not reported: durability comes from a successful sync before.
    func close(_ file: OpenFile)
    /// Reads up to `buffer.count` bytes at `offset`; returns how many (0 at the end of the file).
    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int
    /// Writes up to `bytes.count` bytes at `offset`; returns how many (a short write is legal).
    func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int
    /// The file's length in bytes.
    func size(of file: OpenFile) throws(FileSystemError) -> Int
    /// Makes the file's written data durable (and the metadata needed to read it back).
    func fdatasync(_ file: OpenFile) throws(FileSystemError)
    /// Makes the file's data and all its metadata durable.
    func fsync(_ file: OpenFile) throws(FileSystemError)
    /// Sets the file's length (shortens it, or extends it with zeros).
    func truncate(_ file: OpenFile, to length: Int) throws(FileSystemError)
    /// Reserves space so the file is at least `length` bytes (zeros), failing with `.noSpace` if
    /// the disk cannot hold it. Where the file system cannot preallocate, does nothing.
    func preallocate(_ file: OpenFile, length: Int) throws(FileSystemError)
    /// Renames `source` to `target` atomically, replacing `target`.
    func rename(_ source: String, to target: String) throws(FileSystemError)
    /// Makes the names in `directory` (creations, renames, removals) durable.
    func fsyncDirectory(_ directory: String) throws(FileSystemError)
    /// Removes the file `path`.
    func remove(_ path: String) throws(FileSystemError)
    /// The names in `directory` (not `.` or `..`), sorted.
    func list(_ directory: String) throws(FileSystemError) -> [String]
    /// Creates `directory` (its parent must exist); succeeds if it already is a directory.
    func makeDirectory(_ directory: String) throws(FileSystemError)
    /// Whether `path` names a directory, a file, or nothing.
    func kind(of path: String) -> FileKind?
    /// A hint that the whole of `path` is about to be read in order: the file system may start
    /// reading it ahead in the background. Never fails and changes nothing a read returns.
    func willRead(_ path: String)
}

extension FileSystem {
    public func willRead(_ path: String) {}
}

/// How a file is opened.
public enum FileOpenMode: Sendable {
    case readOnly
    case readWrite
    /// Create a file that must not exist yet, for reading and writing.
    case createNew
}

/// What a path names.
public enum FileKind: Sendable, Equatable {
    case file
    case directory
}

/// An open file: the descriptor and the path it was opened by (every error names the path).
public struct OpenFile: Hashable, Sendable {
    public let descriptor: Int32
    public let path: String

    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }
}

/// A failed file-system call: which call, on which path, and the errno it returned.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// ENOSPC (or EDQUOT): the disk is full.
        case noSpace
        /// ENOENT.
        case notFound
        /// EEXIST.
        case alreadyExists
        /// The simulated process died before this call (SimulatedFileSystem only).
        case crashed
        /// Anything else, EIO included.
        case other
    }

    public let operation: String
    public let path: String
    public let code: Int32
    public let message: String

    public init(operation: String, path: String, code: Int32, message: String) {
        self.operation = operation
        self.path = path
        self.code = code
        self.message = message
    }

    public var kind: Kind {
        switch code {
        case 28, 122: return .noSpace
        case 2: return .notFound
        case 17: return .alreadyExists
        case FileSystemError.crashedCode: return .crashed
        default: return .other
        }
    }

    /// The code the simulator reports for calls after a simulated crash (no real errno uses it).
    public static let crashedCode: Int32 = -1

    public var description: String { "\(operation) \(path): \(message) (errno \(code))" }
}

extension FileSystem {
    /// Writes all of `bytes` at `offset`, looping over short writes.
    public func writeAll(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        var written = 0
        while written < bytes.count {
            let count = try write(file, UnsafeRawBufferPointer(rebasing: bytes[written...]), at: offset + written)
            guard count > 0 else {
                throw FileSystemError(operation: "write", path: file.path, code: 5, message: "wrote 0 bytes")
            }
            written += count
        }
    }

    public func writeAll(_ file: OpenFile, _ bytes: [UInt8], at offset: Int) throws(FileSystemError) {
        try bytes.withBytes { (buffer) throws(FileSystemError) in try writeAll(file, buffer, at: offset) }
    }

    /// Reads `count` bytes at `offset`, or fewer if the file ends first.
    public func read(_ file: OpenFile, count: Int, at offset: Int) throws(FileSystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        try bytes.withMutableBytes { (buffer) throws(FileSystemError) in
            while filled < count {
                let got = try read(file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: offset + filled)
                if got == 0 { break }
                filled += got
            }
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// The whole file `path`.
    public func readFile(_ path: String) throws(FileSystemError) -> [UInt8] {
        let file = try open(path, mode: .readOnly)
        defer { close(file) }
        return try read(file, count: try size(of: file), at: 0)
    }
}

/// `directory/name`.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

/// The directory part of `path` ("." when there is none).
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
