import ConclaveCore
@testable import ConclaveCluster
import ConclavePaxos
import Testing

/// The console's Paxos cluster: the chaos world driven by an operator, one message at a time if
/// asked, and the duel of two proposers without a distinguished one.
@Suite struct PaxosClusterTests {
    /// Two clients pinned to nodes 1 and 2, no distinguished proposer, a fixed 2 ms latency.
    static func duel(seed: UInt64 = 3, backoff: Bool) throws -> PaxosCluster {
        var settings = PaxosWorldSettings()
        settings.distinguishedProposer = false
        settings.randomizedBackoff = backoff
        settings.latencyMillis = 2...2
        settings.proposers = [1, 2]
        settings.thinkMillis = 50...100
        return try PaxosCluster(nodes: 3, seed: seed, clients: 2, settings: settings)
    }

    static func preemptions(_ cluster: PaxosCluster) -> [Int] { cluster.nodeIDs.map { cluster.node($0)!.preemptions } }

    @Test("duelling proposers without backoff livelock: 5 s, hundreds of ballots, nothing chosen", arguments: [1, 2, 3] as [UInt64])
    func livelock(seed: UInt64) throws {
        var cluster = try Self.duel(seed: seed, backoff: false)
        cluster.advance(untilMillis: 5_000)
        #expect(cluster.chosenCount == 0)
        let preempted = Self.preemptions(cluster)
        #expect(preempted[0] > 200 && preempted[1] > 200, "\(preempted)")
        #expect(cluster.node(1)!.ballot.round > 400)
        #expect(cluster.valuesWaiting > 0)
        #expect(cluster.violations.isEmpty)
    }

    @Test("randomized backoff ends the duel; a distinguished proposer then stops the preemptions", arguments: [1, 2, 3] as [UInt64])
    func backoffThenLeader(seed: UInt64) throws {
        var cluster = try Self.duel(seed: seed, backoff: false)
        cluster.advance(untilMillis: 2_000)
        #expect(cluster.chosenCount == 0)
        cluster.setProposerPolicy(distinguishedProposer: false, randomizedBackoff: true)
        cluster.advance(untilMillis: 4_000)
        #expect(cluster.chosenCount > 10)
        cluster.setProposerPolicy(distinguishedProposer: true, randomizedBackoff: true)
        cluster.advance(untilMillis: 6_000)
        let settled = (Self.preemptions(cluster), cluster.chosenCount)
        cluster.advance(untilMillis: 9_000)
        #expect(Self.preemptions(cluster) == settled.0, "a stable leader is preempted no more")
        #expect(cluster.chosenCount > settled.1 + 20)
        #expect(cluster.nodeIDs.filter { cluster.node($0)!.phase == .leading }.count == 1)
        #expect(cluster.violations.isEmpty)
    }

    @Test("with backoff from the start, the same duel chooses values")
    func backoffFromStart() throws {
        var cluster = try Self.duel(backoff: true)
        cluster.advance(untilMillis: 3_000)
        #expect(cluster.chosenCount > 10)
        #expect(cluster.violations.isEmpty)
    }

    @Test("a step delivers exactly one message; steps replay exactly what advancing runs")
    func stepByMessage() throws {
        var settings = PaxosWorldSettings()
        settings.recentMessagesMax = PaxosWorldSettings.recentMessagesLimit
        var stepped = try PaxosCluster(nodes: 3, seed: 5, clients: 3, settings: settings)
        var advanced = stepped
        var deliveries: [PaxosDelivery] = []
        while stepped.nowMillis < 300 {
            let before = stepped.messagesDelivered
            let next = stepped.stepMessage()
            let delivery = try #require(next)
            #expect(stepped.messagesDelivered == before + 1)
            deliveries.append(delivery)
        }
        // Finish the millisecond the last step stopped inside, then compare.
        stepped.advance(untilMillis: stepped.nowMillis + 1)
        advanced.advance(untilMillis: stepped.nowMillis)
        #expect(advanced.messagesDelivered == stepped.messagesDelivered)
        #expect(advanced.chosenCount == stepped.chosenCount && stepped.chosenCount > 0)
        #expect(Set(deliveries.map(\.message.name)).isSuperset(of: ["prepare", "promise", "accept", "accepted"]))
        #expect(advanced.recentMessages == stepped.recentMessages)
    }

    @Test("the operator's faults: a minority cannot choose, healing lets it catch up, a crash keeps the acceptor's state")
    func faults() throws {
        var cluster = try PaxosCluster(nodes: 5, seed: 2, clients: 4, settings: PaxosWorldSettings())
        cluster.advance(untilMillis: 1_000)
        let leader = try #require(cluster.nodeIDs.first { cluster.node($0)!.phase == .leading })
        let others = cluster.nodeIDs.filter { $0 != leader }
        cluster.partition([[leader, others[0]], Array(others.dropFirst())])
        #expect(cluster.partitionGroups.count == 2)
        cluster.advance(untilMillis: 3_000)
        let majorityLeader = try #require(others.dropFirst().first { cluster.node($0)!.phase == .leading })
        let chosenBefore = cluster.chosenCount
        cluster.advance(untilMillis: 4_000)
        #expect(cluster.chosenCount > chosenBefore)
        cluster.crash(majorityLeader)
        #expect(cluster.isCrashed(majorityLeader))
        #expect(cluster.acceptorState(of: majorityLeader).promised.node == majorityLeader)
        cluster.heal()
        cluster.restart(majorityLeader)
        cluster.advance(untilMillis: 7_000)
        #expect(cluster.partitionGroups.isEmpty)
        let through = cluster.nodeIDs.map { cluster.node($0)!.chosenThrough }
        #expect(Set(through).count <= 2 && through.min()! + 20 > through.max()!, "\(through)")
        #expect(cluster.violations.isEmpty)
    }

    @Test("values are described as the KV commands they carry")
    func describe() {
        #expect(PaxosCluster.describe(.noop) == "noop")
        #expect(PaxosCluster.describe(.command(id: 7, data: PaxosKVCommand(kind: .put, key: "k0-1", value: "c1-2").bytes)) == "#7 put k0-1=c1-2")
        #expect(PaxosCluster.describe(.command(id: 8, data: PaxosKVCommand(kind: .cas, key: "k", value: "b", expected: "a").bytes)) == "#8 cas k a→b")
        #expect(PaxosCluster.describe(.command(id: 9, data: [0xFF])) == "#9 1 bytes")
    }

    @Test("bad settings are refused with the reason")
    func refusals() {
        #expect(throws: ChaosError.self) { try PaxosCluster(nodes: 2, seed: 1, clients: 1, settings: PaxosWorldSettings()) }
        var settings = PaxosWorldSettings()
        settings.proposers = [4]
        #expect(throws: ChaosError.invalid("proposers [4] must be nodes 1…3")) { try PaxosCluster(nodes: 3, seed: 1, clients: 1, settings: settings) }
        settings = PaxosWorldSettings()
        settings.recentMessagesMax = PaxosWorldSettings.recentMessagesLimit + 1
        #expect(throws: ChaosError.self) { try PaxosCluster(nodes: 3, seed: 1, clients: 1, settings: settings) }
    }
}
