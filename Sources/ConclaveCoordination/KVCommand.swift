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
    /// Redis `SET` with every option (`EXAT`/`PXAT`, `KEEPTTL`, `GET`) and `GETSET`: as `set`, with
    /// the TTL as `options.expiry` says; an instant already reached removes the key (Redis does the
    /// same). Answers `.written`/`.notSet`, or with `returnsOld` `.value(the value before)`.
    case setWith(key: String, value: String, options: SetOptions)
    /// Redis `GETDEL`: answers `.value(the value)` and removes the key.
    case getDelete(key: String)
    /// Redis `MGET`: answers `.values`, one per key (nil: absent). A read.
    case getMany([String])
    /// Redis `MSET`: writes every pair (clearing their TTLs) as one revision; a key named twice
    /// takes its last value. Answers `.written`.
    case setMany([KVPair])
    /// Redis `EXPIRE`/`PEXPIRE`/`EXPIREAT`/`PEXPIREAT` with NX/XX/GT/LT: answers `.count(1)` when the
    /// TTL was set (or the key removed, for an instant already reached), `.count(0)` when the key
    /// is absent or the condition failed. Instants are cluster time.
    case expire(key: String, at: ExpireInstant, condition: ExpireCondition)
    /// Redis `PERSIST`: clears the key's TTL; answers `.count(1)` if it had one, else `.count(0)`.
    case persist(key: String)
    /// Redis `PTTL` (and `TTL`, which the door rounds to seconds): answers `.integer` of the
    /// milliseconds left, -1 for a key without a TTL, -2 for an absent key. A read.
    case timeToLive(key: String)
    /// Redis `SCAN cursor [MATCH pattern] [COUNT count]`: examines about `count` keys (1 …
    /// `CoordinationLimits.kvScanCountMax`, clamped: Redis's COUNT is a hint) in the order of
    /// `KVScanIndex` from `cursor`; answers `.scanPage`. A key there for the whole scan is returned
    /// exactly once, whichever node serves each step. A read.
    case scan(cursor: UInt64, pattern: String?, count: Int)
    /// Redis `KEYS pattern`: every live key matching the glob, answered `.keys`, or `.rejected` past
    /// `kvKeysReplyMax` keys or `kvReplyBytesMax` bytes. A read.
    case keysMatching(pattern: String)
    /// Redis `DBSIZE`: answers `.count` of live keys (an expired key not yet purged is not counted). A read.
    case keyCount
    /// Redis `FLUSHDB`/`FLUSHALL`: removes every key. Answers `.written`.
    case flush

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
    public var key: String { keys.first ?? "" }

    /// Every key the command names, in order (none for the commands over the whole keyspace).
    public var keys: [String] {
        switch self {
        case .put(let key, _), .get(let key), .delete(let key), .compareAndSwap(let key, _, _), .set(let key, _, _, _),
             .increment(let key, _), .setWith(let key, _, _), .getDelete(let key), .expire(let key, _, _), .persist(let key),
             .timeToLive(let key):
            return [key]
        case .deleteKeys(let keys), .exists(let keys), .getMany(let keys):
            return keys
        case .setMany(let pairs):
            return pairs.map(\.key)
        case .eval(let call):
            return call.keys.map { String(decoding: $0, as: UTF8.self) }
        case .scan, .keysMatching, .keyCount, .flush, .scriptLoad, .scriptExists, .scriptFlush:
            return []
        }
    }

    /// Whether the command only reads, so it may be answered from the state at a confirmed read
    /// index (ReadIndex) instead of through the log.
    public var isRead: Bool {
        switch self {
        case .get, .exists, .getMany, .timeToLive, .scan, .keysMatching, .keyCount, .scriptExists: return true
        case .put, .delete, .compareAndSwap, .set, .increment, .deleteKeys, .setWith, .getDelete, .setMany, .expire, .persist,
             .flush, .eval, .scriptLoad, .scriptFlush:
            return false
        }
    }
}

/// One key and its value (`MSET`).
public struct KVPair: Equatable, Sendable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// What a `setWith` does with the key's TTL: clear it (a plain SET), keep it (`KEEPTTL`), or set
/// one, relative to now (`EX`/`PX`) or at an instant of cluster time (`EXAT`/`PXAT`).
public enum SetExpiry: Equatable, Sendable {
    case clear
    case keep
    case afterMillis(UInt64)
    case atMillis(UInt64)
}

/// The options of Redis's `SET` beyond the value.
public struct SetOptions: Equatable, Sendable {
    public var condition: SetCondition
    public var expiry: SetExpiry
    /// Redis's `GET` option (and `GETSET`): answer the value the key held before, whether or not
    /// the condition let the write happen.
    public var returnsOld: Bool

    public init(condition: SetCondition = .always, expiry: SetExpiry = .clear, returnsOld: Bool = false) {
        self.condition = condition
        self.expiry = expiry
        self.returnsOld = returnsOld
    }
}

