import ConclaveCoordination
import ConclaveCore
import ConclaveWire

/// Members' peer addresses as the log records them: a member added at an address no node was
/// started with (`ADMIN.ADD-MEMBER 4 127.0.0.1:7104`) has it written to the replicated config
/// store under `conclave/members/<id>/peer-address` before it is added, so every node — and every
/// node restarted or caught up by snapshot later — learns where to reach it (etcd keeps its member
/// list in its store the same way). Clients read the keys with CFG.GET; only ADMIN writes them.
enum MemberAddresses {
    static let prefix = "conclave/members/"

    static func key(_ node: NodeID) -> String { "\(prefix)\(node)/peer-address" }

    /// Every member address recorded in `config`, by node (unparsable entries are skipped: only
    /// ADMIN writes them, and it writes them parsed).
    static func recorded(in config: ConfigStore) -> [NodeID: PeerAddress] {
        var addresses: [NodeID: PeerAddress] = [:]
        for key in config.history.keys {
            if let (node, address) = parse(key, config.current(key)?.value) { addresses[node] = address }
        }
        return addresses
    }

    /// The addresses written after `revision`: read from the store's events (a node that keeps up
    /// reads only what changed), or all of them when the events since then are no longer all
    /// kept (a node that was far behind, or restored from a snapshot) — `revision` `.max` asks for all.
    static func changed(in config: ConfigStore, after revision: UInt64) -> [NodeID: PeerAddress] {
        if revision == config.revision { return [:] }
        guard revision < config.revision,
              case .events(let events, _) = config.watch(prefix: prefix, after: revision),
              events.count < ConfigStore.eventsPerWatchMax else { return recorded(in: config) }
        var addresses: [NodeID: PeerAddress] = [:]
        for event in events {
            if let (node, address) = parse(event.key, event.value) { addresses[node] = address }
        }
        return addresses
    }

    /// A member-address key and its value, when both parse (only ADMIN writes them, parsed).
    private static func parse(_ key: String, _ value: String?) -> (NodeID, PeerAddress)? {
        guard key.hasPrefix(prefix), key.hasSuffix("/peer-address"),
              let node = NodeID(key.dropFirst(prefix.count).dropLast("/peer-address".count)),
              let value, let address = try? PeerAddress(parsing: value) else { return nil }
        return (node, address)
    }

    /// A client's CFG write under the prefix is refused: the addresses are ADMIN's.
    static func refuseClientWrite(_ key: String) throws(RESPError) {
        guard key.hasPrefix(prefix) else { return }
        throw RESPError("ERR config keys under '\(prefix)' are the cluster's member addresses; ADMIN.ADD-MEMBER id host:port writes them")
    }
}
