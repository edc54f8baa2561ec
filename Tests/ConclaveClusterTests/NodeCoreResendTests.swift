import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Testing

/// A follower's forwarded proposal or read-index ask lost on the way is sent again while its
/// answer is owed (`Resends`), and what arrives twice takes effect once. Three cores wired by
/// hand: the test carries their messages and drops the ones it chooses.
@Suite struct NodeCoreResendTests {
    /// Three cores, their messages in flight, and what they answered.
    struct Wired {
        var cores: [NodeCore]
        var inFlight: [Message] = []
        var replies: [KVStateMachine.Applied] = []
        var coordinationReplies: [(client: UInt64, sequence: UInt64, result: CoordinationResult)] = []
        var nanos: UInt64 = 0
        var readNumbers: UInt64 = 0
        /// Messages the test drops (checked as each is delivered); counts what it dropped.
        var drop: (Message) -> Bool = { _ in false }
        /// The next this many messages of a kind are dropped.
        var lose: [Message.Kind: Int] = [:]
        var dropped = 0

        init(resendAfterHeartbeats: Int = 3) throws {
            let voters: [NodeID] = [1, 2, 3]
            cores = try voters.map { id in
                var config = NodeConfig(raft: RaftConfig(id: id))
                config.tickNanos = NodeCoreTests.tickNanos
                config.resendAfterHeartbeats = resendAfterHeartbeats
                return try NodeCore(config: config, storage: MemoryStorage(voters: voters),
                                    random: SeededGenerator(seed: 7, stream: id), callbackTargets: NodeCoreTests.NoTargets())
            }
            for _ in 0..<100 where !cores.contains(where: { $0.raft.role == .leader }) { round() }
        }

        var leader: Int { cores.firstIndex { $0.raft.role == .leader }! }
        var follower: Int { cores.firstIndex { $0.raft.role == .follower }! }

        /// Every core ticks, then every message is delivered (or dropped) until none is left.
        mutating func round() {
            nanos += NodeCoreTests.tickNanos
            for position in cores.indices {
                cores[position].tick(at: NodeCoreTests.time(nanos))
                take(position)
            }
            while !inFlight.isEmpty {
                let message = inFlight.removeFirst()
                if let left = lose[message.kind], left > 0 {
                    lose[message.kind] = left - 1
                    dropped += 1
                    continue
                }
                if drop(message) {
                    dropped += 1
                    continue
                }
                cores[Int(message.to) - 1].receive(message, at: NodeCoreTests.time(nanos))
                take(Int(message.to) - 1)
            }
        }

        mutating func take(_ position: Int) {
            for output in cores[position].takeOutputs() {
                switch output {
                case .send(let message): inFlight.append(message)
                case .reply(let applied): replies.append(applied)
                case .coordinationReply(let client, let sequence, let result): coordinationReplies.append((client, sequence, result))
                default: break
                }
            }
        }

        mutating func submit(_ request: KVRequest, on position: Int) -> String? {
            defer { take(position) }
            return cores[position].submit(request, readNumbers: &readNumbers, at: NodeCoreTests.time(nanos))
        }
    }

    static func isProposal(_ message: Message) -> Bool { message.kind == .propose }

    @Test("a follower's forwarded INCR that is lost is sent again, answered, and applied once on every node")
    func lostForwardIsResent() throws {
        var wired = try Wired()
        let follower = wired.follower
        wired.lose[.propose] = 1
        #expect(wired.submit(KVRequest(client: 5, sequence: 1, command: .increment(key: "n", by: 1)), on: follower) == nil)
        for _ in 0..<2 { wired.round() }
        #expect(wired.dropped == 1, "the forward was lost")
        #expect(wired.replies.isEmpty, "nothing answers a lost forward")
        // 3 heartbeat intervals (1 tick each here) later it goes again.
        for _ in 0..<5 { wired.round() }
        #expect(wired.replies.map(\.sequence) == [1], "answered once, after the resend")
        #expect(wired.cores[follower].requestsResent == 1)
        for _ in 0..<20 { wired.round() }
        #expect(wired.replies.count == 1)
        for core in wired.cores {
            #expect(core.stateMachine.kv.read("n", nowMillis: core.stateMachine.nowMillis) == "1", "node \(core.id) applied the INCR once")
        }
    }

    @Test("a forward that arrived but answers late is applied once although it was sent again")
    func slowAnswerIsAppliedOnce() throws {
        var wired = try Wired(resendAfterHeartbeats: 1)
        let follower = wired.follower
        let leader = wired.leader
        // Hold the leader's appends to the follower for a while: the follower learns of nothing, so
        // it resends the INCR the leader already has (a quorum of two still commits it).
        var holding = true
        wired.drop = { message in holding && message.to == NodeID(follower + 1) && message.from == NodeID(leader + 1) }
        #expect(wired.submit(KVRequest(client: 5, sequence: 1, command: .increment(key: "n", by: 1)), on: follower) == nil)
        for _ in 0..<8 { wired.round() }
        #expect(wired.cores[follower].requestsResent >= 2, "resent \(wired.cores[follower].requestsResent) times")
        holding = false
        for _ in 0..<30 { wired.round() }
        #expect(wired.replies.map(\.sequence) == [1])
        for core in wired.cores {
            #expect(core.stateMachine.kv.read("n", nowMillis: core.stateMachine.nowMillis) == "1", "node \(core.id): the repeats were answered from the cache")
        }
    }

