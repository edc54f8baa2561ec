import ConclaveCore

/// A snapshot without its data: what a leader keeps per follower while it streams the data chunk by
/// chunk from storage (`LogStorage.snapshotChunk`), so no follower's transfer holds the whole image.
public struct SnapshotManifest: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]
    /// The length of the snapshot's data.
    public var totalBytes: Int

    public init(index: LogIndex, term: Term, voters: [NodeID], learners: [NodeID], totalBytes: Int) {
        precondition(totalBytes >= 0, "a snapshot cannot hold \(totalBytes) bytes")
        self.index = index
        self.term = term
        self.voters = voters
        self.learners = learners
        self.totalBytes = totalBytes
    }

    public init(_ snapshot: Snapshot) {
        self.init(index: snapshot.index, term: snapshot.term, voters: snapshot.voters, learners: snapshot.learners,
                  totalBytes: snapshot.data.count)
    }

    public var isEmpty: Bool { index == 0 }
}
