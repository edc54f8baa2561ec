import ConclaveCluster
import Foundation
import Testing
@testable import ConclaveConsole

/// The console on the Paxos engine: what it refuses and why, step mode, and the two Paxos demos
/// checked for what they claim (a livelock without backoff, the same partitions on both engines).
@Suite struct PaxosConsoleTests {
    static func session(_ engine: ConsensusEngine = .paxos, seed: UInt64 = 7) throws -> ConsoleSession {
        ConsoleSession(cluster: try EmbeddedEngines.make(engine, seed: seed, nodes: 5))
    }

    @Test("Raft-only views are refused with the reason, and Tab skips them")
    func views() throws {
        let session = try Self.session()
        session.send(.character("2"))
        #expect(session.state.view == .cluster)
        #expect(session.state.messageIsError)
        #expect(session.state.message?.hasPrefix("Locks is Raft-only: the Paxos engine runs KV clients only") == true)
        session.send(.tab)
        #expect(session.state.view == .local)
        session.send(.tab)
        #expect(session.state.view == .cluster)
        session.send(.backTab)
        #expect(session.state.view == .local)
        session.send(.character(":"))
        for character in "view 3" { session.send(.character(character)) }
        session.send(.enter)
        #expect(session.state.view == .local && session.state.message?.contains("Scheduler is Raft-only") == true)
    }

    @Test("Raft-only keys and commands say why; node keys work on the selected Paxos node", arguments: [
        ("t", "transfer is Raft-only"),
        (":skew 1 50", "skew is Raft-only"),
        (":lock acquire a", "locks, sessions and breakers are Raft-only"),
        (":clients 3", "the workload knobs drive Raft's lock clients"),
        (":add", "membership change is Raft-only"),
    ])
    func raftOnly(keys: String, reason: String) throws {
        let session = try Self.session()
        session.advance(byNanos: 1_000_000_000)
        for character in keys { session.send(.character(character)) }
        if keys.hasPrefix(":") { session.send(.enter) }
        #expect(session.state.messageIsError)
        #expect(session.state.message?.hasPrefix(reason) == true, "\(session.state.message ?? "")")
    }

    @Test("killing, restarting and isolating Paxos nodes from the keys and the palette")
    func nodeControls() throws {
        let cluster = try EmbeddedPaxos(seed: 7)
        let session = ConsoleSession(cluster: cluster)
        session.advance(byNanos: 2_000_000_000)
        session.send(.character("j"))
        session.send(.character("K"))
        #expect(session.state.message == "killed node 2 (its acceptor state is kept)")
        #expect(session.state.snapshot.paxos?.nodes[1].health == .crashed)
        session.send(.character("K"))
        #expect(session.state.message == "node 2 is already down")
        session.send(.character("r"))
        #expect(session.state.message == "restarted node 2 from its acceptor state")
        #expect(cluster.apply(.isolate(.leader)).isSuccess)
        #expect(cluster.apply(.kill(.id(9))) == .failure(ControlError("no node 9; nodes are 1, 2, 3, 4, 5")))
        #expect(cluster.apply(.partition([[.id(1)], [.id(1), .id(2)]])) == .failure(ControlError("a node appears in two groups")))
        session.advance(byNanos: 3_000_000_000)
        #expect(session.state.snapshot.paxos?.violations == [])
    }

    @Test("the palette's paxos command: parsed, refused on Raft with the reason, carried out on Paxos")
    func paxosCommand() throws {
        #expect(try PaletteParser.parse("paxos backoff off") == .control(.paxos(.backoff, false)))
        #expect(try PaletteParser.parse("paxos LEADER on") == .control(.paxos(.leader, true)))
        #expect(throws: PaletteError.self) { try PaletteParser.parse("paxos lead on") }
        #expect(throws: PaletteError.self) { try PaletteParser.parse("paxos backoff maybe") }
        let raft = try Self.session(.raft)
        for character in ":paxos leader off" { raft.send(.character(character)) }
        raft.send(.enter)
        #expect(raft.state.message?.hasPrefix("paxos leader needs the Paxos engine") == true)
        let paxos = try EmbeddedPaxos(seed: 7)
        #expect(paxos.apply(.paxos(.leader, false)) == .success("proposers: duelling (no distinguished proposer), randomized backoff on"))
        #expect(paxos.snapshot().paxos?.distinguishedProposer == false)
    }

