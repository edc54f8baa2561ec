import ConclaveCore
import ConclaveRaft

/// The WAL itself: segment files in one directory, appended to and synced by one thread at a time
/// (`WALWriter` owns it after `open`; tests may drive it directly). Not thread-safe.
///
/// Writes are buffered: `append` frames a record into memory, `sync` writes everything buffered
/// with one pwrite and makes it durable with one fdatasync — the unit group commit builds on. Any
/// failure that may have lost or damaged a write (a failed write, sync, cut) stops the WAL for good:
/// every later call throws `.stopped(cause)`. Nothing is retried.
///
/// Each segment opens with its header and then the current hard state and snapshot marker, so any
/// prefix of segments wholly covered by a snapshot can be deleted without losing either.
public final class WriteAheadLog {
    struct Segment {
        var sequence: UInt64
        var path: String
        /// The log's last index when this segment began (from its header).
        var previousLastIndex: LogIndex
    }

    public let directory: String
    public let identity: StorageIdentity
    public let options: WALOptions
    let fileSystem: any FileSystem
    private(set) var segments: [Segment]
    private var file: OpenFile
    /// Where the next write goes in the current segment: everything before it has been written.
    private var fileEnd: Int
    /// Where the current segment's head records end (a cut before any record would be pointless).
    private var headEnd: Int
    /// Framed records not yet written; they go at `fileEnd`.
    private var buffer: [UInt8] = []
    private var unsynced = false
    /// What the records framed so far amount to, for the head of the next segment.
    public private(set) var hardState: HardState
    public private(set) var snapshot: SnapshotMarker
    public private(set) var lastIndex: LogIndex
    /// The fatal error that stopped the WAL, if any.
    public private(set) var failure: DurableStorageError?

    private init(directory: String, identity: StorageIdentity, options: WALOptions, fileSystem: any FileSystem,
                 segments: [Segment], file: OpenFile, fileEnd: Int, headEnd: Int, state: ReplayState) {
        self.directory = directory
        self.identity = identity
        self.options = options
        self.fileSystem = fileSystem
        self.segments = segments
        self.file = file
        self.fileEnd = fileEnd
        self.headEnd = headEnd
        self.hardState = state.hardState
        self.snapshot = state.snapshot
        self.lastIndex = state.lastIndex
    }

    public var segmentCount: Int { segments.count }
    public var segmentPaths: [String] { segments.map(\.path) }

    // MARK: - Writing

    /// Frames `record` into the write buffer, cutting a new segment first if it would not fit.
    /// Nothing reaches the disk until `sync`.
    public func append(_ record: WALRecord) throws(DurableStorageError) {
        try checkRunning()
        let payloadBytes = record.payloadBytes
        guard payloadBytes <= options.recordBytesMax else { throw .recordTooLarge(bytes: payloadBytes, limit: options.recordBytesMax) }
        let frameBytes = RecordFrame.frameBytes(payloadBytes: payloadBytes)
        if fileEnd + buffer.count + frameBytes > options.segmentBytes, fileEnd + buffer.count > headEnd {
            try cut()
        }
        frame(record)
    }

    private func frame(_ record: WALRecord) {
        let sequence = segments[segments.count - 1].sequence
        RecordFrame.append(type: record.type, seed: sequence, fileOffset: fileEnd + buffer.count, to: &buffer) {
            record.encodePayload(into: &$0)
        }
        track(record)
    }

    private func track(_ record: WALRecord) {
        switch record {
        case .hardState(let state): hardState = state
        case .entries(let entries): if let last = entries.last { lastIndex = last.index }
        case .snapshot(let marker):
            snapshot = marker
            snapshot.replacesLog = false
            if marker.replacesLog { lastIndex = marker.index }
            if marker.replacesLog { hardState.commit = max(hardState.commit, marker.index) }
        case .seal: break
        }
    }

    /// Writes what is buffered and fdatasyncs it. Returns once everything appended is durable.
    public func sync() throws(DurableStorageError) {
        try checkRunning()
        try flush()
        guard unsynced else { return }
        do throws(FileSystemError) { try fileSystem.fdatasync(file) } catch { throw stop(.syncFailed(error)) }
        unsynced = false
    }

