import ConclaveCore
import ConclaveRaft

/// A `WritableLogStorage` that keeps everything in a `MemoryStorage`: the base of the test doubles
/// that change how writes behave (fail, or complete only when the test says).
class MemoryBackedStorage: WritableLogStorage {
    let memory: MemoryStorage

    init(voters: [NodeID]) { memory = MemoryStorage(voters: voters) }

    func initialState() -> (HardState, ConfState) { memory.initialState() }
    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        try memory.entries(from: low, to: high, maxBytes: maxBytes)
    }
    func term(at index: LogIndex) throws(StorageError) -> Term { try memory.term(at: index) }
    var firstIndex: LogIndex { memory.firstIndex }
    var lastIndex: LogIndex { memory.lastIndex }
    func snapshot() throws(StorageError) -> Snapshot { try memory.snapshot() }
    func append(_ entries: [Entry]) throws { memory.append(entries) }
    func setHardState(_ state: HardState) throws { memory.setHardState(state) }
    func applySnapshot(_ snapshot: Snapshot) throws { memory.applySnapshot(snapshot) }
    func createSnapshot(index: LogIndex, voters: [NodeID], learners: [NodeID], data: [UInt8]) throws {
        try memory.createSnapshot(index: index, voters: voters, learners: learners, data: data)
    }
    func compact(through index: LogIndex) throws { try memory.compact(through: index) }
}
