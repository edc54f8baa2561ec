import ConclaveCore
import ConclaveScript

extension KVStateMachine {
    /// Why a snapshot could not be loaded.
    public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "KV snapshot: \(reason)" }
    }

    /// 2 added the expiries (TTLs) after the values, 3 the script cache at the end; 1 and 2 are
    /// still read (with no scripts).
    private static let snapshotVersion: UInt8 = 3

    /// The whole state as bytes: values, expiries, revision, applied index, digest and client
    /// sessions, keys in sorted order so equal states give equal bytes. The expiry index and the
    /// expiries' digest share are rebuilt on restore.
    public func snapshotData() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + values.count * 96)
        writer.write(Self.snapshotVersion)
        writer.write(appliedIndex)
        writer.write(revision)
        writer.write(digest)
        writer.write(UInt64(values.count))
        // Sorting the pairs (not the keys, then looking each up) halves the cost; String's own
        // ordering measured twice as fast here as comparing UTF-8 bytes.
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            writer.write(key)
            writer.write(value)
        }
        writer.write(UInt64(expiries.count))
        for (key, expiresAt) in expiries.sorted(by: { $0.key < $1.key }) {
            writer.write(key)
            writer.write(expiresAt)
        }
        writer.write(UInt64(sessions.count))
        for client in sessions.keys.sorted() {
            let session = sessions[client]!
            writer.write(client)
            writer.write(session.lastSequence)
            writer.write(session.lastIndex)
            writer.write(session.lastResult.encodedForSnapshot())
        }
        writer.append(scripts.encoded())
        return writer.bytes
    }

    /// Loads a state from `snapshotData()` bytes; throws, naming what is wrong, on malformed input.
    public init(restoring bytes: [UInt8], sessionsMax: Int = 10_000,
                expiringKeysMax: Int = CoordinationLimits.kvExpiringKeysMax) throws(SnapshotError) {
        var reader = ByteReader(bytes)
        guard let version = reader.readByte() else { throw SnapshotError(reason: "empty") }
        guard (1...Self.snapshotVersion).contains(version) else {
            throw SnapshotError(reason: "unknown version \(version) (this build reads 1 to \(Self.snapshotVersion))")
        }
        guard let applied = reader.readUInt64(), let revision = reader.readUInt64(), let digest = reader.readUInt64(),
              let valueCount = reader.readUInt64(), valueCount <= UInt64(bytes.count) else {
            throw SnapshotError(reason: "truncated header")
        }
        // Apply adds one to both (`appliedIndex + 1` is the next entry): leave them room to grow.
        if let problem = CoordinationLimits.exceeds("KV applied index", applied, CoordinationLimits.restoredCounterMax)
            ?? CoordinationLimits.exceeds("KV revision", revision, CoordinationLimits.restoredCounterMax) {
            throw SnapshotError(reason: problem)
        }
        var values: [String: String] = [:]
        values.reserveCapacity(Int(valueCount))
        for _ in 0..<valueCount {
            guard let key = reader.readString(), let value = reader.readString() else { throw SnapshotError(reason: "truncated value") }
            values[key] = value
        }
        let expiries = version == 1 ? [:] : try Self.readExpiries(from: &reader, values: values, expiringKeysMax: expiringKeysMax)
        guard let sessionCount = reader.readUInt64(), sessionCount <= UInt64(bytes.count) else {
            throw SnapshotError(reason: "truncated sessions")
        }
        guard sessionCount <= UInt64(sessionsMax) else {
            throw SnapshotError(reason: "\(sessionCount) KV client sessions, more than the \(sessionsMax) remembered")
        }
        var sessions: [UInt64: Session] = [:]
        for _ in 0..<sessionCount {
            guard let client = reader.readUInt64(), let sequence = reader.readUInt64(), let index = reader.readUInt64(),
                  let encodedResult = reader.readString(), let result = KVResult(snapshotEncoding: encodedResult) else {
                throw SnapshotError(reason: "truncated session")
            }
            sessions[client] = Session(lastSequence: sequence, lastResult: result, lastIndex: index)
        }
        let scripts = version < 3 ? ScriptCache(limits: CoordinationLimits.scriptCache) : try Self.readScripts(from: &reader)
        guard reader.isAtEnd else { throw SnapshotError(reason: "trailing bytes") }
        self.init(sessionsMax: sessionsMax, expiringKeysMax: expiringKeysMax)
        self.load(values: values, expiries: expiries, revision: revision, appliedIndex: applied, digest: digest,
                  sessions: sessions)
        self.scripts = scripts
    }

    /// The expiries of a version-2 snapshot: each of a key held, at most `expiringKeysMax`.
    private static func readExpiries(from reader: inout ByteReader, values: [String: String],
                                     expiringKeysMax: Int) throws(SnapshotError) -> [String: UInt64] {
        guard let count = reader.readCount(of: 12) else { throw SnapshotError(reason: "truncated expiries") }
        guard count <= expiringKeysMax else {
            throw SnapshotError(reason: "\(count) keys with a TTL, more than the \(expiringKeysMax) allowed")
        }
        var expiries: [String: UInt64] = [:]
        expiries.reserveCapacity(count)
        for _ in 0..<count {
            guard let key = reader.readString(), let expiresAt = reader.readUInt64() else {
                throw SnapshotError(reason: "truncated expiry")
            }
            guard values[key] != nil else { throw SnapshotError(reason: "an expiry for key '\(key)', which holds no value") }
            if let problem = CoordinationLimits.exceeds("key '\(key)': expires-at", expiresAt, CoordinationLimits.restoredInstantMillisMax) {
                throw SnapshotError(reason: problem)
            }
            expiries[key] = expiresAt
        }
        return expiries
    }
}

