import Foundation

/// etcd's answers as the console reads them from its JSON gateway (`POST /v3/...`): parsed here,
/// with no I/O, so a recorded answer gives the same snapshot every time. The gateway writes byte
/// fields in base64 and 64-bit integers as strings, and omits fields at their zero value (a watch
/// event without `type` is a PUT).
public enum EtcdReport {
    /// `/v3/maintenance/status` from one member.
    public struct Status: Equatable, Sendable {
        public var memberID: UInt64
        public var leader: UInt64
        public var raftTerm: UInt64
        public var raftIndex: UInt64
        public var raftAppliedIndex: UInt64
        public var dbSize: UInt64
        public var dbSizeInUse: UInt64
        public var version: String
        public var revision: Int64
        public var errors: [String]
    }

    /// `/v3/cluster/member/list`: one member.
    public struct Member: Equatable, Sendable {
        public var id: UInt64
        public var name: String
        public var clientURLs: [String]
    }

    /// One key of a `/v3/kv/range` (keys only).
    public struct KeyEntry: Equatable, Sendable {
        public var key: String
        public var createRevision: Int64
        public var lease: Int64
        public init(key: String, createRevision: Int64, lease: Int64) {
            self.key = key
            self.createRevision = createRevision
            self.lease = lease
        }
    }

    /// `/v3/kv/lease/timetolive` with keys: TTL left (-1 once gone) and the keys it keeps.
    public struct LeaseTTL: Equatable, Sendable {
        public var id: Int64
        public var ttlSeconds: Int64
        public var grantedSeconds: Int64
        public var keys: [String]
    }

    /// One event of a `/v3/watch` stream.
    public struct WatchEvent: Equatable, Sendable {
        public var isDelete: Bool
        public var key: String
        public var value: String?
        public var modRevision: Int64
    }

    /// Everything one cluster-wide poll read (members, alarms, lock keys, leases), from one member.
    public struct ClusterRound: Equatable, Sendable {
        public var members: [Member] = []
        public var alarms: [String] = []
        public var keys: [KeyEntry] = []
        /// The range hit its limit: more keys exist than were read.
        public var keysTruncated = false
        public var leases: [LeaseTTL] = []
        /// Leases the cluster has, of which `leases` are the first `ForeignEngineSnapshot.leasesMax`.
        public var leaseCount = 0
        public var revision: Int64 = 0
        public init() {}
    }

