/// Limits and knobs of the WAL and snapshot files. Every size has a maximum (STYLE: a limit on
/// everything), and the reader enforces the same limits before it allocates.
public struct WALOptions: Sendable, Equatable {
    /// A segment is cut once the next record would take it past this size.
    public var segmentBytes: Int
    /// The largest record payload written or accepted on read. A batch of entries larger than this
    /// is split over several records; a single entry larger than it is refused.
    public var recordBytesMax: Int
    /// Reserve each segment's full size when it is created (fallocate), so that fdatasync does not
    /// also have to persist a growing file length, and a full disk shows up when a segment is cut
    /// rather than in the middle of a record.
    public var preallocate: Bool
    /// Records and operations queued for the writer thread at most; submitters block beyond it.
    public var queuedJobsMax: Int
    /// Snapshot data is written and read in chunks of this size.
    public var snapshotChunkBytes: Int
    /// Snapshot files kept: the newest this many (the one the WAL points at among them).
    public var snapshotsRetained: Int

    public init(segmentBytes: Int = 64 << 20, recordBytesMax: Int = 16 << 20, preallocate: Bool = true,
                queuedJobsMax: Int = 4_096, snapshotChunkBytes: Int = 1 << 20, snapshotsRetained: Int = 2) {
        precondition(segmentBytes >= 4_096 && segmentBytes <= 1 << 34, "segmentBytes must be in 4 KiB…16 GiB")
        precondition(recordBytesMax >= 1_024 && recordBytesMax <= Int(UInt32.max), "recordBytesMax must be in 1 KiB…4 GiB")
        precondition(queuedJobsMax >= 1 && snapshotChunkBytes >= 1 && snapshotChunkBytes <= recordBytesMax,
                     "queuedJobsMax must be ≥ 1 and snapshotChunkBytes in 1…recordBytesMax")
        precondition(snapshotsRetained >= 1, "snapshotsRetained must be ≥ 1")
        self.segmentBytes = segmentBytes
        self.recordBytesMax = recordBytesMax
        self.preallocate = preallocate
        self.queuedJobsMax = queuedJobsMax
        self.snapshotChunkBytes = snapshotChunkBytes
        self.snapshotsRetained = snapshotsRetained
    }
}
