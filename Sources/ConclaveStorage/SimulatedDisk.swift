import ConclaveCore

/// The state behind `SimulatedFileSystem`, guarded by its mutex: inodes with their durable and
/// current bytes, the current and durable names, and the fault and crash bookkeeping.
struct SimulatedDisk {
    /// One change to a file since its last sync, replayed onto the durable bytes by a sync or (as
    /// the crash model decides) by a crash.
    enum Change {
        case write(offset: Int, bytes: [UInt8])
        /// Truncate or extend with zeros (ftruncate, fallocate).
        case resize(Int)
    }

    struct Inode {
        /// What reads see.
        var current: [UInt8] = []
        /// What a crash with no unsynced write surviving leaves.
        var durable: [UInt8] = []
        /// Changes since the last sync, oldest first.
        var pending: [Change] = []
    }

    var random: SeededGenerator
    var faults: SimulatedFileSystem.Faults
    var inodes: [Int: Inode] = [:]
    var nextInode = 1
    var names: [String: Int] = [:]
    var durableNames: [String: Int] = [:]
    var directories: Set<String> = ["/", "."]
    var durableDirectories: Set<String> = ["/", "."]
    var descriptors: [Int32: Int] = [:]
    var nextDescriptor: Int32 = 3
    var mutations = 0
    var crashAtMutation: Int?
    var crashed = false
    var scriptedSyncFailures = 0

    init(random: SeededGenerator, faults: SimulatedFileSystem.Faults) {
        self.random = random
        self.faults = faults
    }

    // MARK: - Calls

    /// Counts a mutating call, or fails it if the process has died (or dies at this call).
    mutating func beginMutation(_ operation: String, _ path: String) throws(FileSystemError) {
        try checkAlive(operation, path)
        if let limit = crashAtMutation, mutations >= limit {
            crashed = true
            throw crashError(operation, path)
        }
        mutations += 1
    }

    func checkAlive(_ operation: String, _ path: String) throws(FileSystemError) {
        if crashed { throw crashError(operation, path) }
    }

    func crashError(_ operation: String, _ path: String) -> FileSystemError {
        error(operation, path, FileSystemError.crashedCode, "the simulated process has crashed")
    }

    func error(_ operation: String, _ path: String, _ code: Int32, _ message: String) -> FileSystemError {
        FileSystemError(operation: operation, path: path, code: code, message: message)
    }

    func inodeNumber(_ file: OpenFile, _ operation: String) throws(FileSystemError) -> Int {
        guard let inode = descriptors[file.descriptor] else { throw error(operation, file.path, 9, "Bad file descriptor") }
        return inode
    }

    func inode(_ file: OpenFile, _ operation: String) throws(FileSystemError) -> Inode {
        inodes[try inodeNumber(file, operation)]!
    }

    mutating func newInode() -> Int {
        let number = nextInode
        nextInode += 1
        inodes[number] = Inode()
        return number
    }

    mutating func nextSyncFails() -> Bool {
        if scriptedSyncFailures > 0 {
            scriptedSyncFailures -= 1
            return true
        }
        return random.chance(faults.syncFailureProbability)
    }

    var usedBytes: Int { inodes.values.reduce(0) { $0 + $1.current.count } }

    /// Drops inodes no name (current or durable) and no descriptor refers to.
    mutating func collectGarbage() {
        let live = Set(names.values).union(durableNames.values).union(descriptors.values)
        inodes = inodes.filter { live.contains($0.key) }
    }

    // MARK: - Crash

    /// The machine restarts: each file keeps its durable bytes plus whichever unsynced writes the
    /// dice let through (whole, torn at a sector boundary, or not at all); unsynced names revert.
    mutating func restart() {
        for number in inodes.keys.sorted() {
            var inode = inodes[number]!
            for change in inode.pending { survive(change, onto: &inode.durable) }
            inode.current = inode.durable
            inode.pending = []
            inodes[number] = inode
        }
        directories = durableDirectories
        names = durableNames.filter { directories.contains(parentDirectory(of: $0.key)) }
        durableNames = names
        descriptors = [:]
        crashed = false
        crashAtMutation = nil
        collectGarbage()
    }

    private mutating func survive(_ change: Change, onto bytes: inout [UInt8]) {
        guard !random.chance(faults.lostWriteProbability) else { return }
        guard case .write(let offset, let data) = change, random.chance(faults.tornWriteProbability) else {
            bytes.apply(change)
            return
        }
        // A prefix of the write survives, ending at a sector boundary strictly inside it.
        let sector = faults.sectorBytes
        let firstBoundary = (offset / sector + 1) * sector
        let end = offset + data.count
        guard firstBoundary < end else { return }
        let boundaries = (end - 1 - firstBoundary) / sector + 1
        let cut = firstBoundary + Int.random(in: 0..<boundaries, using: &random) * sector
        bytes.apply(.write(offset: offset, bytes: Array(data[0..<(cut - offset)])))
    }
}

extension Array where Element == UInt8 {
    mutating func apply(_ change: SimulatedDisk.Change) {
        switch change {
        case .write(let offset, let data):
            if count < offset + data.count { append(contentsOf: repeatElement(0, count: offset + data.count - count)) }
            replaceSubrange(offset..<offset + data.count, with: data)
        case .resize(let length):
            if length < count { removeSubrange(length...) } else { append(contentsOf: repeatElement(0, count: length - count)) }
        }
    }
}
