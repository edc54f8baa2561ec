import ConclaveCore

/// A client's request to the replicated KV store, as it travels through the log.
///
/// `client` and `sequence` make a retry idempotent: the state machine remembers each client's last
/// sequence number and answer, so a request that reaches the log twice takes effect once.
public struct KVRequest: Equatable, Sendable {
    public var client: UInt64
    public var sequence: UInt64
    public var command: KVCommand

    public init(client: UInt64, sequence: UInt64, command: KVCommand) {
        self.client = client
        self.sequence = sequence
        self.command = command
    }
}

public enum KVCommand: Equatable, Sendable {
    case put(key: String, value: String)
    /// A read through the log: linearizable because it takes its place in the log's order.
    case get(key: String)
    case delete(key: String)
    /// Sets `value` if the current value equals `expected` (nil: the key must be absent).
    case compareAndSwap(key: String, expected: String?, value: String)

    public var key: String {
        switch self {
        case .put(let key, _), .get(let key), .delete(let key), .compareAndSwap(let key, _, _): return key
        }
    }
}

/// The answer to a request.
public enum KVResult: Equatable, Sendable {
    /// A put or delete took effect at this revision.
    case written(revision: UInt64)
    /// A get's answer (nil: absent).
    case value(String?)
    /// Whether a compare-and-swap swapped.
    case swapped(Bool)
    /// The request was malformed or stale; nothing changed.
    case rejected(String)
}

extension KVRequest {
    private enum Tag: UInt8 { case put = 1, get, delete, compareAndSwap }

    /// The bytes stored in a log entry. Format: version byte 1, client, sequence, tag, fields.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + command.key.utf8.count)
        writer.write(UInt8(1))
        writer.write(client)
        writer.write(sequence)
        switch command {
        case .put(let key, let value):
            writer.write(Tag.put.rawValue); writer.write(key); writer.write(value)
        case .get(let key):
            writer.write(Tag.get.rawValue); writer.write(key)
        case .delete(let key):
            writer.write(Tag.delete.rawValue); writer.write(key)
        case .compareAndSwap(let key, let expected, let value):
            writer.write(Tag.compareAndSwap.rawValue); writer.write(key); writer.write(expected); writer.write(value)
        }
        return writer.bytes
    }

    /// Decodes an entry's bytes; nil if they are not a well-formed request of version 1.
    public init?(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard reader.readByte() == 1, let client = reader.readUInt64(), let sequence = reader.readUInt64(),
              let rawTag = reader.readByte(), let tag = Tag(rawValue: rawTag), let key = reader.readString()
        else { return nil }
        let command: KVCommand
        switch tag {
        case .put:
            guard let value = reader.readString() else { return nil }
            command = .put(key: key, value: value)
        case .get:
            command = .get(key: key)
        case .delete:
            command = .delete(key: key)
        case .compareAndSwap:
            guard let expected = reader.readOptionalString(), let value = reader.readString() else { return nil }
            command = .compareAndSwap(key: key, expected: expected, value: value)
        }
        guard reader.isAtEnd else { return nil }
        self.init(client: client, sequence: sequence, command: command)
    }
}
