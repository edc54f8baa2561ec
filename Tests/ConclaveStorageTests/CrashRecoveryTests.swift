import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

/// The crash test: a scripted workload (saves with conflicting suffixes, segment rollovers, own
/// snapshots with compaction, an installed snapshot, records spanning several sectors) runs on the
/// fault-injecting file system, which kills the process at mutating call k — for every k from the
/// first to the last — with short writes along the way, and at the crash loses or tears every
/// unsynced write by the seed's dice. After each restart, recovery must succeed and show exactly
/// the state after the last acknowledged step, or a state the interrupted step could have reached
/// (a prefix of its records): no acknowledged entry lost, no torn or corrupt record accepted.
@Suite struct CrashRecoveryTests {
    enum Step {
        case save(HardState?, [Entry])
        case snapshot(LogIndex)
        case install(Snapshot)
    }

    static let workload: [Step] = {
        var steps: [Step] = [.save(HardState(term: 1, vote: 1, commit: 0), makeEntries(1...3, term: 1))]
        for first in stride(from: 4 as LogIndex, through: 60, by: 4) {
            steps.append(.save(HardState(term: 1, vote: 1, commit: first - 2), makeEntries(first...first + 3, term: 1)))
        }
        steps.append(.save(HardState(term: 2, vote: 2, commit: 54), makeEntries(55...58, term: 2)))
        steps.append(.save(nil, makeEntries(59...61, term: 2, bytes: 1_500)))
        for first in stride(from: 62 as LogIndex, through: 100, by: 5) {
            steps.append(.save(HardState(term: 2, vote: 2, commit: first - 1), makeEntries(first...first + 4, term: 2)))
        }
        steps.append(.snapshot(80))
        steps.append(.save(HardState(term: 2, vote: 2, commit: 101), makeEntries(102...105, term: 2)))
        steps.append(.install(Snapshot(index: 200, term: 3, voters: [1, 2, 3, 4], learners: [5], data: snapshotData(200))))
        for first in stride(from: 201 as LogIndex, through: 230, by: 3) {
            steps.append(.save(HardState(term: 3, vote: 0, commit: first - 1), makeEntries(first...first + 2, term: 3)))
        }
        steps.append(.snapshot(225))
        steps.append(.save(HardState(term: 4, vote: 4, commit: 230), []))
        return steps
    }()

    static func snapshotData(_ index: LogIndex) -> [UInt8] {
        (0..<700).map { UInt8(truncatingIfNeeded: Int(index) &* 131 &+ $0) }
    }

    /// The model: an independent, obviously correct reading of what each step means.
    struct Model {
        var hardState = HardState()
        var snapshotIndex: LogIndex = 0
        var snapshotTerm: Term = 0
        var confState = testMembership
        var entries: [Entry] = []

        var observed: Observed {
            Observed(hardState: hardState, confState: confState, snapshotIndex: snapshotIndex, snapshotTerm: snapshotTerm, entries: entries)
        }

        mutating func append(_ batch: [Entry]) {
            guard let first = batch.first?.index else { return }
            entries = entries.filter { $0.index < first } + batch
        }

        /// Every state the step passes through, durable record by durable record, ending with its result.
        mutating func apply(_ step: Step) -> [Observed] {
            var states: [Observed] = []
            switch step {
            case .save(let hard, let batch):
                let start = self
                for count in 1...max(1, batch.count) {
                    self = start
                    append(Array(batch.prefix(count)))
                    states.append(observed)
                }
                if let hard {
                    hardState = hard
                    states.append(observed)
                }
            case .snapshot(let index):
                snapshotTerm = entries.first { $0.index == index }!.term
                snapshotIndex = index
                entries.removeAll { $0.index <= index }
                confState = testMembership
                states.append(observed)
            case .install(let snapshot):
                snapshotIndex = snapshot.index
                snapshotTerm = snapshot.term
                confState = snapshot.confState
                entries = []
                hardState.commit = max(hardState.commit, snapshot.index)
                states.append(observed)
            }
            return states
        }
    }

    static func perform(_ step: Step, on storage: DurableLogStorage) throws {
        switch step {
        case .save(let hard, let batch):
            try storage.save(hardState: hard, entries: batch)
        case .snapshot(let index):
            try storage.createSnapshot(index: index, voters: testMembership.voters, learners: [], data: snapshotData(index))
            try storage.compact(through: index)
        case .install(let snapshot):
            try storage.applySnapshot(snapshot)
            try storage.compact(through: snapshot.index)
        }
    }

