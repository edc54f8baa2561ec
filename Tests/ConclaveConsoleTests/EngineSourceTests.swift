import ConclaveWire
import Foundation
import Testing
@testable import ConclaveConsole

/// The etcd and Redis sources without sockets: answers recorded from a real 3-member etcd 3.4
/// (Golden/etcd-stream.txt: `etcdctl lock locks/orders` three times, `etcdctl lock inventory`, a
/// lease, a watch of config/) and three real Redis 7 instances (Golden/redis-stream.txt) in,
/// snapshots and golden frames out.
@Suite struct EngineSourceTests {
    static let etcdURLs = ["http://127.0.0.1:23801", "http://127.0.0.1:23802", "http://127.0.0.1:23803"]
    static let redisURLs = ["redis://127.0.0.1:26391", "redis://127.0.0.1:26392", "redis://127.0.0.1:26393"]

    static func lines(_ name: String) throws -> [(nanos: UInt64, kind: String, index: Int, body: String)] {
        let text = try String(contentsOf: GoldenFrameTests.directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
            return (UInt64(parts[0])!, parts[1], Int(parts[2])!, parts[3])
        }
    }

    /// Replays the etcd recording: statuses per member, one cluster-wide round, watch chunks.
    static func etcd(lockPrefix: String? = nil, until: UInt64 = .max) throws -> (EngineSnapshotBuilder, UInt64) {
        var builder = EngineSnapshotBuilder(kind: .etcd, urls: etcdURLs, lockScope: lockPrefix, watchPrefix: "config")
        var round = EtcdReport.ClusterRound()
        var roundAt: UInt64?
        var last: UInt64 = 0
        for line in try lines("etcd-stream.txt") where line.nanos <= until {
            last = line.nanos
            if line.kind != "status" && line.kind != "watch" { roundAt = line.nanos }
            switch line.kind {
            case "status": builder.take(try EtcdReport.status(line.body), from: line.index, atNanos: line.nanos)
            case "members": round.members = try EtcdReport.members(line.body)
            case "alarms": round.alarms = try EtcdReport.alarms(line.body)
            case "range": round.keys = try EtcdReport.keys(line.body).keys
            case "leases": round.leaseCount = try EtcdReport.leaseIDs(line.body).count
            case "ttl": round.leases.append(try EtcdReport.timeToLive(line.body))
            case "watch":
                if let at = roundAt { builder.take(round, atNanos: at); roundAt = nil }
                builder.take(try EtcdReport.watch(line.body).events, atNanos: line.nanos)
            default: Issue.record("unknown line kind \(line.kind)")
            }
        }
        if let at = roundAt { builder.take(round, atNanos: at) }
        return (builder, last)
    }

