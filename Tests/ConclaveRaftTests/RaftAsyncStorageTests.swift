import ConclaveCore
import Testing
@testable import ConclaveRaft

/// `RaftConfig.asyncStorageWrites`: every piece of work is handed out once, and the node keeps
/// stepping while writes and applies are outstanding (etcd-io/raft's AsyncStorageWrites).
@Suite struct RaftAsyncStorageTests {
    static func asyncConfig(_ config: inout RaftConfig) {
        config.asyncStorageWrites = true
    }

    /// A follower of a three-node cluster with an empty log, writing asynchronously.
    static func follower() -> (Raft, MemoryStorage) {
        let storage = MemoryStorage(voters: [1, 2, 3])
        var config = RaftConfig(id: 2)
        asyncConfig(&config)
        return (try! Raft(config: config, storage: storage, random: SeededGenerator(seed: 9)), storage)
    }

    static func entries(_ range: ClosedRange<Int>, term: Term) -> [Entry] {
        range.map { Entry(term: term, index: LogIndex($0), data: Array("e\($0)t\(term)".utf8)) }
    }

    /// Leader `leader`'s append to node 2 of `range` at `term`, after the entry `previous`.
    static func append(_ range: ClosedRange<Int>, term: Term, from leader: NodeID = 1,
                       after previous: (index: LogIndex, term: Term), commit: LogIndex) -> Message {
        Message(kind: .append, from: leader, to: 2, term: term, logTerm: previous.term, index: previous.index,
                entries: entries(range, term: term), commit: commit)
    }

    /// Writes `ready` to `storage`, then acknowledges it: a write that has completed.
    static func complete(_ ready: Ready, on node: inout Raft, storage: MemoryStorage) {
        write(ready, to: storage)
        node.persisted(ready.write!)
    }

    /// The storage half of a write: what a WAL does before it calls back.
    static func write(_ ready: Ready, to storage: MemoryStorage) {
        if let snapshot = ready.snapshot { storage.applySnapshot(snapshot) }
        storage.append(ready.entries)
        if let hard = ready.hardState { storage.setHardState(hard) }
    }

    @Test("entries are handed out once to be written, however many Readies pass before the write completes")
    func entriesHandedOutOnce() {
        var harness = RaftHarness(voters: [1, 2, 3], configure: Self.asyncConfig)
        harness.elect(1)
        try! harness.nodes[1]!.propose(Array("a".utf8))
        let first = harness.nodes[1]!.ready()
        #expect(first.entries.map(\.index) == [2])
        #expect(first.write != nil)
        try! harness.nodes[1]!.propose(Array("b".utf8))
        let second = harness.nodes[1]!.ready()
        #expect(second.entries.map(\.index) == [3], "entry 2 handed out again before its write completed")
        #expect(second.write != nil && second.write != first.write)
        #expect(!harness.nodes[1]!.hasReady)
        #expect(harness.nodes[1]!.ready().entries.isEmpty)
    }

    @Test("the leader's appends leave before its own write; its own match counts only once the write is acknowledged")
    func leaderCommitsOnlyWithItsOwnWrite() {
        var harness = RaftHarness(voters: [1, 2, 3], configure: Self.asyncConfig)
        harness.elect(1)
        harness.mailbox.removeAll()
        let committedBefore = harness.nodes[1]!.committedIndex
        try! harness.nodes[1]!.propose(Array("x".utf8))
        let ready = harness.nodes[1]!.ready()
        let appends = ready.messages.filter { $0.kind == .append && !$0.entries.isEmpty }
        #expect(appends.map(\.to) == [2, 3], "the appends to followers wait for nothing")
        #expect(ready.messagesAfterPersist.isEmpty)
        // Only follower 2 answers: with the leader's write outstanding that is one copy of three.
        harness.mailbox = appends.filter { $0.to == 2 }
        harness.deliver { $0.to == 2 }
        harness.deliver { $0.to == 1 && $0.kind == .appendResponse }
        #expect(harness.nodes[1]!.committedIndex == committedBefore, "committed without the leader's own durable copy")
        #expect(!harness.nodes[1]!.hasReady || harness.nodes[1]!.ready().committedEntries.isEmpty)
        Self.write(ready, to: harness.storages[1]!)
        harness.nodes[1]!.persisted(ready.write!)
        #expect(harness.nodes[1]!.committedIndex == committedBefore + 1)
        let next = harness.nodes[1]!.ready()
        #expect(next.committedEntries.map(\.data) == [Array("x".utf8)])
    }

    @Test("a vote is answered only with the write that records it")
    func voteAnswerWaitsForHardState() {
        var (voter, _) = Self.follower()
        voter.step(Message(kind: .vote, from: 1, to: 2, term: 1, logTerm: 0, index: 0))
        let ready = voter.ready()
        #expect(!ready.messages.contains { $0.kind == .voteResponse }, "a vote left before it was durable")
        #expect(ready.messagesAfterPersist.map(\.kind) == [.voteResponse])
        #expect(ready.messagesAfterPersist.first?.reject == false)
        #expect(ready.hardState?.vote == 1 && ready.hardState?.term == 1)
        #expect(ready.write != nil)
    }

