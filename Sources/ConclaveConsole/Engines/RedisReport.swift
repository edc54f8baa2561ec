import ConclaveWire

/// One Redis instance as the console reads it in one poll: INFO (role, memory, version, keys) and
/// the lock keys matching the operator's pattern. Parsed here from the replies, with no I/O.
///
/// A lock key is a string key with a PTTL (what `SET name token NX PX ttl` leaves: redis-py's
/// `Lock`, node-redlock, Redisson's plain lock, Conclave's `RedisLocker`); its value is the
/// owner's token. Conclave's fair lock keeps its queue beside it in `name:waiters` (a zset by
/// ticket), whose ticket counter `name:tickets` is a string with a PTTL too and is not a lock.
public struct RedisReport: Equatable, Sendable {
    public struct LockKey: Equatable, Sendable {
        public var name: String
        public var owner: String
        public var pttlMillis: Int64
        public init(name: String, owner: String, pttlMillis: Int64) {
            self.name = name
            self.owner = owner
            self.pttlMillis = pttlMillis
        }
    }

    public var info: [String: String]
    public var locks: [LockKey]
    /// Lock name → the tokens queued in `name:waiters`, first in line first.
    public var waiters: [String: [String]]
    /// The scan stopped at its limit: more keys match than were looked at.
    public var truncated: Bool

    public init(info: [String: String], locks: [LockKey], waiters: [String: [String]], truncated: Bool) {
        self.info = info
        self.locks = locks
        self.waiters = waiters
        self.truncated = truncated
    }

    /// Keys one poll looks at, at most (SCAN pages until this many matched).
    public static let scannedMax = 10_000

    /// `INFO` text as field → value (`field:value` lines; headers and blank lines skipped).
    public static func info(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// The probe each scanned key gets, pipelined: its type, its PTTL and its value.
    public static func probe(_ key: String) -> [[String]] { [["TYPE", key], ["PTTL", key], ["GET", key]] }

    /// The lock keys among `keys`, from their probes' replies (three per key, as `probe` asks).
    public static func locks(keys: [String], replies: [RESPValue]) -> [LockKey] {
        precondition(replies.count == keys.count * 3, "three replies per key")
        var candidates: [LockKey] = []
        var zsets: Set<String> = []
        for (index, key) in keys.enumerated() {
            let type = text(replies[index * 3])
            if type == "zset" { zsets.insert(key) }
            guard type == "string", case .integer(let pttl) = replies[index * 3 + 1], pttl > 0,
                  let owner = text(replies[index * 3 + 2]) else { continue }
            candidates.append(LockKey(name: key, owner: owner, pttlMillis: pttl))
        }
        let names = Set(candidates.map(\.name))
        return candidates.filter { lock in
            guard lock.name.hasSuffix(":tickets") else { return true }
            let base = String(lock.name.dropLast(":tickets".count))
            return !names.contains(base) && !zsets.contains(base + ":waiters")
        }.sorted { $0.name < $1.name }
    }

    static func text(_ value: RESPValue) -> String? {
        switch value {
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .simpleString(let text): return text
        default: return nil
        }
    }

    /// A zset's members (`ZRANGE name:waiters 0 N`), in ticket order.
    public static func members(_ reply: RESPValue) -> [String] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap(text)
    }
}
