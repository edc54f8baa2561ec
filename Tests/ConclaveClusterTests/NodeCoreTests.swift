import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Testing

/// `NodeCore` driven by hand, with no simulator: the test is the world — it ticks the cores,
/// carries their messages and reads their outputs.
@Suite struct NodeCoreTests {
    static let tickNanos: UInt64 = 10_000_000

    /// Callback targets that are never called (no delay tasks in these tests).
    final class NoTargets: CallbackTargets {
        func call(_ target: String) -> CallbackCall? { CallbackCall(durationNanos: 0, fails: false) }
    }

    /// A disk whose writes fail once `failing` is set (an fsync error, say).
    final class FailingStorage: MemoryBackedStorage {
        var failing = false

        override func append(_ entries: [Entry]) throws {
            if failing { throw StorageError.io("fsync failed") }
            try super.append(entries)
        }
        override func setHardState(_ state: HardState) throws {
            if failing { throw StorageError.io("fsync failed") }
            try super.setHardState(state)
        }
    }

    static func core(_ id: NodeID, storage: any WritableLogStorage, preVote: Bool = true) throws -> NodeCore {
        var config = NodeConfig(raft: RaftConfig(id: id))
        config.raft.preVote = preVote
        config.tickNanos = tickNanos
        return try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 7, stream: id), callbackTargets: NoTargets())
    }

    static func time(_ nanos: UInt64) -> NodeTime { NodeTime(monotonicNanos: nanos, wallMillis: 1_700_000_000_000 + nanos / 1_000_000) }

    /// Ticks a lone node until it leads; returns the time reached and what it output.
    static func elect(_ core: inout NodeCore) -> (nanos: UInt64, outputs: [NodeOutput]) {
        var nanos: UInt64 = 0
        var outputs: [NodeOutput] = []
        while core.raft.role != .leader && nanos < 100 * tickNanos {
            nanos += tickNanos
            core.tick(at: time(nanos))
            outputs += core.takeOutputs()
        }
        return (nanos, outputs)
    }

    @Test("a lone node on MemoryStorage elects itself, persists and answers a put, and serves a get through ReadIndex")
    func loneNode() throws {
        let storage = MemoryStorage(voters: [1])
        var core = try Self.core(1, storage: storage)
        let (nanos, electing) = Self.elect(&core)
        #expect(core.raft.role == .leader)
        #expect(electing.contains { if case .becameLeader(let term) = $0 { term == core.raft.term } else { false } })
        #expect(!electing.contains { if case .send = $0 { true } else { false } }, "a lone node has no one to send to")

        var readNumbers: UInt64 = 0
        let put = KVRequest(client: 9, sequence: 1, command: .put(key: "k", value: "v"))
        #expect(core.submit(put, readNumbers: &readNumbers, at: Self.time(nanos + 1)) == nil)
        let putting = core.takeOutputs()
        let reply = putting.compactMap { if case .reply(let applied) = $0 { applied } else { nil } }.first
        #expect(reply?.client == 9 && reply?.sequence == 1)
        guard case .written = reply?.result else {
            Issue.record("no written reply: \(putting)")
            return
        }
        #expect(storage.hardState.commit >= 2, "the put was committed on disk")
        #expect(core.stateMachine.kv.read("k", nowMillis: core.stateMachine.nowMillis) == "v")

        let get = KVRequest(client: 9, sequence: 2, command: .get(key: "k"))
        #expect(core.submit(get, readNumbers: &readNumbers, at: Self.time(nanos + 2)) == nil)
        #expect(readNumbers == 1, "the core numbered its read from the driver's counter")
        let answers = core.takeOutputs().compactMap { if case .reply(let applied) = $0 { applied } else { nil } }
        #expect(answers == [KVStateMachine.Applied(client: 9, sequence: 2, result: .value("v"))])
        #expect(core.takeOutputs().isEmpty, "outputs are handed out once")
    }

    @Test("a lone node's cluster time moves with its own clock, so its keys' TTLs run out")
    func loneNodeClusterTime() throws {
        var core = try Self.core(1, storage: MemoryStorage(voters: [1]))
        var (nanos, _) = Self.elect(&core)
        var readNumbers: UInt64 = 0
        let set = KVRequest(client: 9, sequence: 1, command: .set(key: "k", value: "v", condition: .always, ttlMillis: 500))
        #expect(core.submit(set, readNumbers: &readNumbers, at: Self.time(nanos)) == nil)
        let start = core.stateMachine.nowMillis
        for _ in 0..<200 {
            nanos += Self.tickNanos
            core.tick(at: Self.time(nanos))
            _ = core.takeOutputs()
        }
        let moved = core.stateMachine.nowMillis - start
        #expect(moved >= 200 * Self.tickNanos / 1_000_000 * 8 / 10, "cluster time moved \(moved) ms in 200 ticks")
        #expect(core.stateMachine.kv.values["k"] == nil, "the key's 500 ms ran out and it was purged")
    }

    @Test("three cores wired by hand through their outputs elect one leader and replicate a put to all")
    func threeNodesByHand() throws {
        let voters: [NodeID] = [1, 2, 3]
        var cores = try voters.map { try Self.core($0, storage: MemoryStorage(voters: voters)) }
        var inFlight: [Message] = []
        var replies: [KVStateMachine.Applied] = []
        var nanos: UInt64 = 0
        /// One round: every core ticks, then every message sent so far is delivered, in order.
        func round() {
            nanos += Self.tickNanos
            for position in cores.indices {
                cores[position].tick(at: Self.time(nanos))
                take(position)
            }
            while !inFlight.isEmpty {
                let message = inFlight.removeFirst()
                #expect(message.clockNanos != 0, "a message left unstamped")
                cores[Int(message.to) - 1].receive(message, at: Self.time(nanos))
                take(Int(message.to) - 1)
            }
        }
        func take(_ position: Int) {
            for output in cores[position].takeOutputs() {
                switch output {
                case .send(let message): inFlight.append(message)
                case .reply(let applied): replies.append(applied)
                default: break
                }
            }
        }
        for _ in 0..<100 where !cores.contains(where: { $0.raft.role == .leader }) { round() }
        let leaders = cores.filter { $0.raft.role == .leader }
        try #require(leaders.count == 1)
        let leader = Int(leaders[0].id) - 1

        var readNumbers: UInt64 = 0
        let put = KVRequest(client: 5, sequence: 1, command: .put(key: "x", value: "1"))
        #expect(cores[leader].submit(put, readNumbers: &readNumbers, at: Self.time(nanos)) == nil)
        take(leader)
        for _ in 0..<10 { round() }
        #expect(replies.map(\.client) == [5], "the leader answered once")
        for core in cores {
            #expect(core.stateMachine.kv.read("x", nowMillis: core.stateMachine.nowMillis) == "1", "node \(core.id) did not apply the put")
        }
    }

    /// A storage that counts how often its snapshot is read (on the WAL that reads the file back).
    final class SnapshotReadCounting: MemoryBackedStorage {
        var snapshotReads = 0
        override func snapshot() throws(StorageError) -> Snapshot {
            snapshotReads += 1
            return try memory.snapshot()
        }
    }

    /// Found by `bench node`: the core asked storage for its snapshot after every Ready to decide
    /// whether a new one was due, and the WAL reads the snapshot file back to answer — a daemon
    /// slowed from 1,400 to 80 SETs/s once its first snapshot existed.
    @Test("deciding whether a snapshot is due never reads the stored snapshot")
    func snapshotDueWithoutReadingIt() throws {
        let storage = SnapshotReadCounting(voters: [1])
        var config = NodeConfig(raft: RaftConfig(id: 1))
        config.tickNanos = Self.tickNanos
        config.snapshotEveryEntries = 10
        config.compactionKeepEntries = 2
        var core = try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 7), callbackTargets: NoTargets())
        var (nanos, _) = Self.elect(&core)
        var readNumbers: UInt64 = 0
        var snapshots = 0
        for sequence in 1...100 as ClosedRange<UInt64> {
            nanos += 1
            let put = KVRequest(client: 9, sequence: sequence, command: .put(key: "k\(sequence)", value: "v"))
            #expect(core.submit(put, readNumbers: &readNumbers, at: Self.time(nanos)) == nil)
            snapshots += core.takeOutputs().filter { if case .snapshotTaken = $0 { true } else { false } }.count
        }
        #expect(snapshots >= 9, "a snapshot every 10 entries")
        #expect(storage.snapshotReads <= 1, "read \(storage.snapshotReads) times")
    }

    @Test("a stored snapshot that does not load refuses the start with the reason, never traps")
    func unloadableSnapshotRefusesStart() throws {
        let storage = MemoryStorage(voters: [1])
        storage.append([Entry(term: 1, index: 1, data: [])])
        try storage.createSnapshot(index: 1, voters: [1], learners: [], data: [0xDE, 0xAD, 0xBE, 0xEF])
        #expect {
            _ = try Self.core(1, storage: storage)
        } throws: { error in
            guard case NodeCoreError.storage(let reason) = error else { return false }
            return reason.hasPrefix("snapshot at 1 does not load:")
        }
    }

    @Test("a failed write stops the node before anything of that Ready is sent, and it takes no more input")
    func failedWriteStops() throws {
        let storage = FailingStorage(voters: [1, 2, 3])
        // Without pre-vote the first election persists a new term and vote before asking for votes.
        var core = try Self.core(1, storage: storage, preVote: false)
        storage.failing = true
        var nanos: UInt64 = 0
        var outputs: [NodeOutput] = []
        while core.isRunning && nanos < 100 * Self.tickNanos {
            nanos += Self.tickNanos
            core.tick(at: Self.time(nanos))
            outputs += core.takeOutputs()
        }
        #expect(!core.isRunning)
        #expect(core.stopReason?.contains("fsync failed") == true)
        guard case .stopped = outputs.last else {
            Issue.record("the node did not say it stopped: \(outputs)")
            return
        }
        #expect(!outputs.contains { if case .send = $0 { true } else { false } }, "a vote request went out unpersisted")
        core.tick(at: Self.time(nanos + Self.tickNanos))
        #expect(core.takeOutputs().isEmpty)
    }
}
