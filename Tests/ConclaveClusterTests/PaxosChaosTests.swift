import ConclaveCore
@testable import ConclaveCluster
import ConclavePaxos
import Testing

@Suite struct PaxosChaosTests {
    static func options(seed: UInt64, nodes: Int = 3, nemesis: [NemesisKind] = PaxosChaosRunner.supportedNemesis) -> ChaosOptions {
        var options = ChaosOptions(seed: seed)
        options.nodes = nodes
        options.clients = 8
        options.durationNanos = 10_000_000_000
        options.nemesis = nemesis
        return options
    }

    @Test("chaos on Multi-Paxos: the history is linearizable, one value per slot, replicas agree, progress after healing",
          arguments: [(1, 3), (2, 3), (3, 5), (4, 4)] as [(UInt64, Int)])
    func passes(seed: UInt64, nodes: Int) throws {
        let (summary, history, _) = try PaxosChaosRunner(options: Self.options(seed: seed, nodes: nodes), durationText: "10s").run()
        #expect(summary.passed, "seed \(seed): \(summary)")
        #expect(summary.succeededAfterHeal > 0)
        #expect(history.count == summary.operations && summary.operations > 100)
        #expect(summary.replayCommand.hasSuffix("--engine paxos"))
    }

    @Test("the same seed gives the same history and trace; the trace shows each message and fault, up to its limit")
    func deterministic() throws {
        var options = Self.options(seed: 9)
        options.traceLinesMax = 500
        let runner = try PaxosChaosRunner(options: options, durationText: "10s")
        let (first, second) = (runner.run(), runner.run())
        #expect(first.history == second.history)
        #expect(first.summary.traceHash == second.summary.traceHash)
        #expect(first.trace.lines == second.trace.lines)
        #expect(first.trace.lines.count == 500 && first.trace.eventCount > 500)
        #expect(first.trace.lines.contains { $0.contains(" prepare b") })
        #expect(first.trace.lines.contains { $0.contains(" promise b") })
        #expect(first.trace.lines.contains { $0.contains(" accept b") })
        #expect(first.trace.lines.contains { $0.contains(" accepted b") })
    }

    @Test("fewer than 3 acceptors, Raft-only faults and other workloads are refused with the reason")
    func refusals() {
        #expect(throws: ChaosError.invalid("--engine paxos needs at least 3 acceptors (--nodes 2): with fewer, one failure leaves no majority")) {
            try PaxosChaosRunner(options: Self.options(seed: 1, nodes: 2), durationText: "10s")
        }
        #expect(throws: ChaosError.self) { try PaxosChaosRunner(options: Self.options(seed: 1, nemesis: [.skew]), durationText: "10s") }
        var locks = Self.options(seed: 1)
        locks.workload = .locks
        #expect(throws: ChaosError.self) { try PaxosChaosRunner(options: locks, durationText: "10s") }
    }

    @Test("an even acceptor count runs, and its fault tolerance is stated")
    func evenCountNote() throws {
        let runner = try PaxosChaosRunner(options: Self.options(seed: 1, nodes: 4), durationText: "10s")
        #expect(runner.faultToleranceNote.contains("tolerates 1 failed acceptor"))
    }

    @Test("KV commands round-trip through the log's bytes; a command chosen twice takes effect once")
    func kvCommands() {
        let cas = PaxosKVCommand(kind: .cas, key: "k", value: "v2", expected: nil)
        #expect(PaxosKVCommand(bytes: cas.bytes) == cas)
        #expect(PaxosKVCommand(bytes: [9]) == nil)
        #expect(PaxosKVCommand(bytes: Array(cas.bytes.dropLast())) == nil)
        var store = PaxosKVStore()
        let put = PaxosValue.command(id: 1, data: PaxosKVCommand(kind: .put, key: "k", value: "v1").bytes)
        #expect(store.apply(put)?.answer.ok == true)
        #expect(store.apply(.command(id: 2, data: cas.bytes))?.answer.ok == false, "k holds v1, not nothing")
        #expect(store.apply(put) == nil)
        #expect(store.apply(.noop) == nil)
        #expect(store.apply(.command(id: 3, data: PaxosKVCommand(kind: .get, key: "k").bytes))?.answer.output == "v1")
    }
}
