import ConclaveCore
import ConclaveRaft

/// Reads a data directory without changing it (etcd-dump-logs' habit): every segment through the
/// same scanner recovery uses, the replay through the same rules, the snapshot files' headers — and
/// with `verify`, every snapshot chunk's CRC too. Stops at the first problem and names its file and
/// byte offset; a torn tail is reported (recovery would truncate it), not counted as a problem.
public enum WALInspector {
    /// Inspects `directory`: a data directory holding `wal/` and `snap/`, or a WAL directory itself.
    /// Throws only when the directory cannot be read at all.
    public static func inspect(_ directory: String, fileSystem: any FileSystem = PosixFileSystem(), verify: Bool,
                               listRecords: Bool) throws(DurableStorageError) -> WALInspection {
        let nested = joinPath(directory, "wal")
        let walDirectory = fileSystem.kind(of: nested) == .directory ? nested : directory
        guard fileSystem.kind(of: walDirectory) == .directory else {
            throw .io(FileSystemError(operation: "opendir", path: directory, code: 2, message: "No such directory"))
        }
        var inspection = WALInspection(directory: directory)
        inspection.records = listRecords ? [] : nil
        var replay = ReplayState()
        inspectSegments(in: walDirectory, fileSystem: fileSystem, into: &inspection, replay: &replay)
        if inspection.problem == nil, !inspection.segments.isEmpty {
            do throws(DecodeError) { try replay.validate() } catch {
                inspection.problem = .init(file: walDirectory, offset: nil, reason: error.reason)
            }
        }
        if !inspection.segments.isEmpty {
            inspection.hardState = .init(replay.hardState)
            inspection.snapshot = .init(replay.snapshot)
            inspection.firstIndex = replay.snapshot.index + 1
            inspection.lastIndex = replay.lastIndex
        }
        let snapshotDirectory = walDirectory == nested ? joinPath(directory, "snap") : nil
        if let snapshotDirectory, fileSystem.kind(of: snapshotDirectory) == .directory {
            inspectSnapshots(in: snapshotDirectory, marker: replay.snapshot, fileSystem: fileSystem, verify: verify, into: &inspection)
        }
        inspection.verified = verify && inspection.problem == nil
        return inspection
    }

    /// Options generous enough to read what any configuration wrote: the whole file is in memory
    /// anyway, so the record limit only has to stop absurd lengths.
    private static let readOptions = WALOptions(recordBytesMax: Int(UInt32.max))

    private static func inspectSegments(in walDirectory: String, fileSystem: any FileSystem, into inspection: inout WALInspection,
                                        replay: inout ReplayState) {
        let found: [(sequence: UInt64, path: String)]
        do throws(DurableStorageError) {
            found = try SegmentFile.list(in: walDirectory, fileSystem: fileSystem)
        } catch {
            inspection.problem = problem(error, directory: walDirectory)
            return
        }
        var buffer: [UInt8] = []
        var expected: StorageIdentity?
        for (position, segment) in found.enumerated() {
            var summary = WALInspection.Segment(file: segment.path, sequence: segment.sequence, fileBytes: 0, dataBytes: 0, records: 0,
                                                entries: 0, terms: [], hardStates: 0, snapshotMarkers: 0, end: "corrupt")
            var records = inspection.records
            do throws(DurableStorageError) {
                let (header, end) = try SegmentFile.read(
                    segment.path, sequence: segment.sequence, isLast: position == found.count - 1, expected: expected,
                    fileSystem: fileSystem, options: readOptions, buffer: &buffer
                ) { (offset, record) throws(DecodeError) in
                    summary.count(record)
                    records?.append(.init(record, file: segment.path, offset: offset))
                    try replay.apply(record)
                }
                expected = expected ?? header.identity
                summary.clusterID = header.identity.clusterID
                summary.nodeID = header.identity.nodeID
                summary.previousLastIndex = header.second
                summary.dataBytes = end.dataEnd
                summary.end = describe(end, inspection: &inspection, file: segment.path)
            } catch {
                inspection.problem = problem(error, directory: walDirectory)
                summary.end = inspection.problem?.offset.map { "corrupt at byte \($0)" } ?? "corrupt"
            }
            summary.fileBytes = buffer.count
            inspection.records = records
            inspection.segments.append(summary)
            if inspection.problem != nil { return }
        }
        inspection.clusterID = expected?.clusterID
        inspection.nodeID = expected?.nodeID
    }