    @Test("a follower's read-index ask that is lost is asked again and the get is served")
    func lostReadIsAskedAgain() throws {
        var wired = try Wired()
        let follower = wired.follower
        #expect(wired.submit(KVRequest(client: 5, sequence: 1, command: .put(key: "k", value: "v")), on: follower) == nil)
        for _ in 0..<5 { wired.round() }
        #expect(wired.replies.count == 1)
        wired.lose[.readIndex] = 1
        #expect(wired.submit(KVRequest(client: 5, sequence: 2, command: .get(key: "k")), on: follower) == nil)
        for _ in 0..<2 { wired.round() }
        #expect(wired.replies.count == 1, "the ask was lost")
        for _ in 0..<5 { wired.round() }
        #expect(wired.replies.last == KVStateMachine.Applied(client: 5, sequence: 2, result: .value("v")))
        #expect(wired.cores[follower].requestsResent == 1)
    }

    @Test("resends stop after resendsMax, and a request with a lasting loss is not sent forever")
    func resendsAreBounded() throws {
        var wired = try Wired()
        let follower = wired.follower
        wired.drop = Self.isProposal
        #expect(wired.submit(KVRequest(client: 5, sequence: 1, command: .put(key: "k", value: "v")), on: follower) == nil)
        // 3, then 6, then 12 ticks: three resends within 21 ticks, then none.
        for _ in 0..<60 { wired.round() }
        #expect(wired.cores[follower].requestsResent == 3)
        #expect(wired.dropped == 4, "the first send and three resends")
        #expect(wired.replies.isEmpty)
    }

    @Test("the leader resends nothing of its own term, and resendAfterHeartbeats 0 turns resends off")
    func leaderAndOff() throws {
        var wired = try Wired()
        let leader = wired.leader
        #expect(wired.submit(KVRequest(client: 5, sequence: 1, command: .put(key: "k", value: "v")), on: leader) == nil)
        wired.drop = { _ in true }  // no quorum: the put waits in the leader's log
        for _ in 0..<8 { wired.round() }
        #expect(wired.cores[leader].requestsResent == 0)

        var off = try Wired(resendAfterHeartbeats: 0)
        let follower = off.follower
        off.drop = Self.isProposal
        #expect(off.submit(KVRequest(client: 5, sequence: 1, command: .put(key: "k", value: "v")), on: follower) == nil)
        for _ in 0..<30 { off.round() }
        #expect(off.cores[follower].requestsResent == 0)
        #expect(off.dropped == 1)
    }

    @Test("a lost forward of a lock acquire is sent again and granted once, with one fencing token")
    func lostAcquireIsResent() throws {
        var wired = try Wired()
        let follower = wired.follower
        wired.lose[.propose] = 1
        let open = CoordinationRequest(client: 77, sequence: 1, command: .openSession(ttlMillis: 10_000))
        let opened = try wired.cores[follower].prepare(open, at: NodeCoreTests.time(wired.nanos)).get()
        #expect(wired.cores[follower].submit(opened, at: NodeCoreTests.time(wired.nanos)) == nil)
        wired.take(follower)
        for _ in 0..<8 { wired.round() }
        #expect(wired.coordinationReplies.map(\.sequence) == [1], "the session opened after the resend")
        let acquire = CoordinationRequest(client: 77, sequence: 2, command: .acquire(lock: "l", kind: .mutex, mode: .exclusive, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0))
        let prepared = try wired.cores[follower].prepare(acquire, at: NodeCoreTests.time(wired.nanos)).get()
        wired.lose[.propose] = 1
        #expect(wired.cores[follower].submit(prepared, at: NodeCoreTests.time(wired.nanos)) == nil)
        wired.take(follower)
        for _ in 0..<20 { wired.round() }
        let answers = wired.coordinationReplies.filter { $0.sequence == 2 }
        #expect(answers.count == 1, "\(answers.map(\.result))")
        guard case .acquire(.granted(let token, _))? = answers.first?.result else {
            Issue.record("not granted: \(answers.map(\.result))")
            return
        }
        for core in wired.cores {
            #expect(core.stateMachine.locks.locks["l"]?.holders.map(\.token) == [token], "node \(core.id): one hold, one token")
        }
        #expect(wired.cores[follower].requestsResent == 2)
        for core in wired.cores {
            #expect(core.stateMachine.combinedDigest == wired.cores[0].stateMachine.combinedDigest)
        }
    }
}
