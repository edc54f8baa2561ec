import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Testing

/// `NodeCore` writing in the background (`NodeConfig.asyncStorageWrites`, the daemon's mode),
/// on a storage whose writes complete only when the test says so.
@Suite struct NodeCoreAsyncWriteTests {
    /// Storage whose saves wait: `complete(_:)` makes the oldest ones durable (in order, as a WAL
    /// does) and returns their completions, for the test to hand to the core in any order.
    final class DeferredStorage: MemoryBackedStorage, AsyncWritableLogStorage, @unchecked Sendable {
        private var saves: [(hardState: HardState?, entries: [Entry], onDurable: @Sendable ((any Error)?) -> Void)] = []
        var savesWaiting: Int { saves.count }

        func save(hardState: HardState?, entries: [Entry], onDurable: @escaping @Sendable ((any Error)?) -> Void) {
            saves.append((hardState, entries, onDurable))
        }

        /// A commit-only hard state: written at once when nothing waits, else in order behind.
        func saveCommit(_ hardState: HardState, onWritten: @escaping @Sendable ((any Error)?) -> Void) {
            guard saves.isEmpty else { return saves.append((hardState, [], onWritten)) }
            memory.setHardState(hardState)
            onWritten(nil)
        }

        /// Makes the `count` oldest saves durable and calls their completions, in order.
        func complete(_ count: Int) {
            for save in saves.prefix(count) {
                memory.append(save.entries)
                if let hardState = save.hardState { memory.setHardState(hardState) }
                save.onDurable(nil)
            }
            saves.removeFirst(min(count, saves.count))
        }
    }

    /// Where the storage's completions land before the test hands them to the core.
    final class Mailbox: @unchecked Sendable {
        var completions: [WriteCompletion] = []
    }

    static func core(_ id: NodeID, voters: [NodeID], preVote: Bool = true) throws -> (NodeCore, DeferredStorage, Mailbox) {
        let storage = DeferredStorage(voters: voters)
        var config = NodeConfig(raft: RaftConfig(id: id))
        config.raft.preVote = preVote
        config.tickNanos = NodeCoreTests.tickNanos
        config.asyncStorageWrites = true
        var core = try NodeCore(config: config, storage: storage, random: SeededGenerator(seed: 11, stream: id),
                                callbackTargets: NodeCoreTests.NoTargets())
        let mailbox = Mailbox()
        core.writeCompleted = { mailbox.completions.append($0) }
        return (core, storage, mailbox)
    }

    static func sent(_ outputs: [NodeOutput]) -> [Message] {
        outputs.compactMap { if case .send(let message) = $0 { message } else { nil } }
    }