    /// Writes what is buffered to the file without a sync: it survives a crash of the process,
    /// not of the machine, until the next `sync()`.
    public func write() throws(DurableStorageError) {
        try checkRunning()
        try flush()
    }

    private func flush() throws(DurableStorageError) {
        guard !buffer.isEmpty else { return }
        do throws(FileSystemError) {
            try fileSystem.writeAll(file, buffer, at: fileEnd)
        } catch {
            // Cut the partial record back off (best effort: if this fails too, it is a torn tail on
            // the next open), so the file holds only whole records.
            try? fileSystem.truncate(file, to: fileEnd)
            if options.preallocate { try? fileSystem.preallocate(file, length: options.segmentBytes) }
            throw stop(.from(error))
        }
        fileEnd += buffer.count
        buffer.removeAll(keepingCapacity: true)
        unsynced = true
    }

    /// Ends the current segment and starts the next: the next segment is prepared under a temporary
    /// name and fsync'ed; then the current one gets a seal record and is fdatasync'ed (with whatever
    /// was buffered); then the new one is renamed into place and the directory fsync'ed. A crash at
    /// any step leaves either the old segment open for appends or a sealed one and a complete next one.
    public func cut() throws(DurableStorageError) {
        try checkRunning()
        try startSegment(sealingCurrent: true)
    }

    /// Starts segment `last + 1` (segment 1 in an empty WAL), sealing the current one first if asked
    /// (not when bootstrapping, nor when a crash left the last segment sealed already).
    private func startSegment(sealingCurrent: Bool) throws(DurableStorageError) {
        let sequence = (segments.last?.sequence ?? 0) + 1
        let next = Segment(sequence: sequence, path: joinPath(directory, SegmentFile.name(sequence: sequence)), previousLastIndex: lastIndex)
        let temporary = next.path + SegmentFile.temporarySuffix
        let (nextFile, nextHeadEnd) = try create(next, at: temporary)
        do throws(DurableStorageError) {
            if sealingCurrent {
                frame(.seal(nextSequence: next.sequence))
                try flush()
                do throws(FileSystemError) { try fileSystem.fdatasync(file) } catch { throw stop(.syncFailed(error)) }
            }
            do throws(FileSystemError) {
                try fileSystem.rename(temporary, to: next.path)
                try fileSystem.fsyncDirectory(directory)
            } catch {
                throw stop(error.operation == "fsync" ? .syncFailed(error) : .from(error))
            }
        } catch {
            fileSystem.close(nextFile)
            try? fileSystem.remove(temporary)
            throw error
        }
        if !segments.isEmpty { fileSystem.close(file) }
        file = nextFile
        fileEnd = nextHeadEnd
        headEnd = nextHeadEnd
        unsynced = false
        segments.append(next)
    }

    /// Creates `segment` at `path`: preallocated, header, head records (hard state, snapshot
    /// marker), fsync'ed. Returns the open file and where its head ends. Stops the WAL on failure.
    private func create(_ segment: Segment, at path: String) throws(DurableStorageError) -> (OpenFile, Int) {
        var head = FileHeader(kind: .segment, identity: identity, first: segment.sequence, second: segment.previousLastIndex).encoded()
        for record in [WALRecord.hardState(hardState), .snapshot(snapshot)] {
            RecordFrame.append(type: record.type, seed: segment.sequence, fileOffset: head.count, to: &head) { record.encodePayload(into: &$0) }
        }
        let created: OpenFile
        do throws(FileSystemError) { created = try fileSystem.open(path, mode: .createNew) } catch { throw stop(.from(error)) }
        var failure: DurableStorageError?
        do throws(FileSystemError) {
            if options.preallocate { try fileSystem.preallocate(created, length: options.segmentBytes) }
            try fileSystem.writeAll(created, head, at: 0)
            do throws(FileSystemError) { try fileSystem.fsync(created) } catch { failure = .syncFailed(error) }
        } catch {
            failure = .from(error)
        }
        if let failure {
            fileSystem.close(created)
            try? fileSystem.remove(path)
            throw stop(failure)
        }
        return (created, head.count)
    }

