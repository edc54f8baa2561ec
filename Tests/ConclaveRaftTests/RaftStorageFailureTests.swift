import ConclaveCore
import Testing
@testable import ConclaveRaft

/// `LogStorage` over a `MemoryStorage` whose reads fail, one kind at a time, on demand.
final class FailingStorage: LogStorage {
    enum Read: Hashable { case term, entries, snapshot }

    let disk: MemoryStorage
    var failing: Set<Read> = []
    static let failure = StorageError.io("read error at sector 7")

    init(voters: [NodeID]) {
        disk = MemoryStorage(voters: voters)
    }

    func initialState() -> (HardState, ConfState) { disk.initialState() }
    var firstIndex: LogIndex { disk.firstIndex }
    var lastIndex: LogIndex { disk.lastIndex }

    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        if failing.contains(.entries) { throw Self.failure }
        return try disk.entries(from: low, to: high, maxBytes: maxBytes)
    }

    func term(at index: LogIndex) throws(StorageError) -> Term {
        if failing.contains(.term) { throw Self.failure }
        return try disk.term(at: index)
    }

    func snapshot() throws(StorageError) -> Snapshot {
        if failing.contains(.snapshot) { throw Self.failure }
        return try disk.snapshot()
    }
}

@Suite struct RaftStorageFailureTests {
    /// A node of a three-voter cluster whose disk holds entries 1…10 of term 2, all committed and
    /// applied, and a snapshot at 8.
    static func node(_ id: NodeID) throws -> (Raft, FailingStorage) {
        let storage = FailingStorage(voters: [1, 2, 3])
        storage.disk.append((1...10).map { Entry(term: 2, index: LogIndex($0)) })
        storage.disk.setHardState(HardState(term: 2, vote: 0, commit: 10))
        try storage.disk.createSnapshot(index: 8, voters: [1, 2, 3], learners: [], data: [1, 2, 3])
        var config = RaftConfig(id: id)
        config.applied = 10
        return (try Raft(config: config, storage: storage, random: SeededGenerator(seed: 6)), storage)
    }

    @Test("a last term the disk cannot read grants no vote to an out-of-date candidate")
    func unreadableLastTermGrantsNoVote() throws {
        var (voter, storage) = try Self.node(2)
        _ = voter.ready()
        storage.failing = [.term]
        // Candidate 3's log ends at index 4 of term 1: behind ours (10 of term 2).
        voter.step(Message(kind: .vote, from: 3, to: 2, term: 3, logTerm: 1, index: 4))
        let ready = voter.ready()
        #expect(!ready.messages.contains { $0.kind == .voteResponse && !$0.reject }, "voted on a guessed last term")
        Self.expectStopped(&voter, ready)
    }

    /// The node handed out the failure (and nothing else), says so in its status, and refuses or
    /// ignores every later input.
    static func expectStopped(_ node: inout Raft, _ ready: Ready) {
        #expect(ready.storageFailure == FailingStorage.failure)
        #expect(ready.messages.isEmpty && ready.entries.isEmpty && ready.hardState == nil && ready.committedEntries.isEmpty)
        #expect(node.status().storageFailure == FailingStorage.failure)
        #expect(!node.hasReady)
        #expect(throws: RaftError.storage(FailingStorage.failure)) { try node.propose(Array("x".utf8)) }
        #expect(throws: RaftError.storage(FailingStorage.failure)) { try node.readIndex(context: 1) }
        for _ in 0..<50 { node.tick() }
        node.step(Message(kind: .heartbeat, from: 3, to: node.id, term: 99))
        #expect(!node.hasReady && node.term < 99)
    }

    @Test("an I/O error reading the log for an append sends no snapshot in its place")
    func appendReadErrorIsNotCompaction() throws {
        var (leader, storage) = try Self.node(1)
        leader.campaign()
        _ = leader.ready()
        leader.step(Message(kind: .preVoteResponse, from: 2, to: 1, term: 3))
        _ = leader.ready()
        storage.failing = [.term]
        leader.step(Message(kind: .voteResponse, from: 2, to: 1, term: 3))
        let ready = leader.ready()
        #expect(!ready.messages.contains { $0.kind == .snapshot }, "a read error taken for compaction")
        Self.expectStopped(&leader, ready)
    }

    @Test("committed entries the disk cannot read do not leave hasReady true forever")
    func unreadableCommittedEntries() throws {
        let storage = FailingStorage(voters: [1, 2, 3])
        storage.disk.append((1...5).map { Entry(term: 1, index: LogIndex($0)) })
        storage.disk.setHardState(HardState(term: 1, vote: 0, commit: 5))
        var node = try Raft(config: RaftConfig(id: 1), storage: storage, random: SeededGenerator(seed: 7))
        storage.failing = [.entries]
        var readies: [Ready] = []
        while node.hasReady && readies.count < 10 {
            readies.append(node.ready())
            node.advance(readies.last!)
        }
        #expect(!node.hasReady, "hasReady still true after \(readies.count) empty batches")
        #expect(readies.count == 1 && readies[0].storageFailure == FailingStorage.failure)
        #expect(node.status().storageFailure == FailingStorage.failure)
    }
}
