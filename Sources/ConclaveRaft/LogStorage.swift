import ConclaveCore

/// Why storage could not answer.
public enum StorageError: Error, Equatable, Sendable {
    /// The index is before the first entry still kept (it went into a snapshot).
    case compacted
    /// The index is past the last entry.
    case unavailable
    /// The medium failed (a read or write error, a checksum mismatch): what it says. The node
    /// stops on it and recovers from its log on restart; it is never retried or guessed around.
    case io(String)
}

extension StorageError {
    /// The entry is not there (compacted away, or not written yet), as opposed to the medium failing.
    var isAbsentEntry: Bool {
        switch self {
        case .compacted, .unavailable: return true
        case .io: return false
        }
    }
}

/// The durable log as the Raft core reads it: hard state, entries, snapshot.
///
/// This is the read side only (etcd-io/raft's `Storage`). The application writes to its storage
/// after each `Ready` — entries, hard state, snapshot — and must have done so durably before it
/// sends that Ready's messages. The in-memory implementation is `MemoryStorage`; the WAL-backed one
/// (a later issue) implements the same protocol over segment files.
public protocol LogStorage: AnyObject {
    /// The persisted hard state and the membership as of the latest snapshot (changes after it
    /// are in the log and take effect again as the log is re-applied).
    func initialState() -> (HardState, ConfState)
    /// Entries in `[low, high)`, truncated to about `maxBytes` (at least one entry if any exist).
    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry]
    /// The term of the entry at `index`; the snapshot's index answers with the snapshot's term.
    func term(at index: LogIndex) throws(StorageError) -> Term
    /// The first index still held as an entry (snapshot index + 1).
    var firstIndex: LogIndex { get }
    /// The last index held (the snapshot's index when no entry follows it).
    var lastIndex: LogIndex { get }
    /// The latest snapshot.
    func snapshot() throws(StorageError) -> Snapshot
}
