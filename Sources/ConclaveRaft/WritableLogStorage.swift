import ConclaveCore

/// The write side of a node's durable log: what a node does to its storage after each `Ready`,
/// on top of the read side Raft uses (`LogStorage`). Both worlds write through it: `MemoryStorage`
/// in the simulator, the WAL-backed storage in the daemon.
///
/// Contract (the node calls these from one thread, in this order within a Ready):
/// - `applySnapshot` for a snapshot received from the leader (it replaces the whole log), then
///   `append` for the Ready's entries, then `setHardState`; every one is durable when it returns,
///   because the Ready's messages go out right after (a vote or an acknowledgement is a promise);
/// - `createSnapshot` / `compact` when the node snapshots its own state machine.
///
/// A write that throws leaves the node unable to vouch for its disk: the node stops and recovers
/// from what is durable when it restarts. Nothing is retried (a failed fsync may have dropped the
/// data it was asked to sync). The requirements throw `any Error` so that an implementation can
/// throw its own typed error and still conform without an adapter.
public protocol WritableLogStorage: LogStorage {
    /// Persists `entries` (consecutive indexes), replacing any conflicting suffix of the log.
    func append(_ entries: [Entry]) throws
    /// Persists the hard state (term, vote, commit).
    func setHardState(_ state: HardState) throws
    /// Persists a Ready's entries, then its hard state, as one write: a storage that syncs (the
    /// WAL) covers both with one sync. The default calls `append` and `setHardState`.
    func save(hardState: HardState?, entries: [Entry]) throws
    /// Replaces the whole log with `snapshot` (a follower installing its leader's snapshot).
    func applySnapshot(_ snapshot: Snapshot) throws
    /// Records a snapshot of the node's own state machine at `index` (applied, hence in the log);
    /// entries stay until `compact`. A snapshot at or below the current one is ignored.
    func createSnapshot(index: LogIndex, voters: [NodeID], learners: [NodeID], data: [UInt8]) throws
    /// Drops the entries through `index`, which the current snapshot must cover.
    func compact(through index: LogIndex) throws
}

extension WritableLogStorage {
    public func save(hardState: HardState?, entries: [Entry]) throws {
        if !entries.isEmpty { try append(entries) }
        if let hardState { try setHardState(hardState) }
    }
}

extension MemoryStorage: WritableLogStorage {}

/// A storage that writes in the background (the WAL's writer thread), so the node keeps stepping
/// while the disk syncs (`RaftConfig.asyncStorageWrites`).
///
/// Contract: `onDurable` is called exactly once per save, on any thread, in the order the saves
/// were made: with nil once the entries (replacing any conflicting suffix) and the hard state are
/// durable and visible to reads, or with the error — after which the storage accepts nothing more
/// and the node stops. Snapshots (`applySnapshot`, `createSnapshot`, `compact`) stay synchronous,
/// and are ordered after every save made before them.
public protocol AsyncWritableLogStorage: WritableLogStorage {
    func save(hardState: HardState?, entries: [Entry], onDurable: @escaping @Sendable ((any Error)?) -> Void)
    /// Records a hard state whose term and vote are those of the last one saved — only the commit
    /// index moved — without syncing for it (etcd-io/raft's `MustSync` is false for it): it is
    /// ordered with the saves and becomes durable with the next one. Losing it to a crash costs
    /// nothing a node needs: the commit index is relearned from the leader, and nothing was
    /// promised on it. `onWritten` reports the write (with an error, the node stops).
    func saveCommit(_ hardState: HardState, onWritten: @escaping @Sendable ((any Error)?) -> Void)
}
