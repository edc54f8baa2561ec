import ConclaveCoordination
import ConclaveCore
import Testing
@testable import ConclaveCluster

/// Locks end to end on the simulated cluster.
@Suite struct FencingTests {
    /// Sends the request to the leader and waits for its answer, retrying (same client and
    /// sequence, so it takes effect once) while there is no leader or no answer, up to `nanos`.
    static func ask(_ cluster: TestCluster, _ client: UInt64, _ sequence: UInt64, _ command: CoordinationCommand,
                    within nanos: UInt64 = 3_000_000_000) -> CoordinationResult? {
        let request = CoordinationRequest(client: client, sequence: sequence, command: command)
        let deadline = cluster.simulator.now + nanos
        while cluster.simulator.now < deadline {
            guard let leader = cluster.simulator.leader, case .accepted = cluster.simulator.submit(request, to: leader) else {
                cluster.simulator.run(for: 50_000_000)
                continue
            }
            let attemptDeadline = min(deadline, cluster.simulator.now + 1_000_000_000)
            while let output = cluster.simulator.nextOutput(until: attemptDeadline) {
                if case .coordinationReply(_, client, sequence, let result) = output { return result }
            }
        }
        return nil
    }

    /// The next answer to a request already sent (a queued acquire's grant).
    static func next(_ cluster: TestCluster, _ client: UInt64, _ sequence: UInt64, within nanos: UInt64) -> CoordinationResult? {
        let deadline = cluster.simulator.now + nanos
        while let output = cluster.simulator.nextOutput(until: deadline) {
            if case .coordinationReply(_, client, sequence, let result) = output { return result }
        }
        return nil
    }

    @Test("a paused holder's lease expires: the waiter is granted, its write lands, the late write is refused")
    func pausedHolderIsFencedOut() throws {
        let cluster = TestCluster(nodes: 3, seed: 12)
        _ = try #require(cluster.checkOneLeader())
        let acquire = CoordinationCommand.acquire(lock: "L", kind: .mutex, mode: .exclusive, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0)
        #expect(Self.ask(cluster, 1, 1, .openSession(ttlMillis: 500)) != nil)
        #expect(Self.ask(cluster, 2, 1, .openSession(ttlMillis: 60_000)) != nil)
        guard case .acquire(.granted(let oldToken, _)) = Self.ask(cluster, 1, 2, acquire) else {
            Issue.record("client 1 was not granted the lock"); return
        }
        // Client 2 queues for the lock; client 1 "pauses": no keep-alives from now on.
        let waiting = CoordinationCommand.acquire(lock: "L", kind: .mutex, mode: .exclusive, waitMillis: 30_000, ttlMillis: nil, lockDelayMillis: 0)
        #expect(Self.ask(cluster, 2, 2, waiting) == .acquire(.queued(position: 0)))
        guard case .acquire(.granted(let newToken, _)) = Self.next(cluster, 2, 2, within: 5_000_000_000) else {
            Issue.record("client 2 was never granted the lock after client 1's lease ran out; \(cluster.replay)"); return
        }
        #expect(newToken > oldToken)
        #expect(Self.ask(cluster, 2, 3, .fencedPut(key: "res", value: "two", lock: "L", token: newToken)) == .fenced(accepted: true, reason: ""))
        // Client 1 wakes up and writes with the token it still believes in.
        let late = Self.ask(cluster, 1, 3, .fencedPut(key: "res", value: "one", lock: "L", token: oldToken))
        #expect(late == .fenced(accepted: false, reason: "stale token \(oldToken): a write with token \(newToken) already landed"))
        for node in cluster.simulator.nodeIDs {
            cluster.simulator.run(for: 100_000_000)
            #expect(cluster.simulator.stateMachine(of: node).read("res", nowMillis: cluster.simulator.coordination(of: node).nowMillis) == "two")
        }
        #expect(cluster.simulator.coordination(of: 1).sessions.contains(1) == false)
    }

    @Test("a holder is told it lost the lock when its session expires, not left to silence")
    func lostEventReachesHolder() throws {
        let cluster = TestCluster(nodes: 3, seed: 13)
        _ = try #require(cluster.checkOneLeader())
        #expect(Self.ask(cluster, 1, 1, .openSession(ttlMillis: 300)) != nil)
        let acquire = CoordinationCommand.acquire(lock: "L", kind: .mutex, mode: .exclusive, waitMillis: nil, ttlMillis: nil, lockDelayMillis: 0)
        guard case .acquire(.granted(let token, _)) = Self.ask(cluster, 1, 2, acquire) else { Issue.record("not granted"); return }
        var lost: LockEvent?
        let deadline = cluster.simulator.now + 3_000_000_000
        while lost == nil, let output = cluster.simulator.nextOutput(until: deadline) {
            if case .lockEvent(_, let event) = output { lost = event }
        }
        #expect(lost == .lost(lock: "L", session: 1, token: token, reason: .sessionExpired), "\(cluster.replay)")
    }
}

/// Client 0 is the nodes' own: a node refuses a client request that carries it before it enters
/// the log, since the state machine cannot tell a client's client-0 entry from a node's.
@Suite struct ReservedClientTests {
    @Test("a node refuses a request from client 0 at the door")
    func clientZeroRefusedByTheNode() throws {
        let cluster = TestCluster(nodes: 3, seed: 14)
        let leader = try #require(cluster.checkOneLeader())
        let clock = CoordinationRequest(client: 0, sequence: 0, command: .elapsed(millis: 3_600_000))
        guard case .refused(let reason) = cluster.simulator.submit(clock, to: leader) else {
            Issue.record("a client's clock entry from client 0 was accepted"); return
        }
        #expect(reason.contains("client 0 is reserved"))
    }
}