    public struct BadAnswer: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func object(_ json: String, _ what: String) throws(BadAnswer) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw BadAnswer(description: "\(what): not a JSON object: \(json.prefix(120))")
        }
        if let message = object["message"] as? String ?? object["error"] as? String {
            throw BadAnswer(description: "\(what): \(message)")
        }
        return object
    }

    public static func status(_ json: String) throws(BadAnswer) -> Status {
        let object = try object(json, "/v3/maintenance/status")
        let header = object["header"] as? [String: Any] ?? [:]
        guard let member = header["member_id"] as? String, let memberID = UInt64(member) else {
            throw BadAnswer(description: "/v3/maintenance/status: no member_id in \(json.prefix(120))")
        }
        return Status(memberID: memberID, leader: unsigned(object["leader"]), raftTerm: unsigned(object["raftTerm"]),
                      raftIndex: unsigned(object["raftIndex"]), raftAppliedIndex: unsigned(object["raftAppliedIndex"]),
                      dbSize: unsigned(object["dbSize"]), dbSizeInUse: unsigned(object["dbSizeInUse"]),
                      version: object["version"] as? String ?? "?", revision: signed(header["revision"]),
                      errors: (object["errors"] as? [Any])?.map { "\($0)" } ?? [])
    }

    public static func members(_ json: String) throws(BadAnswer) -> [Member] {
        let object = try object(json, "/v3/cluster/member/list")
        return (object["members"] as? [[String: Any]] ?? []).map {
            Member(id: unsigned($0["ID"]), name: $0["name"] as? String ?? "", clientURLs: $0["clientURLs"] as? [String] ?? [])
        }
    }

    /// Active alarms as "NOSPACE on 8e9e05c52164694d".
    public static func alarms(_ json: String) throws(BadAnswer) -> [String] {
        let object = try object(json, "/v3/maintenance/alarm")
        return (object["alarms"] as? [[String: Any]] ?? []).map {
            "\($0["alarm"] as? String ?? "?") on \(hex(unsigned($0["memberID"])))"
        }
    }

    public static func keys(_ json: String) throws(BadAnswer) -> (keys: [KeyEntry], more: Bool, revision: Int64) {
        let object = try object(json, "/v3/kv/range")
        let keys = (object["kvs"] as? [[String: Any]] ?? []).compactMap { kv -> KeyEntry? in
            guard let key = text(kv["key"]) else { return nil }
            return KeyEntry(key: key, createRevision: signed(kv["create_revision"]), lease: signed(kv["lease"]))
        }
        return (keys, object["more"] as? Bool ?? false, signed((object["header"] as? [String: Any])?["revision"]))
    }

    public static func leaseIDs(_ json: String) throws(BadAnswer) -> [Int64] {
        let object = try object(json, "/v3/kv/lease/leases")
        return (object["leases"] as? [[String: Any]] ?? []).map { signed($0["ID"]) }
    }

    public static func timeToLive(_ json: String) throws(BadAnswer) -> LeaseTTL {
        let object = try object(json, "/v3/kv/lease/timetolive")
        return LeaseTTL(id: signed(object["ID"]), ttlSeconds: signed(object["TTL"]), grantedSeconds: signed(object["grantedTTL"]),
                        keys: (object["keys"] as? [Any] ?? []).compactMap(text))
    }

    /// A watch chunk's events, or why etcd cancelled the watch.
    public static func watch(_ json: String) throws(BadAnswer) -> (events: [WatchEvent], cancelled: String?) {
        let object = try object(json, "/v3/watch")
        guard let result = object["result"] as? [String: Any] else { throw BadAnswer(description: "/v3/watch: no result in \(json.prefix(120))") }
        if result["canceled"] as? Bool == true {
            return ([], result["cancel_reason"] as? String ?? "cancelled")
        }
        let events = (result["events"] as? [[String: Any]] ?? []).compactMap { event -> WatchEvent? in
            guard let kv = event["kv"] as? [String: Any], let key = text(kv["key"]) else { return nil }
            let isDelete = event["type"] as? String == "DELETE"
            return WatchEvent(isDelete: isDelete, key: key, value: isDelete ? nil : text(kv["value"]) ?? "", modRevision: signed(kv["mod_revision"]))
        }
        return (events, nil)
    }

    // MARK: - Fields

    static func unsigned(_ value: Any?) -> UInt64 {
        if let text = value as? String { return UInt64(text) ?? UInt64(bitPattern: Int64(text) ?? 0) }
        if let number = value as? NSNumber { return number.uint64Value }
        return 0
    }

    static func signed(_ value: Any?) -> Int64 {
        if let text = value as? String { return Int64(text) ?? Int64(bitPattern: UInt64(text) ?? 0) }
        if let number = value as? NSNumber { return number.int64Value }
        return 0
    }

    static func text(_ base64: Any?) -> String? {
        (base64 as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// An ID as etcdctl prints it: lowercase hex.
    public static func hex(_ id: UInt64) -> String { String(id, radix: 16) }
    public static func hex(_ id: Int64) -> String { String(UInt64(bitPattern: id), radix: 16) }

    /// `name/<lease in hex>` whose hex is the key's own lease: a key etcd's mutex recipe put
    /// (`etcdctl lock`, Go's `concurrency.Mutex`, Conclave's `EtcdLocker`). Its mutex name.
    public static func mutexName(_ entry: KeyEntry) -> String? {
        guard entry.lease != 0, let slash = entry.key.lastIndex(of: "/"), slash != entry.key.startIndex else { return nil }
        let suffix = entry.key[entry.key.index(after: slash)...]
        guard let lease = UInt64(suffix, radix: 16), lease == UInt64(bitPattern: entry.lease) else { return nil }
        return String(entry.key[..<slash])
    }
}
