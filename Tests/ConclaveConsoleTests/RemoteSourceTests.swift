import ConclaveWire
import Foundation
import Testing
@testable import ConclaveConsole

/// The remote source without sockets: status reports (a stream recorded from three real nodes,
/// Golden/remote-stream.txt, or reports made here) in, snapshots, frames and control plans out.
@Suite struct RemoteSourceTests {
    static let addresses = [6381, 6382, 6383].map { PeerAddress(host: "127.0.0.1", port: $0) }

    /// The recorded stream: "arrival-nanos node-index json" per line, as `CLUSTER.WATCH 100`
    /// pushed it from 3 node processes (one lock held with a waiter, one more held, keys, config,
    /// IDs, a throttle).
    static func recorded() throws -> [(nanos: UInt64, index: Int, report: NodeStatusReport)] {
        let text = try String(contentsOf: GoldenFrameTests.directory.appendingPathComponent("remote-stream.txt"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            let report = try NodeStatusReport(decoding: Array(parts[2].utf8))
            return (UInt64(parts[0])!, Int(parts[1])!, report)
        }
    }

    static func replayed(until nanos: UInt64 = .max) throws -> RemoteSnapshotBuilder {
        var builder = RemoteSnapshotBuilder(addresses: addresses, intervalMillis: 100)
        for entry in try recorded() where entry.nanos <= nanos { builder.take(entry.report, from: entry.index, atNanos: entry.nanos) }
        return builder
    }

    static func report(_ node: UInt64, role: String = "follower", leader: UInt64 = 1, term: UInt64 = 3, sent: UInt64 = 0,
                       cutFrom: [UInt64] = [], applied: UInt64 = 10) -> NodeStatusReport {
        var report = NodeStatusReport(node: node, cluster: "conclave", role: role, leader: leader, term: term, vote: leader,
                                      commit: applied, applied: applied, lastIndex: applied, snapshotIndex: 0, voters: [1, 2, 3],
                                      learners: [], electionElapsedTicks: 0, electionTimeoutTicks: 100, uptimeMillis: 0,
                                      wallMillis: 0, clusterTimeMillis: 0)
        report.pid = Int32(1_000 + node)
        report.peers = [1, 2, 3].filter { $0 != node }.map {
            NodeStatusReport.Peer(id: $0, address: nil, connected: true, messagesSent: sent, messagesReceived: 0, faultDrops: 0,
                                  cut: cutFrom.contains($0))
        }
        report.faults.cutFrom = cutFrom
        return report
    }

    @Test("the recorded stream gives every node, the leader, its locks with holder and waiter, keys, config, IDs and the heap")
    func recordedStream() throws {
        let snapshot = try Self.replayed().snapshot(nowNanos: try #require(Self.recorded().last).nanos)
        #expect(snapshot.mode == "remote")
        #expect(snapshot.nodes.map(\.health) == [.up, .up, .up])
        let leader = try #require(snapshot.leader)
        #expect(snapshot.nodes.filter { $0.role == .leader }.map(\.id) == [leader.id])
        let orders = try #require(snapshot.locks.first { $0.name == "orders" })
        #expect(orders.holders.count == 1 && orders.waiters.count == 1 && orders.lastToken >= 1)
        #expect(snapshot.locks.contains { $0.name == "inventory" && $0.holders.count == 1 })
        #expect(snapshot.kv.map(\.key).contains("user:1"))
        #expect(snapshot.config.contains { $0.key == "app/timeout" && $0.value == "45s" && $0.versions == 2 })
        #expect(snapshot.ids.workers.count == 3)
        #expect(snapshot.limiters.map(\.name) == ["api:login"])
        #expect(snapshot.scheduler.distributed?.owners.count == 12, "the partition table as the nodes replicate it")
        #expect(snapshot.messagesPerSecond > 0, "link rates come from the transports' counters between reports")
        #expect(snapshot.leaderTimeline.last?.leader == leader.id)
    }

    @Test("golden frame of each view from the recorded stream", arguments: ViewID.allCases)
    func goldenView(_ view: ViewID) throws {
        let snapshot = try Self.replayed().snapshot(nowNanos: try #require(Self.recorded().last).nanos)
        var state = ConsoleState(snapshot: snapshot, readOnly: false, confirmDangerous: true)
        _ = ConsoleApp.update(&state, .key(.character(Character("\(view.rawValue)"))))
        let name = "remote-view-\(view.rawValue)-\(view.title.lowercased().replacingOccurrences(of: "/", with: "-"))"
        try GoldenFrameTests.check(name, ConsoleRenderer.render(state, size: GoldenFrameTests.size))
    }

    @Test("a node silent past five intervals (at least 1 s) is unreachable, with the time since it was heard; a lost connection at once")
    func silence() {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for node: UInt64 in 1...3 { builder.take(Self.report(node, role: node == 1 ? "leader" : "follower"), from: Int(node - 1), atNanos: 0) }
        #expect(builder.snapshot(nowNanos: 900_000_000).nodes.map(\.health) == [.up, .up, .up])
        let later = builder.snapshot(nowNanos: 1_500_000_000)
        #expect(later.nodes.map(\.health) == [.unreachable, .unreachable, .unreachable])
        #expect(later.nodes[0].silentMillis == 1_500)
        builder.take(Self.report(2), from: 1, atNanos: 1_600_000_000)
        builder.lost(0, problem: "127.0.0.1:6381 closed the connection")
        let snapshot = builder.snapshot(nowNanos: 1_600_000_000)
        #expect(snapshot.nodes.map(\.health) == [.unreachable, .up, .unreachable])
        #expect(snapshot.events.contains { $0.kind == .fault && $0.text.contains("node 1 unreachable: 127.0.0.1:6381 closed") })
        #expect(snapshot.leader == nil, "the leader's report is the one missing")
    }

    @Test("each node's card shows its WAL's fsync p99, or that it does not sync; a report without a disk shows neither")
    func diskOnCards() {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for node: UInt64 in 1...3 {
            var report = Self.report(node, role: node == 1 ? "leader" : "follower")
            if node == 1 { report.disk = .init(syncs: 900, fsyncP50Micros: 176, fsyncP99Micros: 448, synced: true) }
            if node == 2 { report.disk = .init(syncs: 900, fsyncP50Micros: 3, fsyncP99Micros: 2_400, synced: true) }
            if node == 3 { report.disk = .init(syncs: 900, fsyncP50Micros: 3, fsyncP99Micros: 11, synced: false) }
            builder.take(report, from: Int(node - 1), atNanos: 0)
        }
        let snapshot = builder.snapshot(nowNanos: 0)
        #expect(snapshot.nodes.map(\.fsyncP99Micros) == [448, 2_400, 11])
        #expect(snapshot.nodes.map(\.fsyncOff) == [false, false, true])
        let frame = ConsoleRenderer.render(ConsoleState(snapshot: snapshot, readOnly: false, confirmDangerous: true),
                                           size: GoldenFrameTests.size).text
        #expect(frame.contains("up · fsync p99 448µs") && frame.contains("up · fsync p99 2.4ms") && frame.contains("up · NO FSYNC"), "\(frame)")
        var silent = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        silent.take(Self.report(1, role: "leader"), from: 0, atNanos: 0)
        #expect(silent.snapshot(nowNanos: 0).nodes[0].fsyncP99Micros == nil)
    }

    @Test("link rates are counter deltas over the time between two reports; operators' cuts make partition groups")
    func linksAndPartitions() {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        builder.take(Self.report(1, role: "leader", sent: 100), from: 0, atNanos: 0)
        builder.take(Self.report(1, role: "leader", sent: 150), from: 0, atNanos: 500_000_000)
        builder.take(Self.report(2, cutFrom: [3]), from: 1, atNanos: 500_000_000)
        builder.take(Self.report(3, cutFrom: [2]), from: 2, atNanos: 500_000_000)
        let snapshot = builder.snapshot(nowNanos: 500_000_000)
        #expect(snapshot.links[0][1].messagesPerSecond == 100)
        #expect(snapshot.links[1][2].isOpen == false && snapshot.links[1][0].isOpen)
        #expect(snapshot.network.groups == [[1, 2], [3]])
        #expect(snapshot.health == .partitioned)
    }

    @Test("leader changes become election events and timeline spans")
    func leaderChanges() {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        builder.take(Self.report(1, role: "leader", leader: 1, term: 3), from: 0, atNanos: 0)
        builder.take(Self.report(2, leader: 2, term: 4), from: 1, atNanos: 200_000_000)
        let snapshot = builder.snapshot(nowNanos: 200_000_000)
        #expect(snapshot.leaderTimeline.map(\.leader) == [1, 2])
        #expect(snapshot.events.filter { $0.kind == .election }.map(\.text) == ["node 1 leads (term 3)", "node 2 leads (term 4)"])
    }

    @Test("controls become ADMIN commands to the right nodes, a kill of a local node its pid, and what real nodes cannot do is refused")
    func controlPlans() throws {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for node: UInt64 in 1...3 { builder.take(Self.report(node, role: node == 1 ? "leader" : "follower"), from: Int(node - 1), atNanos: 0) }
        #expect(try RemoteControlPlan.make(.kill(.leader), cluster: builder).steps == [.kill(pid: 1_001, node: 1)])
        #expect(try RemoteControlPlan.make(.partition([[.id(1)]]), cluster: builder).steps == [
            .command(index: 0, arguments: ["ADMIN.PARTITION", "2", "3"]),
            .command(index: 1, arguments: ["ADMIN.PARTITION", "1"]),
            .command(index: 2, arguments: ["ADMIN.PARTITION", "1"]),
        ])
        #expect(try RemoteControlPlan.make(.pause(.id(2), millis: 1_500), cluster: builder).steps
            == [.command(index: 1, arguments: ["ADMIN.PAUSE", "2"])])
        #expect(try RemoteControlPlan.make(.transfer(to: .id(3)), cluster: builder).steps
            == [.command(index: 0, arguments: ["ADMIN.TRANSFER-LEADER", "3"])])
        #expect(try RemoteControlPlan.make(.heal, cluster: builder).steps.count == 3)
        #expect(throws: ControlError.self) { try RemoteControlPlan.make(.restart(.id(1)), cluster: builder) }
        #expect(throws: ControlError.self) { try RemoteControlPlan.make(.kill(.id(9)), cluster: builder) }
        var far = RemoteSnapshotBuilder(addresses: [PeerAddress(host: "10.0.0.5", port: 6381)], intervalMillis: 100)
        far.take(Self.report(1, role: "leader"), from: 0, atNanos: 0)
        do {
            _ = try RemoteControlPlan.make(.kill(.leader), cluster: far)
            Issue.record("a node on another machine was planned a local kill")
        } catch {
            #expect(error.message.contains("not on this machine"))
        }
    }

    @Test("routing breakers: failed connects open a node's route, it is left alone, then probed once and closed by a report")
    func routeBreakers() throws {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for attempt in 0..<3 {
            let admitted = builder.admitConnect(0, atNanos: UInt64(attempt) * 100_000_000)
            let permit = try #require(admitted)
            builder.connected(0, permit, succeeded: false, atNanos: UInt64(attempt) * 100_000_000 + 1)
        }
        #expect(builder.snapshot(nowNanos: 300_000_000).breakers.first?.state == .open)
        #expect(builder.admitConnect(0, atNanos: 1_000_000_000) == nil, "an open route is not tried")
        let admitted = builder.admitConnect(0, atNanos: 2_400_000_000)
        let probe = try #require(admitted, "half-open after 2 s: one probe")
        #expect(builder.admitConnect(0, atNanos: 2_400_000_001) == nil, "one probe at a time")
        builder.connected(0, probe, succeeded: true, atNanos: 2_500_000_000)
        let snapshot = builder.snapshot(nowNanos: 2_500_000_000)
        #expect(snapshot.breakers.map(\.name) == ["→127.0.0.1:6381", "→127.0.0.1:6382", "→127.0.0.1:6383"])
        #expect(snapshot.breakers.first?.state == .closed)
        #expect(snapshot.events.filter { $0.text.hasPrefix("route 127.0.0.1:6381:") }.count == 3, "closed → open → half-open → closed, logged")
        #expect(try builder.operate("→127.0.0.1:6382", .open, atNanos: 3_000_000_000) == "open →127.0.0.1:6382")
        #expect(builder.admitConnect(1, atNanos: 3_000_000_001) == nil, "forced open: the operator's until reset")
        #expect(throws: ControlError.self) { try builder.operate("node-1", .reset, atNanos: 3_000_000_002) }
    }

    @Test("every node's callback breakers are shown, named by node and target, beside the routes; the console refuses to operate them")
    func nodeCallbackBreakers() throws {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for node in UInt64(1)...3 {
            var report = Self.report(node, role: node == 1 ? "leader" : "follower")
            if node != 1 {
                report.breakers = [NodeStatusReport.Breaker(name: "callback:billing", state: node == 2 ? "open" : "closed",
                                                            failureRatePercent: node == 2 ? 80 : nil, thresholdPercent: 50,
                                                            calls: 10, notPermitted: node == 2 ? 4 : 0)]
            }
            builder.take(report, from: Int(node - 1), atNanos: 1_000_000)
        }
        let breakers = builder.snapshot(nowNanos: 2_000_000).breakers
        #expect(breakers.map(\.name) == ["→127.0.0.1:6381", "→127.0.0.1:6382", "→127.0.0.1:6383",
                                         "n2 callback:billing", "n3 callback:billing"])
        #expect(breakers[3].state == .open)
        #expect(breakers[3].failureRatePercent == 80)
        #expect(breakers[3].notPermitted == 4)
        #expect(throws: ControlError("'n2 callback:billing' is node 2's own callback breaker: it opens and closes by the calls its "
            + "scheduler makes; the console shows it but operates only its own breakers")) {
            try builder.operate("n2 callback:billing", .reset, atNanos: 3_000_000)
        }
    }

    @Test("the Scheduler view shows the view node's wake-up heap; ↑/↓ walk every node's own heap, and stop at the ends")
    func perNodeHeaps() throws {
        var builder = RemoteSnapshotBuilder(addresses: Self.addresses, intervalMillis: 100)
        for node in UInt64(1)...3 {
            var report = Self.report(node, role: node == 2 ? "leader" : "follower", leader: 2)
            report.clusterTimeMillis = 1_000
            report.tasks.pending = 6
            report.tasks.heapLevels = [[1_000 + node * 100], Array(repeating: 2_000 + node * 100, count: Int(node))]
            report.tasks.heapCount = 1 + Int(node)
            builder.take(report, from: Int(node - 1), atNanos: 1_000_000)
        }
        let snapshot = builder.snapshot(nowNanos: 2_000_000)
        #expect(snapshot.scheduler.distributed?.heaps.map(\.node) == [1, 2, 3])
        var state = ConsoleState(snapshot: snapshot, readOnly: false, confirmDangerous: true)
        _ = ConsoleApp.update(&state, .key(.character("3")))
        func title() -> String {
            ConsoleRenderer.render(state, size: GoldenFrameTests.size).text.split(separator: "\n").first { $0.contains("-ary heap") }.map(String.init) ?? ""
        }
        #expect(title().contains("node 2: 4-ary heap, 3 wake-ups"), "the leader's first: \(title())")
        _ = ConsoleApp.update(&state, .key(.down))
        #expect(title().contains("node 3: 4-ary heap, 4 wake-ups"))
        _ = ConsoleApp.update(&state, .key(.down))
        #expect(title().contains("node 3:"), "the last node stays")
        _ = ConsoleApp.update(&state, .key(.up))
        _ = ConsoleApp.update(&state, .key(.up))
        #expect(title().contains("node 1: 4-ary heap, 2 wake-ups"))
        #expect(ConsoleRenderer.render(state, size: GoldenFrameTests.size).text.contains("+100ms"), "node 1's root is due in 100 ms")
    }
}
