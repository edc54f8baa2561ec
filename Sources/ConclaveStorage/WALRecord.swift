import ConclaveCore
import ConclaveRaft

/// What the WAL holds, record by record. Replaying them in order rebuilds a node's durable Raft
/// state: the last hard state, the latest snapshot marker, and the log after it.
public enum WALRecord: Equatable, Sendable {
    /// The node's term, vote and commit index; the last one wins.
    case hardState(HardState)
    /// Consecutive entries. They replace any entries at or after their first index (a leader's
    /// log overwriting a follower's conflicting suffix), exactly as `MemoryStorage.append` does.
    case entries([Entry])
    /// A snapshot is durable in the snapshot directory (written and renamed before this record).
    case snapshot(SnapshotMarker)
    /// The segment is complete; the next one has sequence number `nextSequence`. Written only when
    /// a segment is cut, so a segment that ends without one is the last or is damaged.
    case seal(nextSequence: UInt64)

    var type: RecordType {
        switch self {
        case .hardState: return .hardState
        case .entries: return .entries
        case .snapshot: return .snapshot
        case .seal: return .seal
        }
    }
}

/// The position and membership of a durable snapshot, as the WAL records it.
public struct SnapshotMarker: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]
    /// True when a leader's snapshot was installed: it replaces the whole log, entries after it
    /// included. False for a node's own snapshot of applied state: entries after it stay.
    public var replacesLog: Bool

    public init(index: LogIndex, term: Term, voters: [NodeID], learners: [NodeID], replacesLog: Bool) {
        self.index = index
        self.term = term
        self.voters = voters
        self.learners = learners
        self.replacesLog = replacesLog
    }

    public var confState: ConfState { ConfState(voters: voters, learners: learners) }
}

/// The type byte of a frame. WAL segments hold 1–4; snapshot files hold 16–18.
enum RecordType: UInt8, CaseIterable {
    case hardState = 1
    case entries = 2
    case snapshot = 3
    case seal = 4
    case snapshotMetadata = 16
    case snapshotChunk = 17
    case snapshotEnd = 18

    var name: String {
        switch self {
        case .hardState: return "hard state"
        case .entries: return "entries"
        case .snapshot: return "snapshot"
        case .seal: return "seal"
        case .snapshotMetadata: return "snapshot metadata"
        case .snapshotChunk: return "snapshot chunk"
        case .snapshotEnd: return "snapshot end"
        }
    }

    /// The name with its article, for messages: "an entries record", "a seal record".
    var described: String { (self == .entries ? "an " : "a ") + name + " record" }
}

// MARK: - Payload encoding

extension WALRecord {
    /// Bytes per entry in an entries payload besides its data: term, index, kind, data length.
    static let entryOverheadBytes = 8 + 8 + 1 + 4
    /// An entry's data may not exceed this (the u32 length field, and a bound for the decoder).
    static let entryDataBytesMax = Int(UInt32.max)

    /// The payload's length once encoded, computed without encoding (to decide segment rollover).
    public var payloadBytes: Int {
        switch self {
        case .hardState: return 24
        case .entries(let entries): return 4 + entries.reduce(0) { $0 + Self.entryOverheadBytes + $1.data.count }
        case .snapshot(let marker): return 8 + 8 + 1 + 2 + 8 * marker.voters.count + 2 + 8 * marker.learners.count
        case .seal: return 8
        }
    }

    /// Appends the payload (not the frame) to `buffer`.
    func encodePayload(into buffer: inout [UInt8]) {
        switch self {
        case .hardState(let state):
            buffer.appendLittleEndian(state.term)
            buffer.appendLittleEndian(state.vote)
            buffer.appendLittleEndian(state.commit)
        case .entries(let entries):
            buffer.appendLittleEndian(UInt32(entries.count))
            for entry in entries {
                buffer.appendLittleEndian(entry.term)
                buffer.appendLittleEndian(entry.index)
                buffer.append(entry.kind.rawValue)
                buffer.appendLittleEndian(UInt32(entry.data.count))
                buffer.append(contentsOf: entry.data)
            }
        case .snapshot(let marker):
            buffer.appendLittleEndian(marker.index)
            buffer.appendLittleEndian(marker.term)
            buffer.append(marker.replacesLog ? 1 : 0)
            for members in [marker.voters, marker.learners] {
                buffer.appendLittleEndian(UInt16(members.count))
                for member in members { buffer.appendLittleEndian(member) }
            }
        case .seal(let nextSequence):
            buffer.appendLittleEndian(nextSequence)
        }
    }

