import ConclaveCore
import ConclaveRaft
import Foundation
@testable import ConclaveStorage

let testIdentity = StorageIdentity(clusterID: 0xC1, nodeID: 1)
let testMembership = ConfState(voters: [1, 2, 3])

/// Consecutive entries with payloads that name their index and term (so a mix-up shows).
func makeEntries(_ indexes: ClosedRange<LogIndex>, term: Term, bytes: Int = 24) -> [Entry] {
    indexes.map { index in
        var data = Array("e\(index)t\(term)".utf8)
        while data.count < bytes { data.append(UInt8(truncatingIfNeeded: index &* 31 &+ UInt64(data.count))) }
        return Entry(term: term, index: index, data: data)
    }
}

/// Small segments so that a few dozen records cross several of them.
func smallOptions(segmentBytes: Int = 4_096, preallocate: Bool = true) -> WALOptions {
    WALOptions(segmentBytes: segmentBytes, recordBytesMax: 2_048, preallocate: preallocate, queuedJobsMax: 64,
               snapshotChunkBytes: 256, snapshotsRetained: 2)
}

/// A simulated disk with no faults and "/data" as the data directory's parent.
func quietDisk(seed: UInt64 = 1) -> SimulatedFileSystem {
    SimulatedFileSystem(seed: seed, faults: SimulatedFileSystem.Faults(lostWriteProbability: 1, tornWriteProbability: 0))
}

func openStorage(_ fileSystem: any FileSystem, options: WALOptions = smallOptions(), directory: String = "/data",
                 identity: StorageIdentity = testIdentity) throws -> DurableLogStorage {
    try DurableLogStorage.open(directory: directory, identity: identity, membership: testMembership, fileSystem: fileSystem,
                               options: options)
}

/// What a restarted node sees in its storage: hard state, membership, snapshot position, and the
/// entries after the snapshot.
struct Observed: Equatable, CustomStringConvertible {
    var hardState: HardState
    var confState: ConfState
    var snapshotIndex: LogIndex
    var snapshotTerm: Term
    var entries: [Entry]

    init(hardState: HardState, confState: ConfState, snapshotIndex: LogIndex, snapshotTerm: Term, entries: [Entry]) {
        self.hardState = hardState
        self.confState = confState
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
    }

    init(_ storage: any LogStorage) {
        let (hard, conf) = storage.initialState()
        hardState = hard
        confState = conf
        let snapshot = (try? storage.snapshotPosition()) ?? (index: 0, term: 0)
        snapshotIndex = snapshot.index
        snapshotTerm = snapshot.term
        entries = snapshotIndex < storage.lastIndex
            ? (try? storage.entries(from: snapshotIndex + 1, to: storage.lastIndex + 1, maxBytes: .max)) ?? [] : []
    }

    var description: String {
        "hard \(hardState) conf \(confState.voters)/\(confState.learners) snapshot \(snapshotIndex)@\(snapshotTerm) "
            + "entries \(entries.first?.index ?? 0)…\(entries.last?.index ?? 0) terms \(entries.map(\.term))"
    }
}

extension LogStorage {
    /// The snapshot's index and term without its data.
    func snapshotPosition() throws -> (index: LogIndex, term: Term) {
        if let durable = self as? DurableLogStorage { return (durable.snapshotMetadata.index, durable.snapshotMetadata.term) }
        let snapshot = try snapshot()
        return (snapshot.index, snapshot.term)
    }
}

/// A fresh directory under the system temp directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("conclave-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