    /// Deletes the segments (oldest first, never the current one) whose every live entry is at or
    /// below `snapshotIndex`, which must be a durable snapshot's index. Returns the deleted paths.
    /// A failure here loses nothing and does not stop the WAL.
    @discardableResult
    public func removeSegments(coveredThrough snapshotIndex: LogIndex) throws(DurableStorageError) -> [String] {
        try checkRunning()
        var removed: [String] = []
        while segments.count > 1, segments[1].previousLastIndex <= snapshotIndex {
            do throws(FileSystemError) { try fileSystem.remove(segments[0].path) } catch { throw .io(error) }
            removed.append(segments.removeFirst().path)
        }
        if !removed.isEmpty {
            do throws(FileSystemError) { try fileSystem.fsyncDirectory(directory) } catch { throw .io(error) }
        }
        return removed
    }

    /// Closes the current segment file. Buffered records that were not synced are discarded.
    public func close() {
        fileSystem.close(file)
        if failure == nil { failure = .closed }
    }

    private func checkRunning() throws(DurableStorageError) {
        if let failure { throw failure == .closed ? .closed : .stopped(failure) }
    }

    /// Stops the WAL with `error` (the first fatal error is the one reported from then on).
    private func stop(_ error: DurableStorageError) -> DurableStorageError {
        if failure == nil { failure = error }
        return error
    }
}

// MARK: - Opening

extension WriteAheadLog {
    /// What opening found, beyond the state itself.
    struct Opening {
        var state: ReplayState
        var segments: [String]
        var bytesReplayed: Int
        var tornTail: TornTail?
        var removedTemporaryFiles: [String]
        var bootstrapped: Bool
    }

    /// Opens (or, if it holds no segment, creates) the WAL in `directory`, which must exist.
    /// Replays every segment (read and checked one ahead on a helper thread), truncates a torn tail
    /// of the last one, and returns the WAL ready for appends after the last good record.
    /// `membership` is the configuration a new WAL starts with.
    static func open(directory: String, identity: StorageIdentity, options: WALOptions, fileSystem: any FileSystem,
                     membership: ConfState) throws(DurableStorageError) -> (WriteAheadLog, Opening) {
        let removed = try removeTemporaryFiles(in: directory, fileSystem: fileSystem)
        let found = try SegmentFile.list(in: directory, fileSystem: fileSystem)
        var state = ReplayState()
        var opening = Opening(state: state, segments: found.map(\.path), bytesReplayed: 0, tornTail: nil,
                              removedTemporaryFiles: removed, bootstrapped: found.isEmpty)
        if found.isEmpty {
            try? state.apply(.snapshot(SnapshotMarker(index: 0, term: 0, voters: membership.voters, learners: membership.learners,
                                                      replacesLog: false)))
            let log = try bootstrap(directory: directory, identity: identity, options: options, fileSystem: fileSystem, state: state)
            opening.state = state
            opening.segments = log.segmentPaths
            return (log, opening)
        }
        let prefetcher = SegmentPrefetcher(segments: found, identity: identity, fileSystem: fileSystem, options: options)
        defer { prefetcher.finish() }
        var segments: [Segment] = []
        var end = SegmentScanner.End.open(dataEnd: 0)
        var dataEnd = 0
        while let checked = prefetcher.next() {
            try replay(checked, into: &state)
            guard let header = checked.header, let segmentEnd = checked.end else { preconditionFailure("a segment with no failure and no end") }
            if case .sealed(_, let next) = segmentEnd, next != checked.sequence + 1 {
                throw .corrupt(file: checked.path, offset: segmentEnd.dataEnd - 16, reason: "the seal names segment \(next) as next")
            }
            segments.append(Segment(sequence: checked.sequence, path: checked.path, previousLastIndex: header.second))
            opening.bytesReplayed += segmentEnd.dataEnd
            end = segmentEnd
            dataEnd = checked.buffer.withUnsafeBytes { (SegmentScanner.lastNonZero($0) ?? 0) + 1 }
            prefetcher.recycle(checked.buffer)
        }
        precondition(segments.count == found.count, "recovery stopped before the last segment without an error")
        do throws(DecodeError) { try state.validate() } catch { throw .inconsistent(directory: directory, reason: error.reason) }
        opening.state = state
        let log = try resume(directory: directory, identity: identity, options: options, fileSystem: fileSystem,
                             segments: segments, end: end, state: state, tornTail: &opening.tornTail, dataEnd: dataEnd)
        opening.segments = log.segmentPaths
        return (log, opening)
    }