    /// Replays the Redis recording: each instance's INFO and its keys' TYPE, PTTL and value.
    static func redis(pattern: String = "*") throws -> (EngineSnapshotBuilder, UInt64) {
        var builder = EngineSnapshotBuilder(kind: .redis, urls: redisURLs, lockScope: pattern, watchPrefix: nil)
        var last: UInt64 = 0
        for line in try lines("redis-stream.txt") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.body.utf8)) as? [String: Any])
            let rows = try #require(object["keys"] as? [[Any]])
            let keys = rows.map { $0[0] as! String }
            let replies = rows.flatMap { row -> [RESPValue] in
                [.simpleString(row[1] as! String), .integer(Int64((row[2] as! NSNumber).intValue)),
                 (row[3] as? String).map { .bulkString(Array($0.utf8)) } ?? .null]
            }
            let report = RedisReport(info: RedisReport.info(object["info"] as! String), locks: RedisReport.locks(keys: keys, replies: replies),
                                     waiters: object["waiters"] as! [String: [String]], truncated: false)
            builder.take(report, from: line.index, atNanos: line.nanos)
            last = line.nanos
        }
        return (builder, last)
    }

    static func frame(_ snapshot: ClusterSnapshot, view: ViewID) -> Frame {
        var state = ConsoleState(snapshot: snapshot, readOnly: false, confirmDangerous: true)
        _ = ConsoleApp.update(&state, .key(.character(Character("\(view.rawValue)"))))
        return ConsoleRenderer.render(state, size: GoldenFrameTests.size)
    }

    @Test("etcd: members with the leader, raft term and index, DB size; locks from etcdctl lock with holder and waiters in create-revision order")
    func etcdRecorded() throws {
        let (builder, last) = try Self.etcd()
        let snapshot = builder.snapshot(nowNanos: last)
        let foreign = try #require(snapshot.foreign)
        #expect(snapshot.engine == .etcd && snapshot.mode == "etcd")
        #expect(foreign.endpoints.map(\.answers) == [true, true, true])
        #expect(foreign.endpoints.filter(\.isLeader).count == 1)
        #expect(foreign.leader == foreign.endpoints.first { $0.isLeader }?.member)
        #expect(foreign.endpoints.allSatisfy { $0.raftTerm == 2 && $0.raftIndex > 0 && $0.dataBytes >= 20_480 && $0.version == "3.4.23" })
        #expect(foreign.endpoints.map(\.name) == ["e1", "e2", "e3"])
        let orders = try #require(snapshot.locks.first { $0.name == "locks/orders" })
        #expect(orders.holders.map(\.token) == [2], "the holder is the key with the lowest create revision")
        #expect(orders.holders.first?.owner == "lease 5c9a24992c26d04")
        #expect(orders.waiterOwners == ["lease 7cbaa24992c26e05 rev 3", "lease 5c9a24992c26d07 rev 4"])
        #expect(snapshot.locks.map(\.name) == ["inventory", "locks/orders"], "config/timeout has no lease: not a mutex key")
        #expect(foreign.leases.count == 5 && foreign.leases.contains { $0.grantedSeconds == 300 && $0.keys.isEmpty })
        #expect(snapshot.configEvents.map(\.key) == ["config/timeout", "config/retries", "config/retries", "config/retries", "config/retries"])
        #expect(snapshot.configEvents.last?.value == nil, "the last event deleted the key")
        #expect(snapshot.events.contains { $0.kind == .election && $0.text.contains("leads (raft term 2)") })
        #expect(snapshot.events.contains { $0.text == "locks/orders: held by lease 5c9a24992c26d04" })
    }

    @Test("etcd: a lease's TTL and a holder's TTL count down between polls, and stop at zero")
    func countdown() throws {
        let (builder, last) = try Self.etcd()
        let first = try #require(builder.snapshot(nowNanos: last).locks.first { $0.name == "locks/orders" }?.holders.first?.leaseLeftMillis)
        let later = try #require(builder.snapshot(nowNanos: last + 2_000_000_000).locks.first { $0.name == "locks/orders" }?.holders.first?.leaseLeftMillis)
        #expect(first - later == 2_000)
        let lease = try #require(builder.snapshot(nowNanos: last + 4_000_000_000_000).foreign?.leases.first)
        #expect(lease.ttlLeftMillis == 0)
    }

    @Test("etcd: --lock-prefix narrows the locks; a prefix with no locks says what was looked for")
    func lockPrefix() throws {
        let (builder, last) = try Self.etcd(lockPrefix: "locks/")
        #expect(builder.snapshot(nowNanos: last).locks.map(\.name) == ["locks/orders"])
        let (empty, end) = try Self.etcd(lockPrefix: "nothing/")
        let snapshot = empty.snapshot(nowNanos: end)
        #expect(snapshot.locks.isEmpty)
        try GoldenFrameTests.check("etcd-no-locks", Self.frame(snapshot, view: .locks))
    }

    @Test("etcd golden frames: members and leases, locks, the watch, and a view etcd has nothing for",
          arguments: [ViewID.cluster, .locks, .kv, .scheduler])
    func etcdGolden(_ view: ViewID) throws {
        let (builder, last) = try Self.etcd()
        try GoldenFrameTests.check("etcd-view-\(view.rawValue)", Self.frame(builder.snapshot(nowNanos: last + 1_000_000_000), view: view))
    }

    @Test("etcd: an unreachable member is named with what failed and the others still show; it answers again later")
    func unreachable() throws {
        var (builder, last) = try Self.etcd()
        builder.lost(1, problem: "127.0.0.1:23802: connection refused", atNanos: last + 1)
        let snapshot = builder.snapshot(nowNanos: last + 1)
        #expect(snapshot.foreign?.endpoints.map(\.answers) == [true, false, true])
        #expect(snapshot.nodes[1].health == .unreachable)
        #expect(snapshot.events.last?.text == "http://127.0.0.1:23802: 127.0.0.1:23802: connection refused")
        #expect(snapshot.foreign?.health.isAlert == true)
        try GoldenFrameTests.check("etcd-unreachable", Self.frame(snapshot, view: .cluster))
    }

    @Test("Redis: lock keys with owner and PTTL, waiters from name:waiters, Redlock placement; counters and keys without a TTL are not locks")
    func redisRecorded() throws {
        let (builder, last) = try Self.redis()
        let snapshot = builder.snapshot(nowNanos: last)
        #expect(snapshot.engine == .redis)
        #expect(snapshot.locks.map(\.name) == ["inventory", "orders"])
        let inventory = snapshot.locks[0]
        #expect(inventory.holders.first?.owner == "tok-123")
        #expect(inventory.placement == "on 3/3 (majority) · owners agree")
        let orders = snapshot.locks[1]
        #expect(orders.placement == "on 1/3 (no majority) · owners differ (2)")
        #expect(orders.waiterOwners == ["tok-w1", "tok-w2"])
        #expect((orders.holders.first?.leaseLeftMillis ?? 0) > 20_000)
        let endpoints = try #require(snapshot.foreign?.endpoints)
        #expect(endpoints.map(\.role) == ["master", "master", "master"] && endpoints.allSatisfy { $0.version == "7.0.15" })
    }

    @Test("Redis golden frames: instances with Redlock, locks", arguments: [ViewID.cluster, .locks, .kv])
    func redisGolden(_ view: ViewID) throws {
        let (builder, last) = try Self.redis()
        try GoldenFrameTests.check("redis-view-\(view.rawValue)", Self.frame(builder.snapshot(nowNanos: last + 1_000_000_000), view: view))
    }

    @Test("the palette's engine commands parse, and each engine refuses what it cannot do with why")
    func controls() throws {
        #expect(try PaletteParser.parse("put config/a hello world") == .control(.engine(.put(key: "config/a", value: "hello world"))))
        #expect(try PaletteParser.parse("revoke 0x5C9A24992C26D04") == .control(.engine(.revokeLease("5c9a24992c26d04"))))
        #expect(throws: PaletteError.self) { try PaletteParser.parse("revoke zz") }
        #expect(ClusterControl.transfer(to: .id(2)).unavailability(on: .etcd) == nil)
        #expect(ClusterControl.transfer(to: .id(2)).unavailability(on: .redis)?.contains("no elected leader") == true)
        #expect(ClusterControl.engine(.revokeLease("1")).unavailability(on: .redis)?.contains("no leases") == true)
        #expect(ClusterControl.kill(.leader).unavailability(on: .etcd)?.contains("not the console's to fault") == true)
        #expect(ClusterControl.engine(.put(key: "a", value: "b")).unavailability(on: .raft) != nil)
        #expect(ViewID.ids.unavailability(on: .etcd) != nil && ViewID.locks.unavailability(on: .redis) == nil)
    }
}
