import ConclaveCore
import ConclaveScript

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
    /// Writes the value and clears any TTL the key had.
    case put(key: String, value: String)
    /// A read through the log: linearizable because it takes its place in the log's order.
    case get(key: String)
    case delete(key: String)
    /// Sets `value` if the current value equals `expected` (nil: the key must be absent); a swap
    /// clears any TTL, as `put` does.
    case compareAndSwap(key: String, expected: String?, value: String)
    /// Redis `SET key value [NX|XX] [PX ms|EX s]`: writes unless `condition` fails (answer
    /// `.notSet`). With `ttlMillis` the key expires at cluster time now + TTL (1 ms …
    /// `CoordinationLimits.kvTTLMillisMax`; outside that, `.rejected`); without, any TTL it had is
    /// cleared. Answers `.written(revision:)`.
    case set(key: String, value: String, condition: SetCondition, ttlMillis: UInt64?)
    /// Redis `INCR`/`INCRBY`/`DECR`/`DECRBY`: an absent key counts as 0; the value must be a
    /// base-10 signed 64-bit integer (Redis's rules). Keeps the key's TTL. Answers `.integer(new value)`.
    case increment(key: String, by: Int64)
    /// Redis `DEL k1 k2 …`: answers `.count` of the keys that were there (a key named twice counts once).
    case deleteKeys([String])
    /// Redis `EXISTS k1 k2 …`: answers `.count` of names that are there (a key named twice counts twice).
    /// A read: served through ReadIndex like `get` unless reads go through the log.
    case exists([String])
    /// Redis `EVAL` (and `EVALSHA`, whose body the receiving node looked up): runs the script in
    /// apply, atomically, its `redis.call`s over the commands `KVCommandParser` knows; a script that
    /// fails leaves no write. Keeps the body in `scripts` as EVAL does. Answers `.script(reply)`.
    case eval(ScriptCall)
    /// `SCRIPT LOAD body`: answers `.script(.bulk(sha))`.
    case scriptLoad(body: [UInt8])
    /// `SCRIPT EXISTS sha…`: answers `.script(.array)` of 1 or 0 per SHA. A read.
    case scriptExists([String])
    /// `SCRIPT FLUSH`: forgets every script; answers `.script(.status("OK"))`.
    case scriptFlush

    /// The key the command names; for a command over several keys, the first ("" if none). See `keys`.
    public var key: String {
        switch self {
        case .put(let key, _), .get(let key), .delete(let key), .compareAndSwap(let key, _, _), .set(let key, _, _, _),
             .increment(let key, _):
            return key
        case .deleteKeys(let keys), .exists(let keys):
            return keys.first ?? ""
        case .eval, .scriptLoad, .scriptExists, .scriptFlush:
            return keys.first ?? ""
        }
    }

    /// Every key the command names, in order.
    public var keys: [String] {
        switch self {
        case .put(let key, _), .get(let key), .delete(let key), .compareAndSwap(let key, _, _), .set(let key, _, _, _),
             .increment(let key, _):
            return [key]
        case .deleteKeys(let keys), .exists(let keys):
            return keys
        case .eval(let call):
            return call.keys.map { String(decoding: $0, as: UTF8.self) }
        case .scriptLoad, .scriptExists, .scriptFlush:
            return []
        }
    }

    /// Whether the command only reads, so it may be answered from the state at a confirmed read
    /// index (ReadIndex) instead of through the log.
    public var isRead: Bool {
        switch self {
        case .get, .exists, .scriptExists: return true
        case .put, .delete, .compareAndSwap, .set, .increment, .deleteKeys, .eval, .scriptLoad, .scriptFlush: return false
        }
    }
}

/// When a `set` writes: always, only if the key is absent (Redis `NX`), only if it is there (`XX`).
public enum SetCondition: UInt8, Sendable {
    case always, ifAbsent, ifPresent
}

/// The answer to a request.
public enum KVResult: Equatable, Sendable {
    /// A put, delete or set took effect at this revision.
    case written(revision: UInt64)
    /// A get's answer (nil: absent).
    case value(String?)
    /// Whether a compare-and-swap swapped.
    case swapped(Bool)
    /// The request was malformed or stale; nothing changed.
    case rejected(String)
    /// A `set` whose NX/XX condition failed: nothing changed (Redis answers nil).
    case notSet
    /// An increment's new value.
    case integer(Int64)
    /// How many keys a `deleteKeys` removed or an `exists` found.
    case count(Int)
    /// A script's reply (`eval`), or the answer to a SCRIPT command.
    case script(ScriptReply)
}

