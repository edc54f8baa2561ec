import ConclaveCoordination
import ConclaveRaft
import ConclaveWire
import Foundation
import NIOCore

/// INFO and CONFIG GET: what a node says about itself, in Redis's field names where Redis has
/// one (so that monitoring and client libraries read them), Conclave's own beside them.
extension NodeDaemon {
    static let infoSections = ["server", "clients", "replication", "persistence", "stats", "keyspace"]

    /// INFO's text: `# Section` headers and `field:value` lines, as Redis writes them.
    func info(sections: [String]) -> String {
        let wanted = sections.isEmpty || sections.contains("all") || sections.contains("everything") || sections.contains("default")
            ? Self.infoSections : Self.infoSections.filter { sections.contains($0) }
        let status = core.raft.status()
        var text = ""
        for section in wanted {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section.prefix(1).uppercased() + section.dropFirst())\r\n"
            for (field, value) in fields(of: section, status) { text += "\(field):\(value)\r\n" }
        }
        return text
    }

    private func fields(of section: String, _ status: RaftStatus) -> [(String, String)] {
        switch section {
        case "server":
            let uptime = (NIODeadline.now().uptimeNanoseconds - startedNanos) / 1_000_000_000
            return [
                ("redis_version", ConnectionCommands.redisVersion), ("redis_mode", "standalone"), ("server_name", "conclave"),
                ("arch_bits", "\(Int.bitWidth)"), ("process_id", "\(getpid())"),
                ("tcp_port", "\(clientPort.boundPort ?? configuration.clientListen.port)"),
                ("node_id", "\(configuration.id)"), ("cluster", configuration.clusterName),
                ("uptime_in_seconds", "\(uptime)"), ("uptime_in_days", "\(uptime / 86_400)"),
            ] + adminInfoFields
        case "clients":
            let port = clientPort.configuration
            return [
                ("connected_clients", "\(clientPort.connectedClients)"), ("maxclients", "\(port.connectionsMax)"),
                ("blocked_clients", "0"), ("waiting_commands", "\(waiting.count)"),
                ("client_idle_timeout_seconds", "\(port.idleTimeoutSeconds)"),
            ]
        case "replication":
            return replicationFields(status)
        case "persistence":
            return persistenceFields(status)
        case "stats":
            let port = clientPort.statistics
            return [
                ("total_connections_received", "\(port.connectionsAccepted)"),
                ("total_commands_processed", "\(port.commandsProcessed)"),
                ("rejected_connections", "\(port.connectionsRefused)"), ("protocol_errors", "\(port.protocolErrors)"),
                ("output_limit_disconnections", "\(port.outputLimitDisconnects)"),
                ("idle_timeout_disconnections", "\(port.idleDisconnects)"),
                // Forwards and read-index asks sent again because their answer was late (`Resends`).
                ("requests_resent", "\(core.requestsResent)"),
            ]
        case "keyspace":
            let kv = core.stateMachine.kv
            let now = core.stateMachine.nowMillis
            let keys = kv.liveKeyCount(nowMillis: now)
            guard keys > 0 else { return [] }
            let ttls = kv.expiries.values.filter { $0 > now }.map { $0 - now }
            let average = ttls.isEmpty ? 0 : ttls.reduce(0, +) / UInt64(ttls.count)
            return [("db0", "keys=\(keys),expires=\(ttls.count),avg_ttl=\(average)")]
        default:
            return []
        }
    }

    /// Redis's `role` (master on the leader, slave elsewhere) and Raft's own figures.
    private func replicationFields(_ status: RaftStatus) -> [(String, String)] {
        let peersUp = transport.statistics.values.filter(\.connected).count
        return [
            ("role", status.role == .leader ? "master" : "slave"), ("raft_role", "\(status.role)"),
            ("leader_id", "\(status.leader)"), ("term", "\(status.term)"), ("commit_index", "\(status.commit)"),
            ("applied_index", "\(core.stateMachine.appliedIndex)"), ("last_index", "\(status.lastIndex)"),
            ("cluster_time_ms", "\(core.stateMachine.nowMillis)"),
            ("voters", status.voters.map(String.init).joined(separator: ",")),
            ("connected_peers", "\(peersUp)"), ("connected_slaves", status.role == .leader ? "\(peersUp)" : "0"),
        ]
    }

    /// The WAL (an append-only file synced before every answer: Redis's `aof_enabled` with
    /// `appendfsync always`) and the snapshots, with their files on disk.
    private func persistenceFields(_ status: RaftStatus) -> [(String, String)] {
        let wal = Self.files(in: configuration.dataDirectory + "/wal")
        let snapshots = Self.files(in: configuration.dataDirectory + "/snap")
        let snapshot = storage.snapshotMetadata
        let disk = disk()
        return [
            ("loading", "0"), ("aof_enabled", "1"), ("aof_fsync", disk.synced ? "always" : "no"), ("rdb_bgsave_in_progress", "0"),
            ("data_dir", configuration.dataDirectory),
            ("wal_segments", "\(wal.count)"), ("wal_bytes", "\(wal.bytes)"), ("wal_syncs", "\(disk.syncs)"),
            ("wal_fsync_p50_us", "\(disk.fsyncP50Micros)"), ("wal_fsync_p99_us", "\(disk.fsyncP99Micros)"),
            ("wal_first_index", "\(storage.firstIndex)"), ("wal_last_index", "\(storage.lastIndex)"),
            ("wal_failure", storage.failure.map { "\($0)" } ?? "none"),
            ("snapshot_index", "\(snapshot.index)"), ("snapshot_term", "\(snapshot.term)"),
            ("snapshot_files", "\(snapshots.count)"), ("snapshot_bytes", "\(snapshots.bytes)"),
        ]
    }

    /// How many regular files a directory holds and their bytes (0, 0 if it cannot be read).
    private static func files(in directory: String) -> (count: Int, bytes: UInt64) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return (0, 0) }
        var bytes: UInt64 = 0
        for name in names {
            bytes += (try? manager.attributesOfItem(atPath: directory + "/" + name)[.size] as? UInt64) ?? 0
        }
        return (names.count, bytes)
    }

    // MARK: - CONFIG GET

    /// The parameters CONFIG GET answers: Redis's names for what a node has (`save` is empty:
    /// snapshots follow the log, not Redis's schedule; `appendonly yes`: every answer waits for
    /// the WAL's fsync), and Conclave's limits under their own names.
    var configParameters: [(String, String)] {
        let port = clientPort.configuration
        let limits = settings.commandLimits
        return [
            ("save", ""), ("appendonly", "yes"), ("appendfsync", fileSystem.syncsFiles ? "always" : "no"), ("databases", "1"), ("maxmemory", "0"),
            ("maxclients", "\(port.connectionsMax)"), ("timeout", "\(port.idleTimeoutSeconds)"),
            ("port", "\(clientPort.boundPort ?? configuration.clientListen.port)"), ("bind", configuration.clientListen.host),
            ("cluster-enabled", "no"), ("proto-max-bulk-len", "\(port.limits.bulkBytesMax)"),
            ("client-query-buffer-limit", "\(port.limits.frameBytesMax)"),
            ("client-output-buffer-limit", "normal \(port.outputBytesMax) \(port.outputBytesMax) 0"),
            ("key-bytes-max", "\(limits.keyBytesMax)"), ("value-bytes-max", "\(limits.valueBytesMax)"),
            ("keys-per-command-max", "\(limits.keysPerCommandMax)"), ("write-bytes-max", "\(limits.writeBytesMax)"),
        ]
    }

    /// CONFIG GET: the parameters matching any pattern (globs, case-insensitive), as a map.
    func configGet(_ patterns: [String]) -> RESPValue {
        let globs = patterns.map(KVGlob.init)
        return .map(configParameters.filter { name, _ in globs.contains { $0.matches(name) } }.map { (.bulk($0.0), .bulk($0.1)) })
    }
}
