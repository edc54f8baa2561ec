import ConclaveCore
import ConclaveRaft

/// The peer transport's frames: `length (u32 LE, bytes after it) | version (u8) | cluster ID (u64) |
/// kind (u8) | payload`. A frame whose version or cluster ID is not ours is refused whole, so a node of
/// another cluster (or a stray client) can never step a message into our Raft.
///
/// - `hello`: the first frame of a connection: the dialler's node ID and the cluster token (empty when
///   the cluster has none); a receiver that refuses it answers `refused` with the reason and closes.
/// - `messages`: a batch of Raft messages (one flush carries everything queued for that peer).
///
/// Decoding is total: any byte sequence yields a frame or a `PeerCodecError` naming what was wrong,
/// and every length is checked against `frameBytesMax` before anything is allocated.
public enum PeerFrame: Equatable, Sendable {
    case hello(node: NodeID, token: String)
    case refused(reason: String)
    case messages([Message])

    public static let version: UInt8 = 1
    /// The largest frame accepted (a snapshot chunk plus headers fits many times over).
    public static let frameBytesMax = 64 << 20
    /// The length prefix plus version, cluster ID and kind.
    public static let headerBytes = 4 + 1 + 8 + 1

    enum Kind: UInt8 {
        case hello = 1, refused = 2, messages = 3
    }

    /// The whole frame, length prefix included.
    public func encoded(clusterID: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(UInt32(0))  // patched below
        writer.write(Self.version)
        writer.write(clusterID)
        switch self {
        case .hello(let node, let token):
            writer.write(Kind.hello.rawValue)
            writer.write(node)
            writer.write(token)
        case .refused(let reason):
            writer.write(Kind.refused.rawValue)
            writer.write(reason)
        case .messages(let messages):
            writer.write(Kind.messages.rawValue)
            writer.write(UInt32(messages.count))
            for message in messages { MessageCodec.write(message, into: &writer) }
        }
        var bytes = writer.bytes
        let length = UInt32(bytes.count - 4)
        withUnsafeBytes(of: length.littleEndian) { for (offset, byte) in $0.enumerated() { bytes[offset] = byte } }
        return bytes
    }

    /// Decodes one frame from the start of `bytes`: nil when more bytes are needed, else the frame and
    /// the bytes it took. Throws when the frame is malformed, too large, or of another cluster.
    public static func decode(_ bytes: [UInt8], clusterID: UInt64) throws(PeerCodecError) -> (frame: PeerFrame, consumed: Int)? {
        guard bytes.count >= 4 else { return nil }
        let length = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard length >= headerBytes - 4, length <= frameBytesMax else {
            throw .malformed("frame length \(length) outside \(headerBytes - 4)…\(frameBytesMax)")
        }
        guard bytes.count >= 4 + length else { return nil }
        var reader = ByteReader(Array(bytes[4..<4 + length]))
        let version = reader.readByte()!
        guard version == Self.version else { throw .wrongVersion(got: version, expected: Self.version) }
        let cluster = reader.readUInt64()!
        guard cluster == clusterID else { throw .wrongCluster(got: cluster, expected: clusterID) }
        guard let kind = reader.readByte().flatMap(Kind.init(rawValue:)) else { throw .malformed("unknown frame kind") }
        let frame: PeerFrame
        switch kind {
        case .hello:
            guard let node = reader.readUInt64(), let token = reader.readString() else { throw .malformed("truncated hello") }
            frame = .hello(node: node, token: token)
        case .refused:
            guard let reason = reader.readString() else { throw .malformed("truncated refusal") }
            frame = .refused(reason: reason)
        case .messages:
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining else { throw .malformed("bad message count") }
            var messages: [Message] = []
            messages.reserveCapacity(Int(count))
            for position in 0..<Int(count) {
                guard let message = MessageCodec.read(from: &reader) else { throw .malformed("message \(position) of \(count) is malformed") }
                messages.append(message)
            }
            frame = .messages(messages)
        }
        guard reader.isAtEnd else { throw .malformed("\(reader.remaining) bytes after the frame's content") }
        return (frame, 4 + length)
    }
}