extension KVRequest {
    private enum Tag: UInt8 {
        case put = 1, get, delete, compareAndSwap, set, increment, deleteKeys, exists
        case eval = 64, scriptLoad, scriptExists, scriptFlush
    }

    /// The bytes stored in a log entry. Format: version byte 1, client, sequence, tag, fields.
    /// A `deleteKeys`/`exists` naming more than `CoordinationLimits.kvKeysPerCommandMax` keys
    /// encodes but does not decode (its entry would answer nobody): callers check the count first.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 40 + command.key.utf8.count)
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
        case .set(let key, let value, let condition, let ttl):
            writer.write(Tag.set.rawValue); writer.write(key); writer.write(value)
            writer.write(condition.rawValue); writer.writeOptional(ttl)
        case .increment(let key, let delta):
            writer.write(Tag.increment.rawValue); writer.write(key); writer.write(UInt64(bitPattern: delta))
        case .deleteKeys(let keys), .exists(let keys):
            writer.write((command.isRead ? Tag.exists : Tag.deleteKeys).rawValue)
            writer.write(UInt64(keys.count))
            for key in keys { writer.write(key) }
        case .eval(let call):
            writer.write(Tag.eval.rawValue); call.encode(into: &writer)
        case .scriptLoad(let body):
            writer.write(Tag.scriptLoad.rawValue); writer.writeBytes(body)
        case .scriptExists(let shas):
            writer.write(Tag.scriptExists.rawValue); writer.write(UInt64(shas.count))
            for sha in shas { writer.write(sha) }
        case .scriptFlush:
            writer.write(Tag.scriptFlush.rawValue)
        }
        return writer.bytes
    }

    /// Decodes an entry's bytes; nil if they are not a well-formed request of version 1.
    public init?(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard reader.readByte() == 1, let client = reader.readUInt64(), let sequence = reader.readUInt64(),
              let rawTag = reader.readByte(), let tag = Tag(rawValue: rawTag)
        else { return nil }
        let command: KVCommand
        switch tag {
        case .deleteKeys, .exists:
            // Each key takes at least its 4-byte length: a count the bytes cannot hold is refused
            // before anything is allocated.
            guard let count = reader.readCount(of: 4), count <= CoordinationLimits.kvKeysPerCommandMax else { return nil }
            var keys: [String] = []
            keys.reserveCapacity(count)
            for _ in 0..<count {
                guard let key = reader.readString() else { return nil }
                keys.append(key)
            }
            command = tag == .exists ? .exists(keys) : .deleteKeys(keys)
        case .eval:
            guard let call = ScriptCall(decoding: &reader) else { return nil }
            command = .eval(call)
        case .scriptLoad:
            guard let body = reader.readBytesWithLength(), body.count <= CoordinationLimits.scriptCache.scriptBytesMax else { return nil }
            command = .scriptLoad(body: body)
        case .scriptExists:
            guard let count = reader.readCount(of: 4), count <= CoordinationLimits.kvKeysPerCommandMax else { return nil }
            var shas: [String] = []
            for _ in 0..<count {
                guard let sha = reader.readString() else { return nil }
                shas.append(sha)
            }
            command = .scriptExists(shas)
        case .scriptFlush:
            command = .scriptFlush
        case .put, .get, .delete, .compareAndSwap, .set, .increment:
            guard let key = reader.readString(), let keyed = Self.decodeKeyed(tag, key: key, from: &reader) else { return nil }
            command = keyed
        }
        guard reader.isAtEnd else { return nil }
        self.init(client: client, sequence: sequence, command: command)
    }

    /// The fields after the key of a command over one key.
    private static func decodeKeyed(_ tag: Tag, key: String, from reader: inout ByteReader) -> KVCommand? {
        switch tag {
        case .put:
            return reader.readString().map { .put(key: key, value: $0) }
        case .get:
            return .get(key: key)
        case .delete:
            return .delete(key: key)
        case .compareAndSwap:
            guard let expected = reader.readOptionalString(), let value = reader.readString() else { return nil }
            return .compareAndSwap(key: key, expected: expected, value: value)
        case .set:
            guard let value = reader.readString(), let rawCondition = reader.readByte(),
                  let condition = SetCondition(rawValue: rawCondition), let ttl = reader.readOptional() else { return nil }
            return .set(key: key, value: value, condition: condition, ttlMillis: ttl)
        case .increment:
            return reader.readUInt64().map { .increment(key: key, by: Int64(bitPattern: $0)) }
        case .deleteKeys, .exists, .eval, .scriptLoad, .scriptExists, .scriptFlush:
            return nil
        }
    }
}