    struct Outcome {
        var acknowledged: Observed
        var reachable: [Observed]
        var completed: Bool
        var mutations: Int
    }

    /// Runs the workload until the crash (if any), and says what a recovery may show.
    static func run(_ disk: SimulatedFileSystem, options: WALOptions) -> Outcome {
        var model = Model()
        var acknowledged = model.observed
        guard let storage = try? openStorage(disk, options: options) else {
            return Outcome(acknowledged: acknowledged, reachable: [], completed: false, mutations: disk.mutationCount)
        }
        defer { storage.close() }
        for step in workload {
            let states = model.apply(step)
            do {
                try perform(step, on: storage)
            } catch {
                return Outcome(acknowledged: acknowledged, reachable: states, completed: false, mutations: disk.mutationCount)
            }
            acknowledged = model.observed
        }
        return Outcome(acknowledged: acknowledged, reachable: [], completed: true, mutations: disk.mutationCount)
    }

    static let faults = SimulatedFileSystem.Faults(shortWriteProbability: 0.2, lostWriteProbability: 0.4, tornWriteProbability: 0.5)

    @Test("crash at every write boundary, then recover: nothing acknowledged lost, nothing corrupt accepted",
          arguments: [true, false])
    func crashAtEveryBoundary(preallocate: Bool) throws {
        let options = smallOptions(segmentBytes: 4_096, preallocate: preallocate)
        let full = Self.run(SimulatedFileSystem(seed: 0, faults: Self.faults), options: options)
        #expect(full.completed)
        var tornTails = 0
        for crashPoint in 0...full.mutations {
            let disk = SimulatedFileSystem(seed: UInt64(crashPoint) &* 7_919 &+ (preallocate ? 1 : 0), faults: Self.faults)
            disk.crashAfter(mutations: crashPoint)
            let outcome = Self.run(disk, options: options)
            disk.restart()
            let recovered: DurableLogStorage
            do {
                recovered = try openStorage(disk, options: options)
            } catch {
                Issue.record("crash point \(crashPoint): recovery failed: \(error)")
                continue
            }
            let observed = Observed(recovered)
            let allowed = [outcome.acknowledged] + outcome.reachable
            #expect(allowed.contains(observed), """
                crash point \(crashPoint): recovered \(observed)
                acknowledged \(outcome.acknowledged)
                """)
            if observed.snapshotIndex > 0 {
                #expect(try recovered.snapshot().data == Self.snapshotData(observed.snapshotIndex), "crash point \(crashPoint)")
            }
            if recovered.recovery.tornTail != nil { tornTails += 1 }
            try checkWritable(recovered, disk: disk, options: options, crashPoint: crashPoint)
        }
        #expect(full.mutations > 150)
        #expect(tornTails > 0)
    }

    @Test("failed fsyncs and a full disk at seeded points: the WAL stops, and recovery still loses nothing acknowledged",
          arguments: 0..<60 as Range<UInt64>)
    func syncFailuresAndFullDisk(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var faults = Self.faults
        if seed % 2 == 0 {
            faults.syncFailureProbability = 0.04
        } else {
            faults.capacityBytes = Int.random(in: 3_000...12_000, using: &random)
        }
        let options = smallOptions(segmentBytes: 4_096, preallocate: seed % 4 < 2)
        let disk = SimulatedFileSystem(seed: seed, faults: faults)
        let outcome = Self.run(disk, options: options)
        disk.restart()
        faults.capacityBytes = .max
        faults.syncFailureProbability = 0
        disk.faults = faults
        let recovered = try openStorage(disk, options: options)
        let observed = Observed(recovered)
        #expect(([outcome.acknowledged] + outcome.reachable).contains(observed), "seed \(seed): recovered \(observed)")
        try checkWritable(recovered, disk: disk, options: options, crashPoint: -1)
    }

    /// The recovered WAL takes a new write, and a clean restart shows it.
    private func checkWritable(_ storage: DurableLogStorage, disk: SimulatedFileSystem, options: WALOptions, crashPoint: Int) throws {
        let next = storage.lastIndex + 1
        try storage.save(hardState: HardState(term: 9, vote: 1, commit: storage.hardState.commit),
                         entries: [Entry(term: 9, index: next, data: [9])])
        let expected = Observed(storage)
        storage.close()
        let reopened = try openStorage(disk, options: options)
        #expect(Observed(reopened) == expected, "crash point \(crashPoint): a write after recovery")
        reopened.close()
    }
}
