import ConclaveCore

/// Which cluster and node a data directory belongs to. Every WAL segment and snapshot file carries
/// both; opening a directory with another identity is refused, so a node can never replay (or a
/// copied directory serve) another node's log.
public struct StorageIdentity: Equatable, Sendable, CustomStringConvertible {
    public var clusterID: UInt64
    public var nodeID: NodeID

    public init(clusterID: UInt64, nodeID: NodeID) {
        self.clusterID = clusterID
        self.nodeID = nodeID
    }

    public var description: String { "cluster \(clusterID), node \(nodeID)" }
}

/// The 64-byte header that opens every WAL segment and snapshot file:
///
/// ```
/// offset  size  field
///      0     8  magic: "CONCLWAL" (segment) or "CONCLSNP" (snapshot)
///      8     2  format version (1)
///     10     2  header length (64)
///     12     4  reserved, zero
///     16     8  cluster ID
///     24     8  node ID
///     32     8  segment: sequence number        snapshot: index
///     40     8  segment: last index at the cut  snapshot: term
///     48    12  reserved, zero
///     60     4  CRC-32C of bytes 0..<60
/// ```
///
/// All integers little endian. A segment's "last index at the cut" is the log's last index when the
/// segment was started: every live entry in earlier segments is at or below it, which is what
/// deciding that those segments are wholly before a snapshot needs.
struct FileHeader: Equatable {
    enum Kind {
        case segment
        case snapshot

        var magic: [UInt8] { Array((self == .segment ? "CONCLWAL" : "CONCLSNP").utf8) }
        var name: String { self == .segment ? "WAL segment" : "snapshot file" }
    }

    static let bytes = 64
    static let version: UInt16 = 1

    var kind: Kind
    var identity: StorageIdentity
    var first: UInt64
    var second: UInt64

    func encoded() -> [UInt8] {
        var buffer = kind.magic
        buffer.appendLittleEndian(Self.version)
        buffer.appendLittleEndian(UInt16(Self.bytes))
        buffer.appendLittleEndian(UInt32(0))
        buffer.appendLittleEndian(identity.clusterID)
        buffer.appendLittleEndian(identity.nodeID)
        buffer.appendLittleEndian(first)
        buffer.appendLittleEndian(second)
        buffer.append(contentsOf: repeatElement(0, count: 12))
        buffer.appendLittleEndian(CRC32C.checksum(buffer))
        return buffer
    }

    /// Decodes a header of `kind` from the start of `bytes`; the reason says what is wrong.
    static func decode(_ kind: Kind, from bytes: UnsafeRawBufferPointer) throws(DecodeError) -> FileHeader {
        guard bytes.count >= Self.bytes else {
            throw DecodeError(reason: "\(bytes.count) bytes, shorter than the \(Self.bytes)-byte \(kind.name) header")
        }
        guard bytes.prefix(8).elementsEqual(kind.magic) else { throw DecodeError(reason: "not a Conclave \(kind.name) (bad magic)") }
        var reader = BufferReader(UnsafeRawBufferPointer(rebasing: bytes[8..<Self.bytes]))
        let version = try reader.read(UInt16.self, "version")
        guard version == Self.version else {
            throw DecodeError(reason: "format version \(version) is not supported (this build reads version \(Self.version))")
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
        guard stored == computed else {
            throw DecodeError(reason: "\(kind.name) header CRC mismatch (stored \(RecordFrame.hex(stored)), computed \(RecordFrame.hex(computed)))")
        }
        guard try reader.read(UInt16.self, "header length") == Self.bytes, try reader.read(UInt32.self, "reserved") == 0 else {
            throw DecodeError(reason: "malformed \(kind.name) header")
        }
        let identity = StorageIdentity(clusterID: try reader.read(UInt64.self, "cluster ID"), nodeID: try reader.read(UInt64.self, "node ID"))
        return FileHeader(kind: kind, identity: identity, first: try reader.read(UInt64.self, "first"),
                          second: try reader.read(UInt64.self, "second"))
    }
}
