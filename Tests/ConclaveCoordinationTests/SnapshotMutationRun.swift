import ConclaveCore
import Foundation
@testable import ConclaveCoordination

/// Damaged snapshots, as a peer's InstallSnapshot may bring them: real snapshots of a fuzzer run's
/// replica with one byte changed (a bit flipped, or any value) or one 8-byte word replaced (by a
/// bound, one past it, or anything), each restored and — when the restore accepts it — driven on
/// by `entriesAfter` more fuzzer entries. `init(restoring:)` must refuse the snapshot or yield a
/// replica that applies them without trapping, its cluster time never past its end.
///
/// A trap ends the process: with `CONCLAVE_FUZZ_TRACE=1` each mutation is written to standard
/// error before it restores, so the last line names it.
struct SnapshotMutationRun {
    let seed: UInt64
    let mutations: Int
    let entriesAfter: Int
    /// What the mutations gave: refused by the restore, or restored and driven on.
    private(set) var refused = 0
    private(set) var restored = 0
    private var random: SeededGenerator
    private let trace = ProcessInfo.processInfo.environment["CONCLAVE_FUZZ_TRACE"] == "1"

    init(seed: UInt64, mutations: Int, entriesAfter: Int = 200) {
        self.seed = seed
        self.mutations = mutations
        self.entriesAfter = entriesAfter
        random = SeededGenerator(seed: seed, stream: 3)
    }

    /// Words that meet the bounds restored fields must keep: durations, cluster time, counters.
    static let words: [UInt64] = [0, 1, 2, 0x7F, 0xFF, 86_400_000, 86_400_001, 600_001, CoordinationLimits.clusterTimeMillisMax,
                                  CoordinationLimits.clusterTimeMillisMax + 1, 1 << 44, 1 << 62, (1 << 62) + 1, UInt64(Int64.max),
                                  UInt64(Int64.max) + 1, UInt64.max - 1, UInt64.max]

    /// Runs the fuzzer of `seed` and damages snapshots of replica 0 taken after each of `points`
    /// entries, the mutations spread evenly; returns the first failure, described, or nil.
    mutating func run(snapshotsAfter points: [Int]) -> String? {
        var fuzzRun = CommandFuzzRun(seed: seed, entries: points.max() ?? 0)
        for (number, point) in points.enumerated() {
            if let failure = fuzzRun.run(through: point) { return "the fuzzer run that makes the snapshots failed: \(failure)" }
            let snapshot = fuzzRun.replicas[0].snapshotData()
            let numbers = Self.numberPositions(in: snapshot)
            let share = mutations / points.count + (number < mutations % points.count ? 1 : 0)
            for mutation in 0..<share {
                let (bytes, change) = mutate(snapshot, numbers: numbers)
                let label = "seed \(seed), snapshot after entry \(point) (\(snapshot.count) bytes), mutation \(mutation): \(change)"
                if let problem = restoreAndApply(bytes, label: label, fuzzer: fuzzRun.fuzzer, stream: UInt64(mutation)) {
                    return "\(label): \(problem)\n  replay: CONCLAVE_FUZZ_TRACE=1 swift test --filter SnapshotMutationFuzzTests"
                }
            }
        }
        return nil
    }

    /// Where a snapshot likely holds a number: a little-endian word in 1 ..< 2⁴⁴ (token counters,
    /// instants, durations, counts). Most of a snapshot's bytes are names and values; the fields
    /// whose range the apply arithmetic depends on are among these.
    static func numberPositions(in snapshot: [UInt8]) -> [Int] {
        guard snapshot.count >= 8 else { return [] }
        return (0...(snapshot.count - 8)).filter { start in
            snapshot[start] != 0 && snapshot[start + 5] == 0 && snapshot[start + 6] == 0 && snapshot[start + 7] == 0
        }
    }

    /// One byte or one little-endian word changed, at a number three times in four; the change, described.
    private mutating func mutate(_ snapshot: [UInt8], numbers: [Int]) -> ([UInt8], String) {
        var bytes = snapshot
        let position = !numbers.isEmpty && random.next() % 4 != 0
            ? numbers[Int(random.next() % UInt64(numbers.count))] : Int(random.next() % UInt64(bytes.count))
        switch random.next() % 3 {
        case 0:
            let bit = UInt8(1) << (random.next() % 8)
            bytes[position] ^= bit
            return (bytes, "byte \(position) \(snapshot[position]) → \(bytes[position]) (bit flipped)")
        case 1:
            bytes[position] = UInt8(truncatingIfNeeded: random.next())
            return (bytes, "byte \(position) \(snapshot[position]) → \(bytes[position])")
        default:
            let start = min(position, max(0, bytes.count - 8))
            let word = random.next() % 4 == 0 ? random.next() : Self.words[Int(random.next() % UInt64(Self.words.count))]
            withUnsafeBytes(of: word.littleEndian) { wordBytes in
                for offset in 0..<min(8, bytes.count - start) { bytes[start + offset] = wordBytes[offset] }
            }
            return (bytes, "8-byte word at \(start) → \(word)")
        }
    }

    /// Restores `bytes`; if that succeeds, applies `entriesAfter` entries of `fuzzer` (reseeded).
    private mutating func restoreAndApply(_ bytes: [UInt8], label: String, fuzzer base: CommandFuzzer, stream: UInt64) -> String? {
        if trace { FileHandle.standardError.write(Data("\(label)\n".utf8)) }
        guard var replica = try? CoordinationStateMachine(restoring: bytes) else {
            refused += 1
            return nil
        }
        restored += 1
        var fuzzer = base
        fuzzer.random = SeededGenerator(seed: seed &+ stream, stream: 4)
        var index = replica.appliedIndex
        for number in 1...entriesAfter {
            fuzzer.nowMillis = replica.nowMillis
            let entry = fuzzer.next()
            guard index < LogIndex.max else { return "restored with applied index \(index): no entry can follow" }
            index += 1
            if trace { FileHandle.standardError.write(Data("  entry \(number) after the restore: \(entry)\n".utf8)) }
            if case .membership = entry {
                replica.skip(index: index)
            } else {
                _ = replica.apply(index: index, data: entry.data)
            }
            guard replica.nowMillis <= CoordinationLimits.clusterTimeMillisMax else {
                return "entry \(number) after the restore moved cluster time to \(replica.nowMillis) ms, past its end"
            }
        }
        return nil
    }
}
