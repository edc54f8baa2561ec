import ConclaveStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps two processes off one data directory: an exclusive `flock` on `DIR/LOCK`, held for the
/// life of the node and released by the kernel when the process dies (even by SIGKILL), so a
/// crashed node never leaves a stale lock behind. The file holds the owner's PID, for the error
/// the second process prints.
final class DataDirectoryLock {
    let path: String
    private var descriptor: Int32

    /// Creates the directory (and its parents) if needed and takes the lock, or says who holds it.
    init(directory: String) throws(NodeStartError) {
        do {
            try makeDirectories(directory, fileSystem: PosixFileSystem())
        } catch {
            throw NodeStartError(.io, "cannot create \(directory): \(error)")
        }
        path = directory.hasSuffix("/") ? directory + "LOCK" : directory + "/LOCK"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw NodeStartError(.io, "cannot open \(path): \(Self.errorText())")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK ? "held by another process (pid \(Self.owner(descriptor)))" : Self.errorText()
            close(descriptor)
            throw NodeStartError(.lockHeld, "data directory \(directory) is locked: \(reason); one node process per data directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock (the kernel also does when the process ends).
    func release() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    private static func owner(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "unknown" }
        return String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "unknown"
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