    /// Applies a checked segment's frames in order; then its failure, if the check found one.
    private static func replay(_ checked: SegmentPrefetcher.Checked, into state: inout ReplayState) throws(DurableStorageError) {
        try checked.buffer.withBytes { (bytes) throws(DurableStorageError) in
            for frame in checked.frames {
                do throws(DecodeError) {
                    try state.apply(type: frame.type, payload: UnsafeRawBufferPointer(rebasing: bytes[frame.payload]))
                } catch {
                    throw .corrupt(file: checked.path, offset: frame.offset, reason: error.reason)
                }
            }
        }
        if let failure = checked.failure { throw failure }
    }

    private static func removeTemporaryFiles(in directory: String, fileSystem: any FileSystem) throws(DurableStorageError) -> [String] {
        do throws(FileSystemError) {
            let temporary = try fileSystem.list(directory).filter { $0.hasSuffix(SegmentFile.temporarySuffix) }
            for name in temporary { try fileSystem.remove(joinPath(directory, name)) }
            if !temporary.isEmpty { try fileSystem.fsyncDirectory(directory) }
            return temporary.map { joinPath(directory, $0) }
        } catch {
            throw .io(error)
        }
    }

    private static func bootstrap(directory: String, identity: StorageIdentity, options: WALOptions, fileSystem: any FileSystem,
                                  state: ReplayState) throws(DurableStorageError) -> WriteAheadLog {
        let log = WriteAheadLog(directory: directory, identity: identity, options: options, fileSystem: fileSystem, segments: [],
                                file: OpenFile(descriptor: -1, path: directory), fileEnd: 0, headEnd: 0, state: state)
        try log.startSegment(sealingCurrent: false)
        return log
    }

    /// Reopens the last segment for appends after its last good record (truncating a torn tail),
    /// or cuts a new one if it was sealed.
    private static func resume(directory: String, identity: StorageIdentity, options: WALOptions, fileSystem: any FileSystem,
                               segments: [Segment], end: SegmentScanner.End, state: ReplayState,
                               tornTail: inout TornTail?, dataEnd: Int) throws(DurableStorageError) -> WriteAheadLog {
        let last = segments[segments.count - 1]
        let file: OpenFile
        do throws(FileSystemError) { file = try fileSystem.open(last.path, mode: .readWrite) } catch { throw .io(error) }
        let log = WriteAheadLog(directory: directory, identity: identity, options: options, fileSystem: fileSystem,
                                segments: segments, file: file, fileEnd: end.dataEnd, headEnd: end.dataEnd, state: state)
        if case .torn(let offset, let reason) = end {
            do throws(FileSystemError) {
                try fileSystem.truncate(file, to: offset)
                if options.preallocate { try fileSystem.preallocate(file, length: options.segmentBytes) }
                try fileSystem.fsync(file)
            } catch {
                log.close()
                throw .from(error)
            }
            tornTail = TornTail(file: last.path, offset: offset, bytesDiscarded: max(0, dataEnd - offset), reason: reason)
        }
        if case .sealed = end {
            // A crash came between sealing the last segment and renaming the next into place.
            do throws(DurableStorageError) { try log.startSegment(sealingCurrent: false) } catch {
                log.close()
                throw error
            }
        }
        return log
    }
}

/// A torn last record found on open and cut off.
public struct TornTail: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var offset: Int
    public var bytesDiscarded: Int
    public var reason: String

    public var description: String {
        "torn tail truncated: \(file) from byte \(offset) (\(bytesDiscarded) bytes discarded: \(reason))"
    }
}

extension WriteAheadLog {
    /// Opens (or creates) the WAL in `directory`, which must exist, for appending records directly:
    /// for tools and benchmarks. A node uses `DurableLogStorage`, which keeps the log in memory too.
    public static func open(directory: String, identity: StorageIdentity, membership: ConfState,
                            fileSystem: any FileSystem = PosixFileSystem(), options: WALOptions = WALOptions()) throws(DurableStorageError) -> WriteAheadLog {
        try open(directory: directory, identity: identity, options: options, fileSystem: fileSystem, membership: membership).0
    }
}