    @Test("a candidate counts its own vote once the hard state holding it is durable")
    func candidateWaitsForItsOwnVote() {
        let storage = MemoryStorage(voters: [1])
        var config = RaftConfig(id: 1)
        config.preVote = false
        Self.asyncConfig(&config)
        var node = try! Raft(config: config, storage: storage, random: SeededGenerator(seed: 4))
        node.campaign()
        #expect(node.role == .candidate, "a lone voter won on a vote not yet durable")
        let ready = node.ready()
        #expect(ready.hardState == HardState(term: 1, vote: 1, commit: 0))
        Self.write(ready, to: storage)
        node.persisted(ready.write!)
        #expect(node.role == .leader)
        // Its empty entry commits once that write is acknowledged too.
        let opening = node.ready()
        #expect(opening.entries.map(\.index) == [1])
        #expect(node.committedIndex == 0)
        Self.write(opening, to: storage)
        node.persisted(opening.write!)
        #expect(node.committedIndex == 1)
        #expect(node.ready().committedEntries.map(\.index) == [1])
    }

    @Test("committed entries are handed out to apply while later writes are in flight, each once")
    func applyWhileWritesAreInFlight() {
        var (follower, storage) = Self.follower()
        follower.step(Self.append(1...3, term: 1, after: (0, 0), commit: 3))
        let first = follower.ready()
        #expect(first.entries.map(\.index) == [1, 2, 3])
        #expect(first.committedEntries.isEmpty, "applied entries that are not durable here")
        #expect(first.messagesAfterPersist.map(\.kind) == [.appendResponse])
        Self.complete(first, on: &follower, storage: storage)
        follower.step(Self.append(4...6, term: 1, after: (3, 1), commit: 5))
        let second = follower.ready()
        #expect(second.entries.map(\.index) == [4, 5, 6])
        #expect(second.committedEntries.map(\.index) == [1, 2, 3], "durable committed entries wait for a later write")
        let third = follower.ready()
        #expect(third.committedEntries.isEmpty && third.entries.isEmpty, "handed out twice")
        follower.applied(through: 3)
        Self.complete(second, on: &follower, storage: storage)
        #expect(follower.ready().committedEntries.map(\.index) == [4, 5])
        #expect(follower.status().applied == 3)
    }

    @Test("a conflicting append hands out the new suffix from the truncation point, and a late acknowledgement of the replaced write vouches only for the prefix")
    func conflictRehandsOutTruncatedSuffix() {
        var (follower, storage) = Self.follower()
        follower.step(Self.append(1...5, term: 1, after: (0, 0), commit: 0))
        let first = follower.ready()
        #expect(first.entries.map(\.index) == [1, 2, 3, 4, 5])
        // Leader 3 of term 2 replaces 3...5 while that write is still running.
        follower.step(Self.append(3...4, term: 2, from: 3, after: (2, 1), commit: 0))
        let second = follower.ready()
        #expect(second.entries.map { "\($0.index)/t\($0.term)" } == ["3/t2", "4/t2"])
        Self.complete(first, on: &follower, storage: storage)
        #expect(follower.log.unstableOffset == 3, "entries 3...4 of term 2 taken for durable on the old write's word")
        Self.complete(second, on: &follower, storage: storage)
        #expect(follower.log.unstableOffset == 5)
        #expect(follower.lastIndex == 4 && follower.term(at: 4) == 2)
    }

    @Test("a truncation not yet handed out keeps an acknowledgement from vouching for what it replaced")
    func truncationBeforeHandOutBoundsTheAcknowledgement() {
        var (follower, storage) = Self.follower()
        follower.step(Self.append(1...5, term: 1, after: (0, 0), commit: 0))
        let first = follower.ready()
        follower.step(Self.append(3...5, term: 2, from: 3, after: (2, 1), commit: 0))
        Self.complete(first, on: &follower, storage: storage)
        #expect(follower.log.unstableOffset == 3)
        #expect(follower.ready().entries.map(\.index) == [3, 4, 5])
    }

    @Test("the synchronous loop sees no difference: everything in messages, nothing held back")
    func synchronousModeKeepsOneList() {
        let storage = MemoryStorage(voters: [1, 2, 3])
        var voter = try! Raft(config: RaftConfig(id: 2), storage: storage, random: SeededGenerator(seed: 9))
        voter.step(Message(kind: .vote, from: 1, to: 2, term: 1, logTerm: 0, index: 0))
        let ready = voter.ready()
        #expect(ready.messages.map(\.kind) == [.voteResponse])
        #expect(ready.messagesAfterPersist.isEmpty)
    }