extension KVResult {
    func encodedForSnapshot() -> String {
        switch self {
        case .written(let revision): return "w\(revision)"
        case .value(let value): return value.map { "v" + $0 } ?? "n"
        case .swapped(let swapped): return swapped ? "s1" : "s0"
        case .rejected(let reason): return "r" + reason
        case .notSet: return "x"
        case .integer(let value): return "i\(value)"
        case .count(let count): return "c\(count)"
        case .values(let values): return "m" + Self.encodedList(values)
        case .keys(let keys): return "k" + Self.encodedList(keys)
        case .scanPage(let cursor, let keys): return "p\(cursor);" + Self.encodedList(keys)
        case .script(let reply): return "e" + Self.hex(reply.encoded())
        }
    }

    /// A list of texts as `-` (nil) or `<UTF-8 length>:<text>` each, so any text round-trips.
    private static func encodedList(_ texts: [String?]) -> String {
        var encoded = ""
        for text in texts {
            if let text { encoded += "\(text.utf8.count):" + text } else { encoded += "-" }
        }
        return encoded
    }

    /// The list `encodedList` wrote, from `bytes[start...]`; nil when malformed.
    private static func decodedList(_ bytes: [UInt8], from start: Int) -> [String?]? {
        var items: [String?] = []
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "-") {
                items.append(nil)
                index += 1
                continue
            }
            guard let colon = bytes[index...].firstIndex(of: UInt8(ascii: ":")), colon > index, colon - index <= 10,
                  let length = Int(String(decoding: bytes[index..<colon], as: UTF8.self)), length <= bytes.count - colon - 1
            else { return nil }
            items.append(String(decoding: bytes[(colon + 1)..<(colon + 1 + length)], as: UTF8.self))
            index = colon + 1 + length
        }
        return items
    }

    /// Reads what `encodedForSnapshot` wrote. The tag is the first UTF-8 byte, not the first
    /// `Character`: a value opening with a combining mark would join the tag's character.
    init?(snapshotEncoding text: String) {
        let bytes = Array(text.utf8)
        guard let tag = bytes.first else { return nil }
        let rest = String(decoding: bytes[1...], as: UTF8.self)
        switch tag {
        case UInt8(ascii: "w"): guard let revision = UInt64(rest) else { return nil }; self = .written(revision: revision)
        case UInt8(ascii: "v"): self = .value(rest)
        case UInt8(ascii: "n"): self = .value(nil)
        case UInt8(ascii: "s"): self = .swapped(rest == "1")
        case UInt8(ascii: "r"): self = .rejected(rest)
        case UInt8(ascii: "x"): guard rest.isEmpty else { return nil }; self = .notSet
        case UInt8(ascii: "i"): guard let value = Int64(rest) else { return nil }; self = .integer(value)
        case UInt8(ascii: "c"): guard let count = Int(rest), count >= 0 else { return nil }; self = .count(count)
        case UInt8(ascii: "m"): guard let values = Self.decodedList(bytes, from: 1) else { return nil }; self = .values(values)
        case UInt8(ascii: "k"):
            guard let items = Self.decodedList(bytes, from: 1), !items.contains(nil) else { return nil }
            self = .keys(items.map { $0 ?? "" })
        case UInt8(ascii: "p"):
            guard let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")),
                  let cursor = UInt64(String(decoding: bytes[1..<semicolon], as: UTF8.self)),
                  let items = Self.decodedList(bytes, from: semicolon + 1), !items.contains(nil) else { return nil }
            self = .scanPage(cursor: cursor, keys: items.map { $0 ?? "" })
        case UInt8(ascii: "e"):
            guard let bytes = Self.bytes(hex: rest), let reply = ScriptReply(encoded: bytes) else { return nil }
            self = .script(reply)
        default: return nil
        }
    }
}