    @Test("a storage that cannot write in the background is refused for asyncStorageWrites")
    func refusesSynchronousStorage() {
        var config = NodeConfig(raft: RaftConfig(id: 1))
        config.asyncStorageWrites = true
        #expect(throws: NodeCoreError.self) {
            _ = try NodeCore(config: config, storage: MemoryStorage(voters: [1]), random: SeededGenerator(seed: 1),
                             callbackTargets: NodeCoreTests.NoTargets())
        }
    }

    @Test("a vote leaves only once the write recording it completes")
    func voteWaitsForItsWrite() throws {
        var (core, storage, mailbox) = try Self.core(2, voters: [1, 2, 3])
        core.receive(Message(kind: .vote, from: 1, to: 2, term: 1, logTerm: 0, index: 0), at: NodeCoreTests.time(1))
        #expect(Self.sent(core.takeOutputs()).isEmpty, "the vote left before it was durable")
        #expect(storage.savesWaiting == 1 && core.writesInFlight == 1)
        storage.complete(1)
        #expect(storage.memory.hardState.vote == 1)
        for completion in mailbox.completions { core.persisted(completion, at: NodeCoreTests.time(2)) }
        let votes = Self.sent(core.takeOutputs())
        #expect(votes.map(\.kind) == [.voteResponse] && votes.first?.reject == false)
        #expect(votes.first?.clockNanos != 0, "a held answer left unstamped")
        #expect(core.writesInFlight == 0)
    }

    @Test("a lone node answers a put only after its own write of the entry completes")
    func loneNodeCommitsWithItsWrite() throws {
        var (core, storage, mailbox) = try Self.core(1, voters: [1])
        var nanos: UInt64 = 0
        while core.raft.role != .leader && nanos < 100 * NodeCoreTests.tickNanos {
            nanos += NodeCoreTests.tickNanos
            core.tick(at: NodeCoreTests.time(nanos))
            storage.complete(storage.savesWaiting)
            let completions = mailbox.completions
            mailbox.completions.removeAll()
            for completion in completions { core.persisted(completion, at: NodeCoreTests.time(nanos)) }
        }
        try #require(core.raft.role == .leader)
        storage.complete(storage.savesWaiting)
        for completion in mailbox.completions { core.persisted(completion, at: NodeCoreTests.time(nanos)) }
        mailbox.completions.removeAll()
        _ = core.takeOutputs()

        var readNumbers: UInt64 = 0
        let put = KVRequest(client: 9, sequence: 1, command: .put(key: "k", value: "v"))
        #expect(core.submit(put, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos + 1)) == nil)
        let before = core.takeOutputs()
        #expect(!before.contains { if case .reply = $0 { true } else { false } }, "answered before its entry was durable anywhere")
        #expect(storage.savesWaiting >= 1)
        storage.complete(storage.savesWaiting)
        for completion in mailbox.completions.reversed() { core.persisted(completion, at: NodeCoreTests.time(nanos + 2)) }
        let after = core.takeOutputs()
        let replies = after.compactMap { if case .reply(let applied) = $0 { applied } else { nil } }
        #expect(replies.map(\.sequence) == [1])
    }

    @Test("three cores writing in the background, completions handed in out of order: every entry applied once, in order, the same everywhere",
          arguments: 1...12 as ClosedRange<UInt64>)
    func threeNodesOutOfOrderCompletions(seed: UInt64) throws {
        let voters: [NodeID] = [1, 2, 3]
        var random = SeededGenerator(seed: seed)
        var nodes = try voters.map { try Self.core($0, voters: voters) }
        var inFlight: [Message] = []
        var applied: [[Entry]] = [[], [], []]
        var replies: [KVStateMachine.Applied] = []
        var nanos: UInt64 = 0
        func take(_ position: Int) {
            for output in nodes[position].0.takeOutputs() {
                switch output {
                case .send(let message): inFlight.append(message)
                case .reply(let answer): replies.append(answer)
                case .applied(let entry, _):
                    let expected = (applied[position].last?.index ?? 0) + 1
                    #expect(entry.index == expected, "node \(position + 1) applied \(entry.index) after \(expected - 1)")
                    #expect(entry.index <= nodes[position].1.memory.lastIndex, "node \(position + 1) applied \(entry.index) before it was durable there")
                    applied[position].append(entry)
                default: break
                }
            }
        }
        /// Completes a random prefix of each storage's saves and hands the completions to the core
        /// shuffled.
        func completeSome() {
            for position in nodes.indices {
                let storage = nodes[position].1
                storage.complete(Int(random.next() % UInt64(storage.savesWaiting + 1)))
                var completions = nodes[position].2.completions
                nodes[position].2.completions.removeAll()
                for index in completions.indices.reversed() {
                    completions.swapAt(index, Int(random.next() % UInt64(index + 1)))
                }
                for completion in completions {
                    nodes[position].0.persisted(completion, at: NodeCoreTests.time(nanos))
                    take(position)
                }
            }
        }
        func round() {
            nanos += NodeCoreTests.tickNanos
            for position in nodes.indices {
                nodes[position].0.tick(at: NodeCoreTests.time(nanos))
                take(position)
            }
            while !inFlight.isEmpty {
                let message = inFlight.remove(at: Int(random.next() % UInt64(inFlight.count)))
                nodes[Int(message.to) - 1].0.receive(message, at: NodeCoreTests.time(nanos))
                take(Int(message.to) - 1)
                if random.next() % 4 == 0 { completeSome() }
            }
            completeSome()
        }
        for _ in 0..<200 where !nodes.contains(where: { $0.0.raft.role == .leader }) { round() }
        let leaders = nodes.indices.filter { nodes[$0].0.raft.role == .leader }
        try #require(leaders.count == 1)
        var readNumbers: UInt64 = 0
        for sequence in 1...20 as ClosedRange<UInt64> {
            let put = KVRequest(client: 5, sequence: sequence, command: .put(key: "k\(sequence)", value: "\(sequence)"))
            if nodes[leaders[0]].0.submit(put, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos)) != nil { continue }
            take(leaders[0])
            round()
        }
        for _ in 0..<30 { round() }
        #expect(Set(replies.map(\.sequence)).count == replies.count, "a put answered twice")
        #expect(replies.count == 20, "answered \(replies.count) of 20 puts")
        #expect(applied[0] == applied[1] && applied[1] == applied[2], "the nodes applied different logs")
        for node in nodes {
            #expect(node.0.stateMachine.kv.read("k20", nowMillis: node.0.stateMachine.nowMillis) == "20")
        }
    }
}
