import ConclaveCore
import ConclaveWire
import TOMLKit

/// Everything `conclave node` needs, validated: from flags, a TOML file (`--config`), or both
/// (a flag wins over the file).
///
/// ```toml
/// id = 1
/// data = "/var/lib/conclave/1"
/// peer-listen = "127.0.0.1:7101"
/// client-listen = "127.0.0.1:6381"
/// cluster = "conclave"            # name; its hash is the cluster ID peers must share
/// token-file = "/etc/conclave/token"
/// log-level = "info"
/// max-clients = 10000               # client connections at once (Redis's maxclients)
/// client-idle-timeout-seconds = 0   # close a client idle this long; 0: never (Redis's timeout)
///
/// [peers]
/// 1 = "127.0.0.1:7101"
/// 2 = "127.0.0.1:7102"
/// 3 = "127.0.0.1:7103"
///
/// [callbacks]                       # delay-task callback targets by name (SCHED.ADD … CALLBACK name)
/// billing = "http://127.0.0.1:8080/fire"
/// ```
public struct NodeConfiguration: Equatable, Sendable {
    public var id: NodeID
    public var dataDirectory: String
    public var peerListen: PeerAddress
    public var clientListen: PeerAddress
    public var peers: [NodeID: PeerAddress]
    public var clusterName: String
    /// The cluster token (peers' hello, clients' AUTH); nil on a loopback-only cluster without one.
    public var token: String?
    public var logLevel: String
    /// Client connections at once; one more is told and closed.
    public var clientsMax = 10_000
    /// A client idle this long is closed; 0: never (the default, as Redis's `timeout 0`).
    public var clientIdleTimeoutSeconds: UInt64 = 0
    /// Delay-task callback targets by name: each try is an HTTP POST there (`HTTPCallbackClient`).
    public var callbacks: [String: CallbackEndpoint] = [:]
    /// A new data directory starts as a member of no configuration (not with `peers` as voters): the
    /// node waits for the leader to add it (ADMIN.ADD-MEMBER id host:port). Ignored once the
    /// directory holds a membership.
    public var join = false

    public static let clientsMaxRange = 1...100_000
    /// Up to a year.
    public static let clientIdleTimeoutSecondsRange: ClosedRange<UInt64> = 0...31_536_000

    public var clusterID: UInt64 { StableHash.fnv1a64(Array(clusterName.utf8)) }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    public static let nodesMax = 31

    /// The settings as given, before validation; every field optional.
    public struct Settings: Equatable, Sendable {
        public var id: String?
        public var data: String?
        public var peerListen: String?
        public var clientListen: String?
        public var peers: String?
        public var cluster: String?
        public var token: String?
        public var logLevel: String?
        public var maxClients: String?
        public var clientIdleTimeoutSeconds: String?
        /// `name=http://host:port/path`, comma-separated.
        public var callbacks: String?
        /// "true" or "false".
        public var join: String?

        public init() {}

        /// Fields set here replace those of `base`.
        public func over(_ base: Settings) -> Settings {
            var merged = base
            merged.id = id ?? base.id
            merged.data = data ?? base.data
            merged.peerListen = peerListen ?? base.peerListen
            merged.clientListen = clientListen ?? base.clientListen
            merged.peers = peers ?? base.peers
            merged.cluster = cluster ?? base.cluster
            merged.token = token ?? base.token
            merged.logLevel = logLevel ?? base.logLevel
            merged.maxClients = maxClients ?? base.maxClients
            merged.clientIdleTimeoutSeconds = clientIdleTimeoutSeconds ?? base.clientIdleTimeoutSeconds
            merged.callbacks = callbacks ?? base.callbacks
            merged.join = join ?? base.join
            return merged
        }
    }

