import Glibc

/// The real file system through POSIX calls: open/pread/pwrite/fdatasync/fsync/rename/ftruncate/
/// fallocate/unlink. Every return value is checked; EINTR is retried (except on close, where Linux
/// has already released the descriptor); every other failure is a `FileSystemError` naming the call,
/// the path and errno. Stateless, so thread-safe.
public final class PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, mode: FileOpenMode) throws(FileSystemError) -> OpenFile {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY | O_CLOEXEC
        case .readWrite: flags = O_RDWR | O_CLOEXEC
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC
        }
        let descriptor = try retrying("open", path) { Glibc.open(path, flags, 0o644) }
        return OpenFile(descriptor: descriptor, path: path)
    }

    public func close(_ file: OpenFile) {
        _ = Glibc.close(file.descriptor)
    }

    public func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try retrying("pread", file.path) { pread(file.descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    public func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try retrying("pwrite", file.path) { pwrite(file.descriptor, bytes.baseAddress, bytes.count, off_t(offset)) }
    }

    public func size(of file: OpenFile) throws(FileSystemError) -> Int {
        var status = stat()
        _ = try retrying("fstat", file.path) { fstat(file.descriptor, &status) }
        return Int(status.st_size)
    }

    public func fdatasync(_ file: OpenFile) throws(FileSystemError) {
        // Never retried on failure, EINTR included: after a failed sync the kernel may have marked the
        // dirty pages clean, and a second call would report success for data that is not on disk.
        guard Glibc.fdatasync(file.descriptor) == 0 else { throw failure("fdatasync", file.path) }
    }

    public func fsync(_ file: OpenFile) throws(FileSystemError) {
        guard Glibc.fsync(file.descriptor) == 0 else { throw failure("fsync", file.path) }
    }

    public func truncate(_ file: OpenFile, to length: Int) throws(FileSystemError) {
        _ = try retrying("ftruncate", file.path) { ftruncate(file.descriptor, off_t(length)) }
    }

    public func preallocate(_ file: OpenFile, length: Int) throws(FileSystemError) {
        // posix_fallocate returns the error instead of setting errno; where the file system cannot
        // reserve space natively it writes zeros, which still reserves it.
        var code: Int32
        repeat { code = posix_fallocate(file.descriptor, 0, off_t(length)) } while code == EINTR
        switch code {
        case 0, EOPNOTSUPP, ENOSYS: return
        default: throw FileSystemError(operation: "fallocate", path: file.path, code: code, message: Self.message(code))
        }
    }

    public func rename(_ source: String, to target: String) throws(FileSystemError) {
        _ = try retrying("rename", "\(source) -> \(target)") { Glibc.rename(source, target) }
    }

    public func fsyncDirectory(_ directory: String) throws(FileSystemError) {
        let descriptor = try retrying("open", directory) { Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = Glibc.close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else { throw failure("fsync", directory) }
    }

    public func remove(_ path: String) throws(FileSystemError) {
        _ = try retrying("unlink", path) { unlink(path) }
    }

    public func list(_ directory: String) throws(FileSystemError) -> [String] {
        guard let handle = opendir(directory) else { throw failure("opendir", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 { throw failure("readdir", directory) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func makeDirectory(_ directory: String) throws(FileSystemError) {
        guard mkdir(directory, 0o755) != 0 else { return }
        let code = errno
        if code == EEXIST, kind(of: directory) == .directory { return }
        throw FileSystemError(operation: "mkdir", path: directory, code: code, message: Self.message(code))
    }

    public func kind(of path: String) -> FileKind? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (status.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    /// Starts the kernel reading `path` into the page cache in the background (recovery reads the
    /// next segment this way while it checks the current one, so a cold replay waits less on the disk).
    public func willRead(_ path: String) {
        guard let file = try? open(path, mode: .readOnly) else { return }
        defer { close(file) }
        _ = posix_fadvise(file.descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        _ = posix_fadvise(file.descriptor, 0, 0, Int32(POSIX_FADV_WILLNEED))
    }

    /// Asks the kernel to drop `path`'s clean pages from the page cache, so that the next read
    /// comes from the device (benchmarks measure cold replay this way; no privileges needed).
    public func evictFromCache(_ path: String) throws(FileSystemError) {
        let file = try open(path, mode: .readOnly)
        defer { close(file) }
        let code = posix_fadvise(file.descriptor, 0, 0, Int32(POSIX_FADV_DONTNEED))
        guard code == 0 else {
            throw FileSystemError(operation: "posix_fadvise", path: path, code: code, message: Self.message(code))
        }
    }

    // MARK: - Errors

    private func retrying<Result: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> Result) throws(FileSystemError) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw failure(operation, path)
        }
    }

    private func failure(_ operation: String, _ path: String) -> FileSystemError {
        let code = errno
        return FileSystemError(operation: operation, path: path, code: code, message: Self.message(code))
    }

    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
