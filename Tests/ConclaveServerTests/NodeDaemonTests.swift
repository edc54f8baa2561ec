import ConclaveWire
import Foundation
import Logging
import Testing
@testable import ConclaveServer
#if canImport(Glibc)
import Glibc
#endif

/// A real one-node daemon (WAL in a temporary directory, sockets on 127.0.0.1): the Redis KV
/// surface end to end, and a connection's commands taking effect in its order although writes go
/// through the log and reads through ReadIndex.
@Suite(.serialized) struct NodeDaemonTests {
    /// A port free a moment ago (the daemon binds it next).
    static func freePort() -> Int { freeLoopbackPort() }

    struct Node {
        let daemon: NodeDaemon
        let directory: String
        var port: Int { daemon.boundPorts.client ?? 0 }
    }

    static func start(token: String? = nil, callbacks: String? = nil, directory given: String? = nil,
                      tune: (inout NodeDaemon.Settings) -> Void = { _ in }) throws -> Node {
        let directory = given ?? NSTemporaryDirectory() + "conclave-daemon-\(UUID().uuidString)"
        let peer = freePort()
        var settings = NodeConfiguration.Settings()
        settings.id = "1"
        settings.data = directory
        settings.peerListen = "127.0.0.1:\(peer)"
        settings.clientListen = "127.0.0.1:\(freePort())"
        settings.peers = "1=127.0.0.1:\(peer)"
        settings.token = token
        settings.callbacks = callbacks
        let configuration = try NodeConfiguration(validating: settings)
        var timing = NodeDaemon.Settings()
        timing.electionTimeoutTicks = 10
        timing.heartbeatTicks = 2
        tune(&timing)
        var logger = Logger(label: "test.daemon")
        logger.logLevel = .critical
        let daemon = try NodeDaemon.start(configuration, settings: timing, logger: logger)
        let node = Node(daemon: daemon, directory: directory)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let client = try TestSocket(port: node.port)
            if token != nil { client.send("AUTH \(token!)\r\n"); _ = client.replies(1) }
            client.send("INFO replication\r\n")
            if case .bulkString(let text) = client.replies(1).values.first, String(decoding: text, as: UTF8.self).contains("leader_id:1") {
                return node
            }
            usleep(20_000)
        }
        stop(node)
        throw ServerInputError("the one-node daemon elected no leader in 20 s")
    }

    /// Cluster time starts at 0 with the cluster: waits for its first clock entries, so that
    /// instant 1 ms is in the past.
    static func waitForClusterTime(_ client: TestSocket) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            client.send("INFO replication\r\n")
            if case .bulkString(let text) = client.replies(1).values.first,
               let line = String(decoding: text, as: UTF8.self).split(separator: "\r\n").first(where: { $0.hasPrefix("cluster_time_ms:") }),
               let millis = Int(line.dropFirst("cluster_time_ms:".count)), millis > 1 {
                return
            }
            usleep(20_000)
        }
        throw ServerInputError("cluster time did not move in 10 s")
    }

    static func stop(_ node: Node) {
        node.daemon.shutdown(drain: false)
        _ = node.daemon.wait()
        try? FileManager.default.removeItem(atPath: node.directory)
    }

    @Test("pipelined commands take effect in order: a read after a write sees it, a PING between writes stays between")
    func pipelineOrder() throws {
        let node = try Self.start()
        defer { Self.stop(node) }
        let client = try TestSocket(port: node.port)
        client.send("SET a 1\r\nPING\r\nGET a\r\nSET a 2\r\nPING between\r\nSET a 3\r\nGET a\r\nINCR n\r\nGET n\r\nDEL a\r\nEXISTS a\r\nGET a\r\n")
        #expect(client.replies(12).values == [
            .simpleString("OK"), .simpleString("PONG"), .bulk("1"), .simpleString("OK"), .bulk("between"), .simpleString("OK"),
            .bulk("3"), .integer(1), .bulk("1"), .integer(1), .integer(0), .null,
        ])
        var text = ""
        for round in 0..<300 { text += "SET k \(round)\r\nGET k\r\n" }
        client.send(text)
        let replies = client.replies(600).values
        #expect(replies.count == 600)
        for round in 0..<min(300, replies.count / 2) {
            #expect(replies[2 * round] == .simpleString("OK"))
            #expect(replies[2 * round + 1] == .bulk("\(round)"), "round \(round) read another write than its own")
        }
    }

    @Test("the Redis KV surface end to end: SET options, GETDEL, MGET/MSET, TTLs, SCAN, KEYS, DBSIZE, FLUSHDB")
    func keyspace() throws {
        let node = try Self.start()
        defer { Self.stop(node) }
        let client = try TestSocket(port: node.port)
        try Self.waitForClusterTime(client)
        client.send("FLUSHDB\r\nMSET a 1 b 2 c 3\r\nMGET a b nope\r\nSET a 9 GET\r\nGETSET a 10\r\nGETDEL b\r\nDBSIZE\r\n"
            + "SET t v EX 100\r\nTTL t\r\nPEXPIRE t 5000 GT\r\nPERSIST t\r\nPTTL t\r\nEXPIRE t -1\r\nEXISTS t\r\nSET x y NX\r\n"
            + "SET x z NX\r\nKEYS *\r\nSCAN 0 COUNT 1000\r\nSCAN 0 MATCH x\r\nSET k v PXAT 1\r\nGET k\r\nFLUSHALL\r\nDBSIZE\r\n")
        let replies = client.replies(23).values
        #expect(replies.count == 23)
        guard replies.count == 23 else { return }
        #expect(Array(replies[0..<8]) == [
            .simpleString("OK"), .simpleString("OK"), .array([.bulk("1"), .bulk("2"), .null]), .bulk("1"), .bulk("9"), .bulk("2"),
            .integer(2), .simpleString("OK"),
        ])
        #expect(replies[8] == .integer(100))
        #expect(Array(replies[9..<16]) == [.integer(0), .integer(1), .integer(-1), .integer(1), .integer(0), .simpleString("OK"), .null])
        guard case .array(let listed) = replies[16] else { Issue.record("KEYS \(replies[16])"); return }
        let keys = Set(listed.compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } })
        #expect(keys == ["a", "c", "x"])
        guard case .array(let page) = replies[17], page.count == 2, case .array(let scanned) = page[1] else {
            Issue.record("SCAN \(replies[17])")
            return
        }
        #expect(page[0] == .bulk("0") && Set(scanned.compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } }) == keys)
        #expect(replies[18] == .array([.bulk("0"), .array([.bulk("x")])]))
        #expect(Array(replies[19...]) == [.simpleString("OK"), .null, .simpleString("OK"), .integer(0)],
                "PXAT 1 is long past in cluster time: the key is gone at once")
    }

    @Test("RESP3 after HELLO 3: nulls, maps and verbatim text; RESP2 gets their Redis downgrades")
    func resp3() throws {
        let node = try Self.start()
        defer { Self.stop(node) }
        let client = try TestSocket(port: node.port)
        client.send("CONFIG GET save\r\nHELLO 3\r\nGET nope\r\nMGET nope\r\nCONFIG GET appendonly\r\nINFO server\r\nCOMMAND COUNT\r\n")
        let replies = client.replies(7).values
        guard replies.count == 7 else { Issue.record("\(replies)"); return }
        #expect(replies[0] == .array([.bulk("save"), .bulk("")]))
        #expect(replies[2] == .null && replies[3] == .array([.null]))
        #expect(replies[4] == .map([(.bulk("appendonly"), .bulk("yes"))]))
        guard case .verbatim(let format, let text) = replies[5] else { Issue.record("INFO \(replies[5])"); return }
        #expect(format == "txt" && text.contains("redis_version:7.2.0") && text.contains("# Server"))
        guard case .integer(let count) = replies[6] else { Issue.record("COMMAND COUNT \(replies[6])"); return }
        #expect(count > 30)
        let raw = try TestSocket(port: node.port)
        raw.send("GET nope\r\nHELLO 3\r\nGET nope\r\n")
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let deadline = Date().addingTimeInterval(10)
        while !bytes.starts(with: Array("$-1\r\n%".utf8)) || bytes.suffix(3) != Array("_\r\n".utf8), Date() < deadline {
            let received = recv(raw.fd, &chunk, chunk.count, 0)
            if received > 0 { bytes += chunk[0..<received] }
        }
        #expect(bytes.starts(with: Array("$-1\r\n%".utf8)) && bytes.suffix(3) == Array("_\r\n".utf8),
                "RESP2's null, HELLO's map, RESP3's null on the wire: \(String(decoding: bytes, as: UTF8.self))")
    }

    @Test("INFO has every section with Redis's fields and the cluster's; CONFIG GET answers what redis-benchmark asks")
    func infoAndConfig() throws {
        let node = try Self.start()
        defer { Self.stop(node) }
        let client = try TestSocket(port: node.port)
        client.send("SET k v\r\nINFO\r\nCONFIG GET *max*\r\n")
        let replies = client.replies(3).values
        guard replies.count == 3, case .bulkString(let bytes) = replies[1] else { Issue.record("\(replies)"); return }
        let text = String(decoding: bytes, as: UTF8.self)
        for field in ["# Server", "redis_version:", "# Clients", "connected_clients:1", "maxclients:10000", "# Replication", "role:master",
                      "leader_id:1", "term:", "commit_index:", "applied_index:", "# Persistence", "aof_enabled:1", "wal_segments:",
                      "wal_syncs:", "wal_fsync_p50_us:", "wal_fsync_p99_us:", "aof_fsync:always", "snapshot_index:", "# Stats", "total_commands_processed:", "total_connections_received:",
                      "# Keyspace", "db0:keys=1,expires=0"] {
            #expect(text.contains(field), "INFO lacks \(field)")
        }
        guard case .array(let config) = replies[2] else { Issue.record("CONFIG \(replies[2])"); return }
        #expect(config.contains(.bulk("maxclients")) && config.contains(.bulk("maxmemory")) && !config.contains(.bulk("save")))
    }

    @Test("--unsafe-no-fsync: writes are answered and survive a restart of the process; INFO and CONFIG say the WAL is not synced")
    func unsafeNoFsync() throws {
        let directory = NSTemporaryDirectory() + "conclave-daemon-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var node = try Self.start(directory: directory) { $0.unsafeNoFsync = true }
        var client = try TestSocket(port: node.port)
        client.send((0..<20).map { "SET k\($0) v\($0)\r\n" }.joined() + "INFO persistence\r\nCONFIG GET appendfsync\r\n")
        let replies = client.replies(22).values
        #expect(replies.prefix(20).allSatisfy { $0 == .simpleString("OK") })
        guard replies.count == 22, case .bulkString(let bytes) = replies[20] else { Issue.record("\(replies)"); return }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("aof_fsync:no") && text.contains("wal_fsync_p50_us:"), "\(text)")
        #expect(replies[21] == .array([.bulk("appendfsync"), .bulk("no")]))
        node.daemon.shutdown()
        _ = node.daemon.wait()
        node = try Self.start(directory: directory)
        defer { node.daemon.shutdown(drain: false); _ = node.daemon.wait() }
        client = try TestSocket(port: node.port)
        client.send((0..<20).map { "GET k\($0)\r\n" }.joined() + "CONFIG GET appendfsync\r\n")
        let after = client.replies(21).values
        #expect(Array(after.prefix(20)) == (0..<20).map { RESPValue.bulk("v\($0)") }, "written to the file, read back after the restart")
        #expect(after.last == .array([.bulk("appendfsync"), .bulk("always")]), "a restart without the flag syncs again")
    }

    @Test("with a token: PING answers, everything else is NOAUTH until AUTH")
    func token() throws {
        let node = try Self.start(token: "t0ken")
        defer { Self.stop(node) }
        let client = try TestSocket(port: node.port)
        client.send("PING\r\nGET k\r\nINFO\r\nAUTH t0ken\r\nSET k v\r\nGET k\r\n")
        #expect(client.replies(6).values == [
            .simpleString("PONG"), .error("NOAUTH Authentication required."), .error("NOAUTH Authentication required."),
            .simpleString("OK"), .simpleString("OK"), .bulk("v"),
        ])
    }
}
