import ConclaveCore
import Foundation
import Testing
@testable import ConclaveCoordination

/// Snapshots arrive from peers (Raft InstallSnapshot): one damaged in a byte or a word must be
/// refused by `init(restoring:)`, or restore to a replica that applies on without a trap (see
/// `SnapshotMutationRun`). 8,000 mutations by default, over four seeds' snapshots taken at three
/// points of their fuzzer runs; `CONCLAVE_SNAPSHOT_MUTATIONS` sets another total,
/// `CONCLAVE_FUZZ_SEED` one seed alone, `CONCLAVE_FUZZ_TRACE=1` prints each mutation and entry
/// before it runs (a trap ends the process: the last lines name it).
@Suite struct SnapshotMutationFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seeds: [UInt64] = environment["CONCLAVE_FUZZ_SEED"].flatMap(UInt64.init).map { [$0] } ?? Array(1...4)
    static let mutations = environment["CONCLAVE_SNAPSHOT_MUTATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 8_000
    static let snapshotPoints = [1_000, 3_000, 8_000]

    @Test("a snapshot with one byte or word changed is refused, or restores to a replica that applies on", arguments: seeds)
    func mutatedSnapshots(seed: UInt64) {
        var run = SnapshotMutationRun(seed: seed, mutations: max(1, Self.mutations / Self.seeds.count))
        if let failure = run.run(snapshotsAfter: Self.snapshotPoints) {
            Issue.record(Comment(rawValue: failure))
            return
        }
        // Both kinds must occur, or the mutations stopped reaching either the checks or the state.
        guard run.mutations >= 1_000 else { return }
        #expect(run.refused > run.mutations / 20, "seed \(seed): only \(run.refused) of \(run.mutations) mutations were refused")
        #expect(run.restored > run.mutations / 20, "seed \(seed): only \(run.restored) of \(run.mutations) mutations restored")
    }
}
