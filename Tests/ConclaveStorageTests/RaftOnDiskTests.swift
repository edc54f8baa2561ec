import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

/// Three Raft cores on `DurableLogStorage` (one simulated disk, a data directory each), driven by
/// hand as a node loop would: after each Ready, save entries and hard state (and install a
/// snapshot) before sending. Restarts rebuild a node from its directory only.
@Suite struct RaftOnDiskTests {
    struct Cluster {
        let disk = quietDisk()
        var nodes: [NodeID: Raft] = [:]
        var storages: [NodeID: DurableLogStorage] = [:]
        var mailbox: [Message] = []
        var applied: [NodeID: [Entry]] = [:]
        /// The snapshots each node's Raft handed out to install, as handed out.
        var handedOutSnapshots: [NodeID: [Snapshot]] = [:]
        var dropTo: Set<NodeID> = []
        /// What each Raft reads its storage through (the storage itself unless a test wraps it).
        let raftStorage: (NodeID, DurableLogStorage) -> any LogStorage

        init(raftStorage: @escaping (NodeID, DurableLogStorage) -> any LogStorage = { $1 }) throws {
            self.raftStorage = raftStorage
            for id in testMembership.voters { try start(id) }
        }

        mutating func start(_ id: NodeID) throws {
            let storage = try DurableLogStorage.open(directory: "/node\(id)", identity: StorageIdentity(clusterID: 0xC1, nodeID: id),
                                                     membership: testMembership, fileSystem: disk, options: smallOptions())
            storages[id] = storage
            var config = RaftConfig(id: id)
            config.snapshotChunkBytes = 200
            nodes[id] = try Raft(config: config, storage: raftStorage(id, storage), random: SeededGenerator(seed: 1, stream: id))
        }

        mutating func restart(_ id: NodeID) throws {
            storages[id]!.close()
            try start(id)
        }

        mutating func process(_ id: NodeID) throws {
            while nodes[id]!.hasReady {
                let ready = nodes[id]!.ready()
                if let snapshot = ready.snapshot {
                    handedOutSnapshots[id, default: []].append(snapshot)
                    // The snapshot was received into a file as it arrived: make it current.
                    _ = try storages[id]!.finishReceivedSnapshot()
                    try storages[id]!.commitReceivedSnapshot()
                    applied[id] = []
                }
                try storages[id]!.save(hardState: ready.hardState, entries: ready.entries)
                mailbox.append(contentsOf: ready.messages)
                applied[id, default: []].append(contentsOf: ready.committedEntries)
                nodes[id]!.advance(ready)
            }
        }

        mutating func stabilize() throws {
            for id in nodes.keys.sorted() { try process(id) }
            var rounds = 0
            while !mailbox.isEmpty {
                rounds += 1
                precondition(rounds < 10_000, "no quiescence")
                let batch = mailbox
                mailbox.removeAll()
                for message in batch where !dropTo.contains(message.to) {
                    nodes[message.to]!.step(message)
                    try process(message.to)
                }
            }
        }

        func log(_ id: NodeID) throws -> [Entry] {
            let storage = storages[id]!
            return try storage.entries(from: storage.firstIndex, to: storage.lastIndex + 1, maxBytes: .max)
        }

        func closeAll() { for storage in storages.values { storage.close() } }

        /// Node 1 leads and commits `proposals` entries that node 3 misses, snapshots them with
        /// `data(index)` and compacts; node 3 then returns and must be sent the snapshot. Returns
        /// the snapshot's index.
        mutating func snapshotPastLaggingFollower(proposals: Int, data: (LogIndex) -> [UInt8]) throws -> LogIndex {
            nodes[1]!.campaign()
            try stabilize()
            dropTo = [3]
            for number in 0..<proposals {
                try nodes[1]!.propose(Array("command \(number)".utf8))
                try stabilize()
            }
            let leader = storages[1]!
            let index = leader.hardState.commit
            try leader.createSnapshot(index: index, voters: testMembership.voters, learners: [], data: data(index))
            try leader.compact(through: index)
            dropTo = []
            try nodes[1]!.propose(Array("last".utf8))
            try stabilize()
            for _ in 0..<5 {
                nodes[1]!.tick()
                try stabilize()
            }
            return index
        }
    }

    @Test("a node restarted from its directory keeps its term, vote and log, and rejoins")
    func restartFromDisk() throws {
        var cluster = try Cluster()
        defer { cluster.closeAll() }
        cluster.nodes[1]!.campaign()
        try cluster.stabilize()
        for number in 0..<30 {
            try cluster.nodes[1]!.propose(Array("command \(number)".utf8))
            try cluster.stabilize()
        }
        let before = try cluster.log(2)
        let hard = cluster.storages[2]!.hardState
        try cluster.restart(2)
        #expect(try cluster.log(2) == before)
        #expect(cluster.storages[2]!.hardState == hard)
        #expect(cluster.storages[2]!.recovery.records > 30)
        try cluster.nodes[1]!.propose(Array("after restart".utf8))
        try cluster.stabilize()
        #expect(try cluster.log(2) == (try cluster.log(1)))
        #expect(try cluster.log(2).last?.data == Array("after restart".utf8))
    }

    @Test("a lagging follower is sent the leader's snapshot, read back from its file, and installs it durably")
    func snapshotFromDisk() throws {
        var cluster = try Cluster()
        defer { cluster.closeAll() }
        let index = try cluster.snapshotPastLaggingFollower(proposals: 40) { Array("state at \($0)".utf8) }
        #expect(cluster.storages[3]!.snapshotMetadata.index == index)
        try cluster.restart(3)
        #expect(try cluster.storages[3]!.snapshot().data == Array("state at \(index)".utf8))
        #expect(try cluster.log(3) == (try cluster.log(1)))
    }
}
