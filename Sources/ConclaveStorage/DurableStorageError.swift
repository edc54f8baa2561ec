/// Why durable storage refused or stopped. Every case says what an operator needs: the file, the
/// byte offset, the call that failed.
public indirect enum DurableStorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A record or header is damaged in a way a torn write cannot explain (a bad record with valid
    /// ones after it, damage in a segment that is not the last, a malformed payload). Never skipped:
    /// the node stops.
    case corrupt(file: String, offset: Int, reason: String)
    /// The WAL's records contradict each other (entries missing between segments, a commit index past
    /// the log): files are missing or were mixed from elsewhere.
    case inconsistent(directory: String, reason: String)
    /// The directory belongs to another cluster or node.
    case wrongIdentity(file: String, expected: StorageIdentity, found: StorageIdentity)
    /// A file-system call failed.
    case io(FileSystemError)
    /// The disk is full. Writes stop; what was already durable stays intact, and no partial record
    /// is left (a failed append is cut back off the file, or truncated as a torn tail on restart).
    case noSpace(FileSystemError)
    /// fsync or fdatasync failed. Fatal and never retried: the kernel may have dropped the unsynced
    /// pages, so a retry could "succeed" with the data gone. Restart and recover from the log.
    case syncFailed(FileSystemError)
    /// The WAL stopped after the fatal error it carries; it accepts no more writes.
    case stopped(DurableStorageError)
    /// The WAL was closed.
    case closed
    /// One record would exceed the configured limit (nothing was written).
    case recordTooLarge(bytes: Int, limit: Int)
    /// A snapshot the caller asked for is not the one stored, or is older than the current one.
    case snapshotMismatch(String)

    /// The file-system error behind `error`, as the right case.
    static func from(_ error: FileSystemError) -> DurableStorageError {
        error.kind == .noSpace ? .noSpace(error) : .io(error)
    }

    public var description: String {
        switch self {
        case .corrupt(let file, let offset, let reason):
            return "corrupt: \(file) at byte \(offset): \(reason)"
        case .inconsistent(let directory, let reason):
            return "inconsistent WAL in \(directory): \(reason)"
        case .wrongIdentity(let file, let expected, let found):
            return "\(file) belongs to \(found), not to \(expected): refusing a data directory of another cluster or node"
        case .io(let error):
            return "I/O error: \(error)"
        case .noSpace(let error):
            return "disk full: \(error); writes stopped, no partial record kept"
        case .syncFailed(let error):
            return "sync failed: \(error); the WAL is stopped (a failed fsync is never retried: the kernel may have "
                + "dropped the unsynced data); restart to recover from the log"
        case .stopped(let cause):
            return "the WAL is stopped after an earlier error: \(cause)"
        case .closed:
            return "the WAL is closed"
        case .recordTooLarge(let bytes, let limit):
            return "a record of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .snapshotMismatch(let reason):
            return "snapshot refused: \(reason)"
        }
    }
}
