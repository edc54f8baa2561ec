import ConclaveCore
import ConclaveRaft

/// The durable Raft state the WAL's records add up to, built record by record during recovery.
///
/// Records apply as `MemoryStorage`'s writes do: entries replace any suffix from their first index,
/// the last hard state wins, a snapshot marker compacts through its index (a leader's installed
/// snapshot also drops the entries after it). Entries at or below the snapshot are dropped as they
/// come. When older segments have been deleted, the first remaining one can start past the snapshot
/// it opens with; such a gap is allowed only if a later snapshot marker covers it, checked at the end.
struct ReplayState {
    private(set) var hardState = HardState()
    private(set) var snapshot = SnapshotMarker(index: 0, term: 0, voters: [], learners: [], replacesLog: false)
    /// Consecutive entries; the first is at `base + 1`.
    private(set) var entries: [Entry] = []
    private(set) var base: LogIndex = 0
    private var gapEnd: LogIndex = 0
    private(set) var records = 0

    var lastIndex: LogIndex { base + LogIndex(entries.count) }

    mutating func apply(_ record: WALRecord) throws(DecodeError) {
        records += 1
        switch record {
        case .hardState(let state):
            hardState = state
        case .entries(let batch):
            append(batch)
        case .snapshot(let marker):
            guard marker.index >= snapshot.index else {
                throw DecodeError(reason: "snapshot marker at index \(marker.index) after one at \(snapshot.index)")
            }
            snapshot = marker
            if marker.replacesLog || marker.index >= lastIndex {
                entries.removeAll(keepingCapacity: true)
                base = marker.index
            } else if marker.index > base {
                entries.removeSubrange(0..<Int(marker.index - base))
                base = marker.index
            }
            if marker.replacesLog { hardState.commit = max(hardState.commit, marker.index) }
        case .seal:
            break
        }
    }

    /// Applies a record as it lies in its segment: a batch of entries that continues the log is
    /// decoded straight onto its end (no batch array, no copy); anything else is decoded first.
    mutating func apply(type: RecordType, payload: UnsafeRawBufferPointer) throws(DecodeError) {
        guard type == .entries, payload.count >= 4 + 16,
              payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self) > 0,
              UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 12, as: UInt64.self)) == lastIndex + 1 else {
            return try apply(WALRecord.decodeReporting(type: type, payload: payload))
        }
        var reader = BufferReader(payload)
        let start = entries.count
        do throws(DecodeError) {
            try WALRecord.decodeEntries(&reader, appendingTo: &entries)
            guard reader.isAtEnd else {
                entries.removeSubrange(start...)
                throw DecodeError(reason: "\(reader.remaining) bytes left over after \(RecordType.entries.described)")
            }
        } catch {
            throw DecodeError(reason: "malformed entries record: \(error.reason)")
        }
        records += 1
    }

    private mutating func append(_ batch: [Entry]) {
        guard let last = batch.last, last.index > base else { return }
        let kept = batch.first!.index > base ? batch[...] : batch[Int(base + 1 - batch.first!.index)...]
        let first = kept.first!.index
        if first > lastIndex + 1 {
            gapEnd = first - 1
            entries.removeAll(keepingCapacity: true)
            base = first - 1
        } else {
            entries.removeSubrange(Int(first - base - 1)...)
        }
        entries.append(contentsOf: kept)
    }

    /// Checks what only the whole log can show: no unexplained gap, a commit index within the log.
    func validate() throws(DecodeError) {
        if base > snapshot.index || gapEnd > snapshot.index {
            throw DecodeError(reason: "entries \(snapshot.index + 1)…\(max(base, gapEnd)) are missing: no segment holds them "
                + "and no snapshot covers them")
        }
        if hardState.commit > lastIndex {
            throw DecodeError(reason: "the hard state's commit index \(hardState.commit) is past the last entry \(lastIndex)")
        }
    }

    /// The state as a `MemoryStorage`, the in-memory view `DurableLogStorage` serves reads from.
    func memoryStorage() -> MemoryStorage {
        let storage = MemoryStorage(voters: snapshot.voters)
        storage.applySnapshot(Snapshot(index: snapshot.index, term: snapshot.term, voters: snapshot.voters,
                                       learners: snapshot.learners))
        storage.append(entries)
        storage.setHardState(hardState)
        return storage
    }
}
