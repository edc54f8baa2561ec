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
        for key in config.history.keys where key.hasPrefix(prefix) && key.hasSuffix("/peer-address") {
            let middle = key.dropFirst(prefix.count).dropLast("/peer-address".count)
            guard let node = NodeID(middle), let value = config.current(key)?.value,
                  let address = try? PeerAddress(parsing: value) else { continue }
            addresses[node] = address
        }
        return addresses
    }

    /// A client's CFG write under the prefix is refused: the addresses are ADMIN's.
    static func refuseClientWrite(_ key: String) throws(RESPError) {
        guard key.hasPrefix(prefix) else { return }
        throw RESPError("ERR config keys under '\(prefix)' are the cluster's member addresses; ADMIN.ADD-MEMBER id host:port writes them")
    }
}