    private static func describe(_ end: SegmentScanner.End, inspection: inout WALInspection, file: String) -> String {
        switch end {
        case .sealed: return "sealed"
        case .open: return "open"
        case .torn(let offset, let reason):
            inspection.tornTail = .init(file: file, offset: offset, reason: reason)
            return "torn at byte \(offset)"
        }
    }

    private static func inspectSnapshots(in directory: String, marker: SnapshotMarker, fileSystem: any FileSystem, verify: Bool,
                                         into inspection: inout WALInspection) {
        let identity = inspection.clusterID.flatMap { cluster in inspection.nodeID.map { StorageIdentity(clusterID: cluster, nodeID: $0) } }
        let store = SnapshotStore(directory: directory, identity: identity ?? StorageIdentity(clusterID: 0, nodeID: 0),
                                  fileSystem: fileSystem, options: readOptions)
        let files: [(index: LogIndex, term: Term, path: String)]
        do throws(DurableStorageError) { files = try store.list() } catch {
            inspection.problem = inspection.problem ?? problem(error, directory: directory)
            return
        }
        for file in files {
            var summary = WALInspection.SnapshotFile(file: file.path, index: file.index, term: file.term, fileBytes: 0, verified: false,
                                                     current: file.index == marker.index && file.term == marker.term)
            do throws(DurableStorageError) {
                let reader = try SnapshotFileReader(path: file.path, identity: identity, expected: (file.index, file.term),
                                                    fileSystem: fileSystem, payloadBytesMax: readOptions.recordBytesMax)
                summary.fileBytes = reader.fileBytes
                summary.voters = reader.metadata.voters
                summary.learners = reader.metadata.learners
                if verify {
                    var bytes = 0
                    while let chunk = try reader.nextChunk() { bytes += chunk.count }
                    summary.dataBytes = bytes
                    summary.verified = true
                }
            } catch {
                inspection.problem = inspection.problem ?? problem(error, directory: directory)
            }
            inspection.snapshots.append(summary)
        }
        if marker.index > 0, !files.contains(where: { $0.index == marker.index && $0.term == marker.term }) {
            inspection.problem = inspection.problem ?? .init(
                file: store.path(for: (marker.index, marker.term)), offset: nil,
                reason: "the WAL's snapshot marker (index \(marker.index), term \(marker.term)) names this file, which is missing")
        }
    }

    private static func problem(_ error: DurableStorageError, directory: String) -> WALInspection.Problem {
        switch error {
        case .corrupt(let file, let offset, let reason): return .init(file: file, offset: offset, reason: reason)
        case .wrongIdentity(let file, let expected, let found):
            return .init(file: file, offset: 16, reason: "belongs to \(found), the segments before it to \(expected)")
        case .inconsistent(let directory, let reason): return .init(file: directory, offset: nil, reason: reason)
        default: return .init(file: directory, offset: nil, reason: error.description)
        }
    }
}

extension WALInspection.Segment {
    mutating func count(_ record: WALRecord) {
        records += 1
        switch record {
        case .entries(let batch):
            entries += batch.count
            if let first = batch.first?.index { firstIndex = Swift.min(firstIndex ?? first, first) }
            if let last = batch.last?.index { lastIndex = Swift.max(lastIndex ?? last, last) }
            for entry in batch where terms.last != entry.term { terms.append(entry.term) }
        case .hardState: hardStates += 1
        case .snapshot: snapshotMarkers += 1
        case .seal: break
        }
    }
}

extension WALInspection.Record {
    init(_ record: WALRecord, file: String, offset: Int) {
        self.init(file: file, offset: offset, type: record.type.name, payloadBytes: record.payloadBytes)
        switch record {
        case .entries(let batch):
            firstIndex = batch.first?.index
            lastIndex = batch.last?.index
            var terms: [UInt64] = []
            for entry in batch where terms.last != entry.term { terms.append(entry.term) }
            self.terms = terms
        case .hardState(let state): hardState = .init(state)
        case .snapshot(let marker): snapshot = .init(marker)
        case .seal(let next): nextSequence = next
        }
    }
}