    /// Decodes a payload of `type`. A payload that passed its CRC but does not decode is reported
    /// by the caller as corruption at the record's offset.
    static func decode(type: RecordType, payload: UnsafeRawBufferPointer) throws(DecodeError) -> WALRecord {
        var reader = BufferReader(payload)
        let record: WALRecord
        switch type {
        case .hardState:
            record = .hardState(HardState(term: try reader.read(UInt64.self, "term"), vote: try reader.read(UInt64.self, "vote"),
                                          commit: try reader.read(UInt64.self, "commit")))
        case .entries:
            record = .entries(try decodeEntries(&reader))
        case .snapshot:
            let index = try reader.read(UInt64.self, "index")
            let term = try reader.read(UInt64.self, "term")
            let flags = try reader.read(UInt8.self, "flags")
            guard flags <= 1 else { throw DecodeError(reason: "snapshot flags \(flags) unknown") }
            let voters = try decodeMembers(&reader)
            let learners = try decodeMembers(&reader)
            record = .snapshot(SnapshotMarker(index: index, term: term, voters: voters, learners: learners, replacesLog: flags == 1))
        case .seal:
            record = .seal(nextSequence: try reader.read(UInt64.self, "next sequence"))
        case .snapshotMetadata, .snapshotChunk, .snapshotEnd:
            throw DecodeError(reason: "\(type.described) does not belong in a WAL segment")
        }
        guard reader.isAtEnd else { throw DecodeError(reason: "\(reader.remaining) bytes left over after \(type.described)") }
        return record
    }

    /// `decode`, with a failure's reason saying which record was malformed.
    static func decodeReporting(type: RecordType, payload: UnsafeRawBufferPointer) throws(DecodeError) -> WALRecord {
        do throws(DecodeError) {
            return try decode(type: type, payload: payload)
        } catch {
            throw DecodeError(reason: "malformed \(type.name) record: \(error.reason)")
        }
    }

    private static func decodeEntries(_ reader: inout BufferReader) throws(DecodeError) -> [Entry] {
        var entries: [Entry] = []
        try decodeEntries(&reader, appendingTo: &entries, reserve: true)
        return entries
    }

    /// Decodes an entries payload onto the end of `entries`; the first decoded entry must follow
    /// the last one already there, if any. On failure, `entries` is as it was.
    static func decodeEntries(_ reader: inout BufferReader, appendingTo entries: inout [Entry], reserve: Bool = false) throws(DecodeError) {
        let count = Int(try reader.read(UInt32.self, "entry count"))
        // Each entry takes at least its fixed fields: a corrupt count cannot make us reserve more.
        guard count <= reader.remaining / entryOverheadBytes else {
            throw DecodeError(reason: "\(count) entries claimed in \(reader.remaining) bytes")
        }
        // Reserving on every record would regrow a long log to the exact size each time (quadratic);
        // only a fresh batch reserves.
        if reserve { entries.reserveCapacity(count) }
        let start = entries.count
        do throws(DecodeError) {
            for _ in 0..<count {
                let term = try reader.read(UInt64.self, "entry term")
                let index = try reader.read(UInt64.self, "entry index")
                guard let kind = Entry.Kind(rawValue: try reader.read(UInt8.self, "entry kind")) else {
                    throw DecodeError(reason: "entry \(index) has an unknown kind")
                }
                let length = Int(try reader.read(UInt32.self, "entry length"))
                let data = try reader.readBytes(length, "entry data")
                if let previous = entries.last, index != previous.index + 1 {
                    throw DecodeError(reason: "entry \(index) follows entry \(previous.index)")
                }
                guard index > 0 else { throw DecodeError(reason: "entry index 0") }
                entries.append(Entry(term: term, index: index, kind: kind, data: data))
            }
        } catch {
            entries.removeSubrange(start...)
            throw error
        }
    }

    private static func decodeMembers(_ reader: inout BufferReader) throws(DecodeError) -> [NodeID] {
        let count = Int(try reader.read(UInt16.self, "member count"))
        guard count <= reader.remaining / 8 else { throw DecodeError(reason: "\(count) members claimed in \(reader.remaining) bytes") }
        var members: [NodeID] = []
        for _ in 0..<count { members.append(try reader.read(UInt64.self, "member")) }
        return members
    }
}