/// When an `expire` makes the key go: milliseconds from now (`EXPIRE`/`PEXPIRE`, the door scales
/// seconds) or an instant of cluster time (`EXPIREAT`/`PEXPIREAT`). Either may be at or before now
/// (then the key is removed at once, as Redis does); signed because clients may send negatives.
public enum ExpireInstant: Equatable, Sendable {
    case afterMillis(Int64)
    case atMillis(Int64)
}

/// Redis 7's `EXPIRE` conditions: `NX` only a key without a TTL, `XX` only one with, `GT` only a
/// later instant (a key without a TTL counts as never expiring, so `GT` leaves it), `LT` only an
/// earlier one (so `LT` gives a key without a TTL one).
public enum ExpireCondition: UInt8, Sendable {
    case always, ifNoTTL, ifTTL, ifLater, ifEarlier
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
    /// How many keys a `deleteKeys` removed or an `exists` found; a key count (`keyCount`); whether
    /// an `expire` or `persist` changed the TTL (1 or 0).
    case count(Int)
    /// A `getMany`'s values, one per key named (nil: absent).
    case values([String?])
    /// A `keysMatching`'s keys.
    case keys([String])
    /// One step of a `scan`: the cursor of the next step (0: the scan is over) and the keys found.
    case scanPage(cursor: UInt64, keys: [String])
    /// A script's reply (`eval`), or the answer to a SCRIPT command.
    case script(ScriptReply)
}

extension KVRequest {
    private enum Tag: UInt8 {
        case put = 1, get, delete, compareAndSwap, set, increment, deleteKeys, exists
        case setWith, getDelete, getMany, setMany, expire, persist, timeToLive, scan, keysMatching, keyCount, flush
        case eval = 64, scriptLoad, scriptExists, scriptFlush
    }