    /// Reads a `--config` file's text. Keys are those of the flags; `[peers]` maps IDs to addresses.
    /// `token-file` is returned as the path in `token` (the caller reads the file).
    public static func settings(fromTOML text: String, file: String) throws(ServerInputError) -> (settings: Settings, tokenFile: String?) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ServerInputError("\(file):\(error.source.begin.line):\(error.source.begin.column): \(error.description)")
        } catch {
            throw ServerInputError("\(file): \(error)")
        }
        var settings = Settings()
        var tokenFile: String?
        let accepted = ["id", "data", "peer-listen", "client-listen", "cluster", "token-file", "log-level", "peers", "max-clients",
                        "client-idle-timeout-seconds", "callbacks", "join"]
        for key in table.keys.sorted() {
            guard accepted.contains(key) else {
                throw ServerInputError("\(file): unknown key '\(key)'; accepted: \(accepted.joined(separator: ", "))")
            }
        }
        func string(_ key: String) throws(ServerInputError) -> String? {
            guard let value = table[key] else { return nil }
            if let string = value.string { return string }
            if let number = value.int { return String(number) }
            if let flag = value.bool { return String(flag) }
            throw ServerInputError("\(file): '\(key)' must be a string")
        }
        settings.id = try string("id")
        settings.data = try string("data")
        settings.peerListen = try string("peer-listen")
        settings.clientListen = try string("client-listen")
        settings.cluster = try string("cluster")
        settings.logLevel = try string("log-level")
        settings.maxClients = try string("max-clients")
        settings.clientIdleTimeoutSeconds = try string("client-idle-timeout-seconds")
        tokenFile = try string("token-file")
        settings.join = try string("join")
        if let peers = table["peers"] {
            guard let peerTable = peers.table else { throw ServerInputError("\(file): [peers] must be a table of ID = \"host:port\"") }
            var entries: [String] = []
            for key in peerTable.keys.sorted() {
                guard let address = peerTable[key]?.string else {
                    throw ServerInputError("\(file): peers.\(key) must be a \"host:port\" string")
                }
                entries.append("\(key)=\(address)")
            }
            settings.peers = entries.joined(separator: ",")
        }
        if let callbacks = table["callbacks"] {
            guard let callbackTable = callbacks.table else {
                throw ServerInputError("\(file): [callbacks] must be a table of name = \"http://host:port/path\"")
            }
            var entries: [String] = []
            for key in callbackTable.keys.sorted() {
                guard let url = callbackTable[key]?.string, !url.contains(",") else {
                    throw ServerInputError("\(file): callbacks.\(key) must be an \"http://host:port/path\" string without commas")
                }
                entries.append("\(key)=\(url)")
            }
            settings.callbacks = entries.joined(separator: ",")
        }
        return (settings, tokenFile)
    }

    /// Validates settings into a configuration, naming the first thing wrong and what is accepted.
    public init(validating settings: Settings) throws(ServerInputError) {
        guard let idText = settings.id else { throw ServerInputError("missing --id (this node's ID, 1…\(Self.nodesMax))") }
        guard let id = NodeID(idText), (1...NodeID(Self.nodesMax)).contains(id) else {
            throw ServerInputError("--id '\(idText)': accepted: a number in 1…\(Self.nodesMax)")
        }
        guard let data = settings.data, !data.isEmpty else { throw ServerInputError("missing --data (the node's data directory)") }
        guard let peerText = settings.peerListen else { throw ServerInputError("missing --peer-listen host:port") }
        guard let clientText = settings.clientListen else { throw ServerInputError("missing --client-listen host:port") }
        guard let peersText = settings.peers else {
            throw ServerInputError("missing --peers (every member as ID=host:port, comma-separated, this node included)")
        }
        let peerListen = try PeerAddress(parsing: peerText)
        let clientListen = try PeerAddress(parsing: clientText)
        let peers = try Self.parsePeers(peersText)
        guard let own = peers[id] else { throw ServerInputError("--peers does not list this node (\(id)); every member, this one included") }
        guard own.port == peerListen.port else {
            throw ServerInputError("--peers gives node \(id) port \(own.port) but --peer-listen is \(peerListen); they must agree")
        }
        guard peerListen != clientListen else { throw ServerInputError("--peer-listen and --client-listen are both \(peerListen)") }
        let level = (settings.logLevel ?? "info").lowercased()
        guard Self.logLevels.contains(level) else {
            throw ServerInputError("--log-level '\(level)'; accepted: \(Self.logLevels.joined(separator: ", "))")
        }
        let token = settings.token.flatMap { $0.isEmpty ? nil : $0 }
        for (flag, address) in [("--peer-listen", peerListen), ("--client-listen", clientListen)] where token == nil && !Self.isLoopback(address.host) {
            throw ServerInputError("\(flag) \(address) is not a loopback address: a node that listens beyond 127.0.0.1 needs "
                + "--token-file (the cluster token, which peers and clients must present)")
        }
        var clientsMax = 10_000
        var clientIdleTimeoutSeconds: UInt64 = 0
        if let text = settings.maxClients {
            guard let number = Int(text), Self.clientsMaxRange.contains(number) else {
                throw ServerInputError("--max-clients '\(text)': accepted: \(Self.clientsMaxRange.lowerBound)…\(Self.clientsMaxRange.upperBound)")
            }
            clientsMax = number
        }
        if let text = settings.clientIdleTimeoutSeconds {
            let range = Self.clientIdleTimeoutSecondsRange
            guard let number = UInt64(text), range.contains(number) else {
                throw ServerInputError("--client-idle-timeout-seconds '\(text)': accepted: \(range.lowerBound)…\(range.upperBound) (0: never)")
            }
            clientIdleTimeoutSeconds = number
        }
        self.id = id
        self.dataDirectory = data
        self.peerListen = peerListen
        self.clientListen = clientListen
        self.peers = peers
        self.clusterName = settings.cluster ?? "conclave"
        self.token = token
        self.logLevel = level
        self.clientsMax = clientsMax
        self.clientIdleTimeoutSeconds = clientIdleTimeoutSeconds
        self.callbacks = try settings.callbacks.map(CallbackEndpoint.parseList) ?? [:]
        switch settings.join?.lowercased() {
        case nil, "false": join = false
        case "true": join = true
        case let other?: throw ServerInputError("join '\(other)': accepted: true, false")
        }
    }

    static func parsePeers(_ text: String) throws(ServerInputError) -> [NodeID: PeerAddress] {
        var peers: [NodeID: PeerAddress] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let node = NodeID(parts[0].trimmingCharacters(in: " ")), (1...NodeID(nodesMax)).contains(node) else {
                throw ServerInputError("--peers item '\(item)': accepted: ID=host:port with ID in 1…\(nodesMax)")
            }
            guard peers[node] == nil else { throw ServerInputError("--peers names node \(node) twice") }
            let address = try PeerAddress(parsing: parts[1].trimmingCharacters(in: " "))
            guard !peers.values.contains(address) else { throw ServerInputError("--peers gives \(address) to two nodes") }
            peers[node] = address
        }
        return peers
    }

    /// Loopback by address, not by name: `localhost`, `::1`, or a dotted IPv4 address in
    /// 127.0.0.0/8 (a name such as `127.example.com` resolves anywhere).
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var slice = self
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