    @Test("random delays of writes, applies and messages: each entry applied once, in order, the same on every node",
          arguments: 1...40 as ClosedRange<UInt64>)
    func randomDelays(seed: UInt64) {
        var cluster = AsyncCluster(voters: [1, 2, 3], seed: seed)
        cluster.run(steps: 3_000, proposals: 40)
        cluster.quiesce()
        let issues = cluster.issues
        #expect(issues.isEmpty, "seed \(seed): \(issues.prefix(5))")
        let logs = cluster.applied.keys.sorted().map { cluster.applied[$0]! }
        #expect(logs.allSatisfy { $0 == logs[0] }, "seed \(seed): nodes applied \(logs.map(\.count)) entries")
        #expect(logs[0].contains { !$0.data.isEmpty }, "seed \(seed): nothing proposed was applied")
    }
}

/// Three Raft nodes writing asynchronously: each node's writes queue and complete in order, at
/// random moments; messages are delivered in random order; answers that wait for a write leave
/// when it completes. Checks that each committed entry is handed out to apply once, in order, and
/// that every node applies the same entry at each index.
struct AsyncCluster {
    struct PendingWrite {
        var ready: Ready
    }

    var nodes: [NodeID: Raft] = [:]
    var storages: [NodeID: MemoryStorage] = [:]
    var writes: [NodeID: [PendingWrite]] = [:]
    var mailbox: [Message] = []
    var applied: [NodeID: [Entry]] = [:]
    var random: SeededGenerator
    var issues: [String] = []
    var proposed = 0

    init(voters: [NodeID], seed: UInt64) {
        random = SeededGenerator(seed: seed)
        for id in voters {
            let storage = MemoryStorage(voters: voters)
            var config = RaftConfig(id: id)
            config.asyncStorageWrites = true
            storages[id] = storage
            nodes[id] = try! Raft(config: config, storage: storage, random: SeededGenerator(seed: seed, stream: id))
        }
    }

    mutating func pick(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    mutating func run(steps: Int, proposals: Int) {
        let ids = nodes.keys.sorted()
        for _ in 0..<steps {
            let id = ids[pick(ids.count)]
            switch pick(10) {
            case 0: nodes[id]!.tick()
            case 1, 2: takeReady(id)
            case 3, 4: completeWrite(id)
            case 5:
                if proposed < proposals, nodes[id]!.role == .leader, (try? nodes[id]!.propose(Array("p\(proposed)".utf8))) != nil {
                    proposed += 1
                }
            default: deliverOne()
            }
        }
    }

    /// Stops the faults and runs every node in lockstep (each round: take Readies, complete every
    /// write, deliver every message, tick) until the cluster has long settled.
    mutating func quiesce(rounds: Int = 300) {
        let ids = nodes.keys.sorted()
        for _ in 0..<rounds {
            for id in ids {
                takeReady(id)
                while !writes[id, default: []].isEmpty { completeWrite(id) }
                takeReady(id)
            }
            while !mailbox.isEmpty { deliverOne(lossy: false) }
            for id in ids { nodes[id]!.tick() }
        }
    }

    mutating func takeReady(_ id: NodeID) {
        guard nodes[id]!.hasReady else { return }
        let ready = nodes[id]!.ready()
        mailbox.append(contentsOf: ready.messages)
        if ready.write != nil || !ready.messagesAfterPersist.isEmpty {
            writes[id, default: []].append(PendingWrite(ready: ready))
        }
        var list = applied[id, default: []]
        for entry in ready.committedEntries {
            let expected = (list.last?.index ?? 0) + 1
            if entry.index != expected { issues.append("node \(id) handed out \(entry.index) to apply, expected \(expected)") }
            if entry.index > storages[id]!.lastIndex || storages[id]!.entries(at: entry.index) != entry {
                issues.append("node \(id) applies \(entry.index) before it is durable here")
            }
            for (other, log) in applied where other != id && log.count >= Int(entry.index) {
                if log[Int(entry.index) - 1] != entry { issues.append("nodes \(id) and \(other) applied different entries at \(entry.index)") }
            }
            list.append(entry)
        }
        applied[id] = list
        if let last = ready.committedEntries.last { nodes[id]!.applied(through: last.index) }
    }

    mutating func completeWrite(_ id: NodeID) {
        guard var queue = writes[id], !queue.isEmpty else { return }
        let write = queue.removeFirst()
        writes[id] = queue
        let storage = storages[id]!
        if let snapshot = write.ready.snapshot { storage.applySnapshot(snapshot) }
        storage.append(write.ready.entries)
        if let hard = write.ready.hardState { storage.setHardState(hard) }
        mailbox.append(contentsOf: write.ready.messagesAfterPersist)
        if let ticket = write.ready.write { nodes[id]!.persisted(ticket) }
    }

    mutating func deliverOne(lossy: Bool = true) {
        guard !mailbox.isEmpty else { return }
        let message = mailbox.remove(at: pick(mailbox.count))
        if lossy && pick(20) == 0 { return }  // lost now and then
        nodes[message.to]?.step(message)
    }
}

extension MemoryStorage {
    func entries(at index: LogIndex) -> Entry? {
        try? entries(from: index, to: index + 1, maxBytes: .max).first
    }
}
