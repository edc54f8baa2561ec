import ConclaveCore

/// Storage that takes a leader's snapshot into a staging area as it arrives (DurableLogStorage: a
/// temporary snapshot file), so that a follower never holds the whole image while it arrives.
///
/// Raft, as a follower on such storage, calls `beginReceivingSnapshot` on a transfer's first chunk,
/// `receiveSnapshotChunk` for each next chunk in order, and `abandonReceivedSnapshot` when it
/// gives the transfer up. After the last chunk it hands the snapshot out in `Ready.snapshot` with
/// empty `data`: the application then calls `finishReceivedSnapshot()` (durable, not yet current;
/// the data read back, checked, to load its state machine), then `commitReceivedSnapshot()` to
/// make it current and replace the log, or `abandonReceivedSnapshot()` if it does not load.
/// Staging is not current until committed: a staged snapshot abandoned on another path is
/// replaced by the next `beginReceivingSnapshot` and removed when the storage is next opened.
/// Storage without this capability gets the data whole in `Ready.snapshot` instead.
public protocol SnapshotReceivingStorage: LogStorage {
    /// Starts staging the snapshot `manifest` describes; drops whatever was staged before.
    func beginReceivingSnapshot(_ manifest: SnapshotManifest) throws(StorageError)
    /// Appends the next chunk of the staged snapshot's data.
    func receiveSnapshotChunk(_ data: [UInt8]) throws(StorageError)
    /// Makes the staged snapshot whole and durable (not yet current) and returns it, its data read
    /// back and checked. It must have received all `totalBytes`.
    func finishReceivedSnapshot() throws(StorageError) -> Snapshot
    /// Makes the finished snapshot current: it replaces the log.
    func commitReceivedSnapshot() throws(StorageError)
    /// Drops the staged or finished-but-uncommitted snapshot, if any.
    func abandonReceivedSnapshot()
}
