import ConclaveCore
import ConclaveRaft

/// What `conclave wal inspect` reports about a data directory: segments, records, terms, index
/// ranges, hard state, snapshots — and the first problem, with its file and byte offset.
public struct WALInspection: Codable, Sendable, Equatable {
    public struct HardStateSummary: Codable, Sendable, Equatable {
        public var term: UInt64
        public var vote: UInt64
        public var commit: UInt64
    }

    public struct SnapshotSummary: Codable, Sendable, Equatable {
        public var index: UInt64
        public var term: UInt64
        public var voters: [UInt64]
        public var learners: [UInt64]
        public var replacesLog: Bool
    }

    public struct Segment: Codable, Sendable, Equatable {
        public var file: String
        public var sequence: UInt64
        public var clusterID: UInt64?
        public var nodeID: UInt64?
        /// The log's last index when the segment began.
        public var previousLastIndex: UInt64?
        public var fileBytes: Int
        /// Where the last good record ends.
        public var dataBytes: Int
        public var records: Int
        public var entries: Int
        public var firstIndex: UInt64?
        public var lastIndex: UInt64?
        /// The distinct terms of its entries, in order.
        public var terms: [UInt64]
        public var hardStates: Int
        public var snapshotMarkers: Int
        /// "sealed", "open", "torn at byte N: …" or "corrupt at byte N".
        public var end: String
    }

    public struct Record: Codable, Sendable, Equatable {
        public var file: String
        public var offset: Int
        public var type: String
        public var payloadBytes: Int
        public var firstIndex: UInt64?
        public var lastIndex: UInt64?
        public var terms: [UInt64]?
        public var hardState: HardStateSummary?
        public var snapshot: SnapshotSummary?
        public var nextSequence: UInt64?
    }

    public struct SnapshotFile: Codable, Sendable, Equatable {
        public var file: String
        public var index: UInt64
        public var term: UInt64
        public var fileBytes: Int
        public var voters: [UInt64]?
        public var learners: [UInt64]?
        /// Known once every chunk was read and checked (`--verify`).
        public var dataBytes: Int?
        public var verified: Bool
        /// The one the WAL's latest snapshot marker points at.
        public var current: Bool
    }

    /// The first thing found wrong. `offset` is nil when no single byte is to blame.
    public struct Problem: Codable, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var offset: Int?
        public var reason: String

        public var description: String {
            offset.map { "\(file) at byte \($0): \(reason)" } ?? "\(file): \(reason)"
        }
    }

    public var directory: String
    public var clusterID: UInt64?
    public var nodeID: UInt64?
    public var segments: [Segment] = []
    /// Every record, when asked for.
    public var records: [Record]?
    public var hardState: HardStateSummary?
    public var snapshot: SnapshotSummary?
    /// The log as a restart would see it (after the snapshot).
    public var firstIndex: UInt64?
    public var lastIndex: UInt64?
    public var snapshots: [SnapshotFile] = []
    public var tornTail: Problem?
    public var problem: Problem?
    /// True when every CRC was checked, snapshot data included (`--verify`).
    public var verified: Bool = false
}

extension WALInspection.HardStateSummary {
    init(_ state: HardState) { self.init(term: state.term, vote: state.vote, commit: state.commit) }
}

extension WALInspection.SnapshotSummary {
    init(_ marker: SnapshotMarker) {
        self.init(index: marker.index, term: marker.term, voters: marker.voters, learners: marker.learners, replacesLog: marker.replacesLog)
    }
}