    /// The bytes stored in a log entry. Format: version byte 1, client, sequence, tag, fields.
    /// A command naming more than `CoordinationLimits.kvKeysPerCommandMax` keys (`deleteKeys`,
    /// `exists`, `getMany`, `setMany`) encodes but does not decode (its entry would answer nobody):
    /// callers check the count first.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 40 + command.key.utf8.count)
        writer.write(UInt8(1))
        writer.write(client)
        writer.write(sequence)
        writer.write(Self.tag(of: command).rawValue)
        switch command {
        case .put(let key, let value):
            writer.write(key); writer.write(value)
        case .get(let key), .delete(let key), .getDelete(let key), .persist(let key), .timeToLive(let key):
            writer.write(key)
        case .compareAndSwap(let key, let expected, let value):
            writer.write(key); writer.write(expected); writer.write(value)
        case .set(let key, let value, let condition, let ttl):
            writer.write(key); writer.write(value); writer.write(condition.rawValue); writer.writeOptional(ttl)
        case .increment(let key, let delta):
            writer.write(key); writer.write(UInt64(bitPattern: delta))
        case .deleteKeys(let keys), .exists(let keys), .getMany(let keys):
            writer.write(UInt64(keys.count))
            for key in keys { writer.write(key) }
        case .setWith(let key, let value, let options):
            writer.write(key); writer.write(value)
            Self.write(options, into: &writer)
        case .setMany(let pairs):
            writer.write(UInt64(pairs.count))
            for pair in pairs { writer.write(pair.key); writer.write(pair.value) }
        case .expire(let key, let instant, let condition):
            writer.write(key)
            switch instant {
            case .afterMillis(let millis): writer.write(UInt8(0)); writer.write(UInt64(bitPattern: millis))
            case .atMillis(let millis): writer.write(UInt8(1)); writer.write(UInt64(bitPattern: millis))
            }
            writer.write(condition.rawValue)
        case .scan(let cursor, let pattern, let count):
            writer.write(cursor); writer.write(pattern); writer.write(count)
        case .keysMatching(let pattern):
            writer.write(pattern)
        case .keyCount, .flush:
            break
        case .eval(let call):
            call.encode(into: &writer)
        case .scriptLoad(let body):
            writer.writeBytes(body)
        case .scriptExists(let shas):
            writer.write(UInt64(shas.count))
            for sha in shas { writer.write(sha) }
        case .scriptFlush:
            break
        }
        return writer.bytes
    }

    private static func tag(of command: KVCommand) -> Tag {
        switch command {
        case .put: .put
        case .get: .get
        case .delete: .delete
        case .compareAndSwap: .compareAndSwap
        case .set: .set
        case .increment: .increment
        case .deleteKeys: .deleteKeys
        case .exists: .exists
        case .setWith: .setWith
        case .getDelete: .getDelete
        case .getMany: .getMany
        case .setMany: .setMany
        case .expire: .expire
        case .persist: .persist
        case .timeToLive: .timeToLive
        case .scan: .scan
        case .keysMatching: .keysMatching
        case .keyCount: .keyCount
        case .flush: .flush
        case .eval: .eval
        case .scriptLoad: .scriptLoad
        case .scriptExists: .scriptExists
        case .scriptFlush: .scriptFlush
        }
    }

    private static func write(_ options: SetOptions, into writer: inout ByteWriter) {
        writer.write(options.condition.rawValue)
        switch options.expiry {
        case .clear: writer.write(UInt8(0))
        case .keep: writer.write(UInt8(1))
        case .afterMillis(let millis): writer.write(UInt8(2)); writer.write(millis)
        case .atMillis(let millis): writer.write(UInt8(3)); writer.write(millis)
        }
        writer.write(UInt8(options.returnsOld ? 1 : 0))
    }

    /// Decodes an entry's bytes; nil if they are not a well-formed request of version 1.
    public init?(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard reader.readByte() == 1, let client = reader.readUInt64(), let sequence = reader.readUInt64(),
              let rawTag = reader.readByte(), let tag = Tag(rawValue: rawTag),
              let command = Self.decodeCommand(tag, from: &reader), reader.isAtEnd
        else { return nil }
        self.init(client: client, sequence: sequence, command: command)
    }

    private static func decodeCommand(_ tag: Tag, from reader: inout ByteReader) -> KVCommand? {
        switch tag {
        case .deleteKeys, .exists, .getMany:
            guard let keys = readKeys(from: &reader) else { return nil }
            return tag == .exists ? .exists(keys) : tag == .getMany ? .getMany(keys) : .deleteKeys(keys)
        case .setMany:
            // Each pair takes at least its two 4-byte lengths.
            guard let count = reader.readCount(of: 8), count <= CoordinationLimits.kvKeysPerCommandMax else { return nil }
            var pairs: [KVPair] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                guard let key = reader.readString(), let value = reader.readString() else { return nil }
                pairs.append(KVPair(key: key, value: value))
            }
            return .setMany(pairs)
        case .scan:
            guard let cursor = reader.readUInt64(), let pattern = reader.readOptionalString(), let count = reader.readInt() else {
                return nil
            }
            return .scan(cursor: cursor, pattern: pattern, count: count)
        case .keysMatching:
            return reader.readString().map { .keysMatching(pattern: $0) }
        case .keyCount:
            return .keyCount
        case .flush:
            return .flush
        case .eval:
            return ScriptCall(decoding: &reader).map { .eval($0) }
        case .scriptLoad:
            guard let body = reader.readBytesWithLength(), body.count <= CoordinationLimits.scriptCache.scriptBytesMax else { return nil }
            return .scriptLoad(body: body)
        case .scriptExists:
            return readKeys(from: &reader).map { .scriptExists($0) }
        case .scriptFlush:
            return .scriptFlush
        case .put, .get, .delete, .compareAndSwap, .set, .increment, .setWith, .getDelete, .expire, .persist, .timeToLive:
            guard let key = reader.readString() else { return nil }
            return decodeKeyed(tag, key: key, from: &reader)
        }
    }

    /// A key list: each key takes at least its 4-byte length, so a count the bytes cannot hold is
    /// refused before anything is allocated.
    private static func readKeys(from reader: inout ByteReader) -> [String]? {
        guard let count = reader.readCount(of: 4), count <= CoordinationLimits.kvKeysPerCommandMax else { return nil }
        var keys: [String] = []
        keys.reserveCapacity(count)
        for _ in 0..<count {
            guard let key = reader.readString() else { return nil }
            keys.append(key)
        }
        return keys
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
        case .setWith:
            guard let value = reader.readString(), let options = readSetOptions(from: &reader) else { return nil }
            return .setWith(key: key, value: value, options: options)
        case .getDelete:
            return .getDelete(key: key)
        case .expire:
            guard let kind = reader.readByte(), kind <= 1, let raw = reader.readUInt64(), let rawCondition = reader.readByte(),
                  let condition = ExpireCondition(rawValue: rawCondition) else { return nil }
            let millis = Int64(bitPattern: raw)
            return .expire(key: key, at: kind == 0 ? .afterMillis(millis) : .atMillis(millis), condition: condition)
        case .persist:
            return .persist(key: key)
        case .timeToLive:
            return .timeToLive(key: key)
        case .deleteKeys, .exists, .getMany, .setMany, .scan, .keysMatching, .keyCount, .flush, .eval, .scriptLoad, .scriptExists,
             .scriptFlush:
            return nil
        }
    }

    private static func readSetOptions(from reader: inout ByteReader) -> SetOptions? {
        guard let rawCondition = reader.readByte(), let condition = SetCondition(rawValue: rawCondition),
              let kind = reader.readByte() else { return nil }
        let expiry: SetExpiry
        switch kind {
        case 0: expiry = .clear
        case 1: expiry = .keep
        case 2, 3:
            guard let millis = reader.readUInt64() else { return nil }
            expiry = kind == 2 ? .afterMillis(millis) : .atMillis(millis)
        default: return nil
        }
        guard let returnsOld = reader.readByte(), returnsOld <= 1 else { return nil }
        return SetOptions(condition: condition, expiry: expiry, returnsOld: returnsOld == 1)
    }
}
