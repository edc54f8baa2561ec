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

    /// The machine restarts. Per file, the unsynced data is what its pending changes would make of
    /// the durable bytes; of the 512-byte sectors that differ, none survive (`lostWriteProbability`),
    /// a prefix in file order survives, cut at a random sector (`tornWriteProbability`), or all do.
    /// Writes merge in the page cache first, so several short writes into one sector persist or not
    /// together, as on a real disk. Unsynced names revert; descriptors die.
    mutating func restart() {
        for number in inodes.keys.sorted() {
            var inode = inodes[number]!
            var target = inode.durable
            for change in inode.pending { target.apply(change) }
            inode.durable = survivors(of: target, over: inode.durable)
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

    /// What a crash leaves of `target` written over `durable`.
    private mutating func survivors(of target: [UInt8], over durable: [UInt8]) -> [UInt8] {
        let sector = faults.sectorBytes
        let span = max(target.count, durable.count)
        let dirty = stride(from: 0, to: span, by: sector).filter { start in
            let end = min(start + sector, span)
            return end > target.count || end > durable.count || target[start..<end] != durable[start..<end]
        }
        guard !dirty.isEmpty, !random.chance(faults.lostWriteProbability) else { return durable }
        let kept = random.chance(faults.tornWriteProbability) ? Int.random(in: 0..<dirty.count, using: &random) : dirty.count
        guard kept > 0 else { return durable }
        if kept == dirty.count { return target }
        let lastEnd = dirty[kept - 1] + sector
        var result = durable
        if target.count < result.count { result.removeSubrange(max(target.count, lastEnd)...) }
        if result.count < min(target.count, lastEnd) { result.append(contentsOf: repeatElement(0, count: min(target.count, lastEnd) - result.count)) }
        for start in dirty.prefix(kept) {
            let end = min(start + sector, target.count)
            if start < end { result.replaceSubrange(start..<end, with: target[start..<end]) }
        }
        return result
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
