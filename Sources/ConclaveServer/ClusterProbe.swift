import ConclaveWire

/// One look at a cluster of Conclave nodes over RESP: each node's `CLUSTER.STATUS` (AUTH first
/// with the token), or why it could not be read. For `conclave status --connect` and, next, the
/// console's remote source. Blocking, one node after another, each bounded by `timeoutMillis`.
public enum ClusterProbe {
    /// What one node said about itself, or why it said nothing.
    public struct NodeReport: Sendable, Equatable {
        public var address: PeerAddress
        /// The status fields by name (integers and texts; `members` as a count), nil when unreachable.
        public var fields: [String: StatusField]?
        public var problem: String?

        public var reachable: Bool { fields != nil }

        public func integer(_ name: String) -> Int64? {
            if case .integer(let value)? = fields?[name] { return value }
            return nil
        }

        public func text(_ name: String) -> String? {
            if case .text(let value)? = fields?[name] { return value }
            return nil
        }
    }

    public enum StatusField: Sendable, Equatable {
        case integer(Int64)
        case text(String)
    }

    /// The cluster as the reachable nodes agree on it.
    public struct Summary: Sendable, Equatable {
        public var nodes: [NodeReport]
        /// The leader named at the highest term any reachable node reports (0: none).
        public var leader: Int64
        public var term: Int64

        public var unreachable: [NodeReport] { nodes.filter { !$0.reachable } }
        /// A leader is known and every node answered.
        public var healthy: Bool { leader != 0 && unreachable.isEmpty }
    }

    public static func look(at addresses: [PeerAddress], token: String?, timeoutMillis: Int = 1_000) -> Summary {
        summary(of: addresses.map { report(on: $0, token: token, timeoutMillis: timeoutMillis) })
    }

    /// The leader and term the reports agree on: the leader named at the highest term reported.
    public static func summary(of reports: [NodeReport]) -> Summary {
        let reachable = reports.filter(\.reachable)
        let term = reachable.compactMap { $0.integer("term") }.max() ?? 0
        let leader = reachable.filter { $0.integer("term") == term }.compactMap { $0.integer("leader") }.first { $0 != 0 } ?? 0
        return Summary(nodes: reports, leader: leader, term: term)
    }

    static func report(on address: PeerAddress, token: String?, timeoutMillis: Int) -> NodeReport {
        do throws(RESPClient.Failure) {
            let client = try RESPClient(address, timeoutMillis: timeoutMillis, readBufferBytes: 16 << 10)
            if let token, case .error(let message) = try client.call(["AUTH", token]) {
                return NodeReport(address: address, fields: nil, problem: "AUTH refused: \(message)")
            }
            let reply = try client.call(["CLUSTER.STATUS"])
            guard let fields = fields(of: reply) else {
                if case .error(let message) = reply { return NodeReport(address: address, fields: nil, problem: message) }
                return NodeReport(address: address, fields: nil, problem: "CLUSTER.STATUS answered something else than a map: \(reply)")
            }
            return NodeReport(address: address, fields: fields, problem: nil)
        } catch {
            return NodeReport(address: address, fields: nil, problem: error.description)
        }
    }

    /// A map reply (RESP3) or its RESP2 form, a flat array of names and values.
    static func fields(of reply: RESPValue) -> [String: StatusField]? {
        let pairs: [(RESPValue, RESPValue)]
        switch reply {
        case .map(let map): pairs = map
        case .array(let flat) where flat.count % 2 == 0:
            pairs = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
        default: return nil
        }
        var fields: [String: StatusField] = [:]
        for (key, value) in pairs {
            guard case .bulkString(let name) = key else { return nil }
            switch value {
            case .integer(let number): fields[String(decoding: name, as: UTF8.self)] = .integer(number)
            case .bulkString(let bytes):
                fields[String(decoding: name, as: UTF8.self)] = .text(String(decoding: bytes, as: UTF8.self))
            case .simpleString(let text):
                fields[String(decoding: name, as: UTF8.self)] = .text(text)
            case .array(let members): fields[String(decoding: name, as: UTF8.self)] = .integer(Int64(members.count))
            default: continue
            }
        }
        return fields
    }
}
