import ConclaveCore
import Testing
@testable import ConclaveIDs

/// Generators driven by an erratic clock, from a seed: per worker strictly increasing, no duplicate
/// across 32 workers, and the batch API issuing exactly what single calls would.
@Suite struct SnowflakeRandomClockTests {
    static let epochMillis = SnowflakeGeneratorTests.epochMillis

    /// A clock that stalls, ticks, jumps forward, and steps back a little (≤ 5 ms) or a lot; on
    /// average it moves forward.
    struct ErraticClock {
        var nowMillis = SnowflakeRandomClockTests.epochMillis + 10_000

        mutating func tick(_ random: inout SeededGenerator) {
            switch random.next(upperBound: UInt64(100)) {
            case 0..<40: break
            case 40..<75: nowMillis += 1
            case 75..<85: nowMillis += 2 + random.next(upperBound: UInt64(60))
            case 85..<97: nowMillis -= 1 + random.next(upperBound: UInt64(5))
            default: nowMillis -= 6 + random.next(upperBound: UInt64(100))
            }
        }
    }

    /// How often each kind of decision came up, to show a run exercised every policy.
    struct Tally {
        var ids = 0
        var sequenceWaits = 0
        var rollbackWaits = 0
        var rollbackRefusals = 0
    }

    @Test(
        "32 workers on erratic clocks: each worker's IDs strictly increase, and no ID repeats across workers",
        arguments: [(1, "41,5,5,12"), (2, "41,5,5,12"), (3, "50,5,5,3"), (4, "50,5,5,3"), (5, "55,0,5,3")] as [(UInt64, String)]
    )
    func manyWorkers(seed: UInt64, layoutText: String) throws {
        let layout = try SnowflakeLayout(parsing: layoutText)
        var all = Set<UInt64>()
        var tally = Tally()
        for worker in 0..<UInt64(32) {
            let datacenterID = layout.datacenterMax == 0 ? 0 : worker / 8
            let workerID = layout.datacenterMax == 0 ? worker : worker % 8
            var generator = try SnowflakeGeneratorTests.generator(layout: layout, datacenterID: datacenterID, workerID: workerID)
            var random = SeededGenerator(seed: seed, stream: worker)
            let ids = try Self.drive(&generator, random: &random, steps: 1_500, tally: &tally)
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "worker \(worker): not strictly increasing")
            let misplaced = try ids.filter { id in
                let fields = try layout.decode(id)
                return fields.datacenterID != datacenterID || fields.workerID != workerID
            }
            #expect(misplaced.isEmpty, "worker \(worker): IDs carrying another worker's fields")
            all.formUnion(ids)
            #expect(all.count == tally.ids, "a duplicate ID after worker \(worker)")
        }
        #expect(tally.rollbackWaits > 0 && tally.rollbackRefusals > 0)
        if layout.sequenceBits <= 3 { #expect(tally.sequenceWaits > 0) }
    }

    /// Runs `generator` for `steps` clock readings, several calls per reading; waits are honoured by
    /// moving the clock to the time asked, refusals by letting a little real time pass.
    static func drive(_ generator: inout SnowflakeGenerator, random: inout SeededGenerator, steps: Int, tally: inout Tally) throws -> [UInt64] {
        var clock = ErraticClock()
        var ids: [UInt64] = []
        for _ in 0..<steps {
            clock.tick(&random)
            for _ in 0...random.next(upperBound: UInt64(6)) {
                let lastMillis = generator.lastTimestampMillis
                switch generator.next(nowMillis: clock.nowMillis) {
                case .id(let id):
                    ids.append(id)
                    tally.ids += 1
                case .wait(let untilMillis):
                    #expect(untilMillis > clock.nowMillis && untilMillis <= lastMillis + 1)
                    if clock.nowMillis < lastMillis { tally.rollbackWaits += 1 } else { tally.sequenceWaits += 1 }
                    clock.nowMillis = untilMillis
                case .refused(.clockRolledBack(let nowMillis, let refusedLastMillis, _)):
                    #expect(refusedLastMillis - nowMillis > 5)
                    tally.rollbackRefusals += 1
                    clock.nowMillis += 1 + random.next(upperBound: UInt64(20))
                case .refused(let refusal):
                    Issue.record("unexpected refusal: \(refusal)")
                    return ids
                }
            }
        }
        return ids
    }

    @Test("the batch API appends exactly the IDs single calls would, and stops for the same reason", arguments: 1...6 as ClosedRange<UInt64>)
    func batchMatchesSingles(seed: UInt64) throws {
        let layout = try SnowflakeLayout(parsing: seed % 2 == 0 ? "41,5,5,12" : "50,5,5,3")
        let leaseExpiresAtMillis = Self.epochMillis + 10_000 + 3_000  // runs into the lease's end
        var batched = try SnowflakeGeneratorTests.generator(layout: layout, leaseExpiresAtMillis: leaseExpiresAtMillis)
        var single = batched
        var random = SeededGenerator(seed: seed, stream: 77)
        var clock = ErraticClock()
        var sawWaiting = false
        var sawRefused = false
        for _ in 0..<3_000 {
            clock.tick(&random)
            let count = Int(random.next(upperBound: UInt64(24))) - 2
            var batchIDs: [UInt64] = []
            let batchResult = batched.next(count: count, nowMillis: clock.nowMillis, appendingTo: &batchIDs)
            var singleIDs: [UInt64] = []
            var singleResult = SnowflakeBatchResult.complete
            while singleIDs.count < count, case .complete = singleResult {
                switch single.next(nowMillis: clock.nowMillis) {
                case .id(let id): singleIDs.append(id)
                case .wait(let untilMillis): singleResult = .waiting(issued: singleIDs.count, untilMillis: untilMillis)
                case .refused(let refusal): singleResult = .refused(issued: singleIDs.count, refusal)
                }
            }
            #expect(batchIDs == singleIDs)
            #expect(batchResult == singleResult)
            #expect(batched == single)
            if case .waiting = batchResult { sawWaiting = true }
            if case .refused = batchResult { sawRefused = true }
        }
        #expect(sawWaiting && sawRefused)
    }

    @Test("a batch larger than a millisecond's sequence fills the millisecond and says when to ask again")
    func batchFillsOneMillisecond() throws {
        var generator = try SnowflakeGeneratorTests.generator()
        var ids: [UInt64] = []
        let now = Self.epochMillis + 42
        let result = generator.next(count: 5_000, nowMillis: now, appendingTo: &ids)
        #expect(result == .waiting(issued: 4_096, untilMillis: now + 1))
        #expect(ids.count == 4_096)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 + 1 == $1 })
        let empty = generator.next(count: 0, nowMillis: now + 1, appendingTo: &ids)
        #expect(empty == .complete && ids.count == 4_096)
    }
}