    @Test("step mode delivers one message per step and shows it; time stays paused")
    func stepMode() throws {
        let session = try Self.session()
        session.advance(byNanos: 1_000_000_000)
        var kinds: Set<String> = []
        for _ in 0..<200 {
            session.send(.character("."))
            let snapshot = session.state.snapshot
            #expect(snapshot.isPaused)
            let last = try #require(snapshot.paxos?.messages.last)
            #expect(snapshot.lastStep == last.text)
            kinds.insert(last.kind)
        }
        #expect(kinds.isSuperset(of: ["accept", "accepted", "chosen", "heartbeat"]))
        let now = session.cluster.nowNanos
        session.advance(byNanos: 1_000_000_000)
        #expect(session.cluster.nowNanos == now)
    }

    static func play(_ name: String) throws -> DemoPlayer {
        let url = DemoTests.directory.appendingPathComponent("\(name).demo")
        let script = try DemoScript.parse(try String(contentsOf: url, encoding: .utf8), name: name, file: url.path)
        return try DemoPlayer(script: script, size: Size(width: 120, height: 40))
    }

    /// Plays up to (and including) the next pause point.
    static func playToPause(_ player: DemoPlayer) {
        while !player.isFinished {
            switch player.next() {
            case .time(let millis): player.session.advance(byNanos: millis * 1_000_000)
            case .pause: return
            default: break
            }
        }
    }

    @Test("duelling-proposers: without backoff nothing is chosen for 3 s while ballots climb; with backoff values are chosen; with a leader the preemptions stop")
    func duellingProposers() throws {
        let player = try Self.play("duelling-proposers")
        Self.playToPause(player)
        var paxos = try #require(player.session.state.snapshot.paxos)
        #expect(!paxos.distinguishedProposer && !paxos.randomizedBackoff)
        #expect(paxos.chosenCount == 0 && paxos.slots.isEmpty)
        #expect(paxos.valuesWaiting > 0 && (paxos.waitingForMillis ?? 0) >= 3_000)
        #expect(paxos.nodes.allSatisfy { $0.preemptions > 100 }, "\(paxos.nodes.map(\.preemptions))")
        #expect(paxos.nodes.map(\.ballotRound).max()! > 300)
        Self.playToPause(player)  // the steps
        Self.playToPause(player)  // backoff on, 3 s
        paxos = try #require(player.session.state.snapshot.paxos)
        #expect(paxos.randomizedBackoff && paxos.chosenCount > 10)
        Self.playToPause(player)  // a distinguished proposer, 3 s
        paxos = try #require(player.session.state.snapshot.paxos)
        let preempted = paxos.nodes.map(\.preemptions)
        let chosen = paxos.chosenCount
        #expect(paxos.leader != nil)
        player.session.advance(byNanos: 3_000_000_000)
        paxos = try #require(player.session.state.snapshot.paxos)
        #expect(paxos.nodes.map(\.preemptions) == preempted)
        #expect(paxos.chosenCount > chosen + 10)
        #expect(paxos.violations == [] && player.failures == [])
    }

    @Test("paxos-vs-raft: every partition reaches both engines in the same order, and both stay safe")
    func paxosVersusRaft() throws {
        let player = try Self.play("paxos-vs-raft")
        _ = player.runToEnd()
        #expect(player.failures == [])
        let pair = try #require(player.session.cluster as? EmbeddedPair)
        let faults = pair.snapshot().events.filter { $0.kind == .fault }.map(\.text)
        let raftFaults = faults.filter { $0.hasPrefix("raft: ") }.map { $0.dropFirst(6) }
        let paxosFaults = faults.filter { $0.hasPrefix("paxos: ") }.map { $0.dropFirst(7) }
        #expect(raftFaults == ["partitioned 1,2 | 3,4,5", "partitioned 4,5 | 1,2,3", "healed the network"])
        #expect(paxosFaults == raftFaults)
        #expect(pair.raft.simulator.monitor.violations == [])
        let paxos = try #require(pair.snapshot().paxos)
        #expect(paxos.violations == [])
        // Both made progress after healing, and every Paxos learner caught up.
        #expect(paxos.chosenCount > 100)
        #expect(Set(paxos.nodes.map(\.chosenThrough)).count <= 2)
        #expect(pair.snapshot().nodes.map(\.commit).min()! > 1_000)
    }

    @Test("a demo names its engine; a bad one is refused with what is accepted")
    func demoEngine() throws {
        #expect(try DemoScript.parse("engine paxos", name: "d", file: "d.demo").engine == .paxos)
        #expect(throws: DemoError(file: "d.demo", line: 2, reason: "engine must be one of \(ConsensusEngine.accepted), got 'zab'")) {
            try DemoScript.parse("title t\nengine zab", name: "d", file: "d.demo")
        }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
