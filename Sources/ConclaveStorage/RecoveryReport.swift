import ConclaveCore
import ConclaveRaft

/// What opening a data directory found and did: for the node's log (one line per fact) and for
/// tests. A torn tail that was truncated is always reported here.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    public var directory: String
    /// True when the directory held no WAL and a new one was started.
    public var bootstrapped: Bool
    public var segments: [String]
    public var records: Int
    public var bytesReplayed: Int
    public var hardState: HardState
    public var snapshotIndex: LogIndex
    public var snapshotTerm: Term
    public var firstIndex: LogIndex
    public var lastIndex: LogIndex
    public var tornTail: TornTail?
    /// Temporary files of unfinished writes and orphaned snapshot files, removed.
    public var removedFiles: [String]

    init(opening: WriteAheadLog.Opening, memory: MemoryStorage, directory: String, removedFiles: [String]) {
        self.directory = directory
        bootstrapped = opening.bootstrapped
        segments = opening.segments
        records = opening.state.records
        bytesReplayed = opening.bytesReplayed
        hardState = opening.state.hardState
        snapshotIndex = opening.state.snapshot.index
        snapshotTerm = opening.state.snapshot.term
        firstIndex = memory.firstIndex
        lastIndex = memory.lastIndex
        tornTail = opening.tornTail
        self.removedFiles = removedFiles
    }

    /// One line per fact, for the log.
    public var lines: [String] {
        var lines: [String] = []
        if bootstrapped {
            lines.append("new data directory \(directory): WAL started")
        } else {
            lines.append("recovered \(directory): \(records) records, \(bytesReplayed) bytes in \(segments.count) segment(s); "
                + "entries \(firstIndex)…\(lastIndex), snapshot at \(snapshotIndex) (term \(snapshotTerm)), "
                + "term \(hardState.term), vote \(hardState.vote), commit \(hardState.commit)")
        }
        if let tornTail { lines.append(tornTail.description) }
        for file in removedFiles { lines.append("removed leftover \(file)") }
        return lines
    }

    public var description: String { lines.joined(separator: "\n") }
}