public enum PeerCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongVersion(got: UInt8, expected: UInt8)
    case wrongCluster(got: UInt64, expected: UInt64)
    case malformed(String)

    public var description: String {
        switch self {
        case .wrongVersion(let got, let expected): return "peer frame version \(got); this node speaks \(expected)"
        case .wrongCluster(let got, let expected): return "peer of cluster \(got); this node is in cluster \(expected)"
        case .malformed(let reason): return "malformed peer frame: \(reason)"
        }
    }
}

/// Raft messages in binary, every field; reading is total (nil on any malformed input).
public enum MessageCodec {
    /// Entries and node lists longer than this are refused (far beyond any batch the core forms).
    public static let listCountMax = 1 << 20

    public static func write(_ message: Message, into writer: inout ByteWriter) {
        writer.write(message.kind.rawValue)
        for value in [message.from, message.to, message.term, message.logTerm, message.index, message.commit,
                      message.rejectHint, message.context, message.clockRound, message.clockNanos] {
            writer.write(value)
        }
        writer.write(UInt8((message.reject ? 1 : 0) | (message.transfer ? 2 : 0)))
        writer.write(UInt32(message.entries.count))
        for entry in message.entries {
            writer.write(entry.term)
            writer.write(entry.index)
            writer.write(entry.kind.rawValue)
            writeBytes(entry.data, into: &writer)
        }
        guard let chunk = message.chunk else {
            writer.write(UInt8(0))
            return
        }
        writer.write(UInt8(1))
        writer.write(chunk.index)
        writer.write(chunk.term)
        writeNodes(chunk.voters, into: &writer)
        writeNodes(chunk.learners, into: &writer)
        writer.write(UInt64(chunk.offset))
        writer.write(UInt64(chunk.totalBytes))
        writeBytes(chunk.data, into: &writer)
    }

    public static func read(from reader: inout ByteReader) -> Message? {
        guard let kind = reader.readByte().flatMap(Message.Kind.init(rawValue:)) else { return nil }
        var values: [UInt64] = []
        for _ in 0..<10 {
            guard let value = reader.readUInt64() else { return nil }
            values.append(value)
        }
        guard let flags = reader.readByte(), flags & ~3 == 0, let entryCount = reader.readUInt32(),
              Int(entryCount) <= min(listCountMax, reader.remaining / 21) else { return nil }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(entryCount))
        for _ in 0..<entryCount {
            guard let term = reader.readUInt64(), let index = reader.readUInt64(),
                  let kind = reader.readByte().flatMap(Entry.Kind.init(rawValue:)), let data = readBytes(from: &reader) else { return nil }
            entries.append(Entry(term: term, index: index, kind: kind, data: data))
        }
        var message = Message(kind: kind, from: values[0], to: values[1], term: values[2], logTerm: values[3], index: values[4],
                              entries: entries, commit: values[5], reject: flags & 1 != 0, rejectHint: values[6],
                              context: values[7], transfer: flags & 2 != 0)
        message.clockRound = values[8]
        message.clockNanos = values[9]
        switch reader.readByte() {
        case 0: return message
        case 1:
            guard let index = reader.readUInt64(), let term = reader.readUInt64(), let voters = readNodes(from: &reader),
                  let learners = readNodes(from: &reader), let offset = reader.readUInt64(), offset <= UInt64(Int.max),
                  let total = reader.readUInt64(), total <= UInt64(Int.max), let data = readBytes(from: &reader) else { return nil }
            message.chunk = SnapshotChunk(index: index, term: term, voters: voters, learners: learners,
                                          offset: Int(offset), totalBytes: Int(total), data: data)
            return message
        default: return nil
        }
    }

    private static func writeBytes(_ bytes: [UInt8], into writer: inout ByteWriter) {
        writer.write(UInt32(bytes.count))
        writer.append(bytes)
    }

    private static func readBytes(from reader: inout ByteReader) -> [UInt8]? {
        guard let count = reader.readUInt32() else { return nil }
        return reader.readBytes(Int(count))
    }

    private static func writeNodes(_ nodes: [NodeID], into writer: inout ByteWriter) {
        writer.write(UInt32(nodes.count))
        for node in nodes { writer.write(node) }
    }

    private static func readNodes(from reader: inout ByteReader) -> [NodeID]? {
        guard let count = reader.readUInt32(), Int(count) <= min(listCountMax, reader.remaining / 8) else { return nil }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let node = reader.readUInt64() else { return nil }
            nodes.append(node)
        }
        return nodes
    }
}
