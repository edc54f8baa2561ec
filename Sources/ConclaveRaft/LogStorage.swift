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
    /// The latest snapshot, its data whole. Raft asks for it only through the defaults below; a
    /// storage that keeps snapshots on disk implements those to stream instead.
    func snapshot() throws(StorageError) -> Snapshot
    /// The latest snapshot's manifest (index, term, membership, data length), without its data.
    func snapshotManifest() throws(StorageError) -> SnapshotManifest
    /// Up to `maxBytes` of the data of the snapshot at `index`, from `offset` (empty at the end).
    /// Throws `.compacted` when that snapshot is no longer held (a newer one replaced it): the
    /// leader then starts over with the latest one.
    func snapshotChunk(index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8]
}

extension LogStorage {
    /// Derived from `snapshot()`: enough for storage that holds the snapshot in memory anyway.
    public func snapshotManifest() throws(StorageError) -> SnapshotManifest { SnapshotManifest(try snapshot()) }

    /// A slice of `snapshot()`'s data (O(chunk) for storage that holds it in memory).
    public func snapshotChunk(index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8] {
        let snapshot = try snapshot()
        return try Snapshot.chunk(of: snapshot, index: index, offset: offset, maxBytes: maxBytes)
    }
}

extension Snapshot {
    /// `snapshot`'s data in `[offset, offset + maxBytes)` if it is the one at `index`.
    static func chunk(of snapshot: Snapshot, index: LogIndex, offset: Int, maxBytes: Int) throws(StorageError) -> [UInt8] {
        precondition(maxBytes > 0, "a chunk of \(maxBytes) bytes")
        guard snapshot.index == index, !snapshot.isEmpty else { throw .compacted }
        guard offset >= 0, offset <= snapshot.data.count else { throw .unavailable }
        return Array(snapshot.data[offset..<min(snapshot.data.count, offset + maxBytes)])
    }
}
