import ConclaveCluster
import ConclaveCore
import ConclaveRaft
import ConclaveStorage

/// The daemon's WAL storage takes the node's own snapshots in two halves: the file is encoded,
/// written and synced on a background queue, then made current on the event loop.
extension DurableLogStorage: BackgroundSnapshotStorage {
    public func snapshotTerm(at index: LogIndex) throws -> Term { try term(at: index) }

    public func writeSnapshotFile(_ job: SnapshotJob, data: [UInt8]) throws {
        let writer = try beginSnapshot(SnapshotMetadata(index: job.index, term: job.term, voters: job.voters, learners: job.learners))
        do {
            try writer.write(data)
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }

    public func commitSnapshotFile(_ job: SnapshotJob) throws -> Bool {
        try commitWrittenSnapshot(SnapshotMetadata(index: job.index, term: job.term, voters: job.voters, learners: job.learners))
    }
}
