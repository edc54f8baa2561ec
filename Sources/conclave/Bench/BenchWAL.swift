import ArgumentParser
import ConclaveCore
import ConclaveRaft
import ConclaveStorage
import Foundation
import Histogram
import Synchronization

/// `conclave bench wal`: durability on one file system, side by side with its physical limit — a
/// raw pwrite+fdatasync loop on one file — in the same run: a single writer syncing one 128 B entry
/// at a time (target ≥ 90% of the raw loop), group commit under concurrent proposers of 128 B
/// entries (target ≥ 200,000 entries/s durable), and recovery replay of a WAL, CRCs included
/// (target ≥ 300 MB/s), with a cold and a warm page cache.
struct BenchWAL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "WAL sync rate vs a raw fdatasync loop (≥ 90%), group commit of 64 proposers (≥ 200k entries/s), replay (≥ 300 MB/s).",
        discussion: "Run it on the file system you care about with --dir; the default is the system temporary directory."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Directory to run in (created if missing): the file system measured. Default: the system temporary directory.")
    var dir: String?

    @Flag(help: "Keep the data directories written (DIR/single, DIR/group, DIR/replay) for `conclave wal inspect`.")
    var keep = false

    @Option(help: "Seconds per measured loop (0.1…600).")
    var seconds = 3.0

    @Option(help: "Size of the WAL replayed, in MiB (1…65536); the README's figure is --replay-mib 1024.")
    var replayMib = 256

    @Option(help: "Concurrent proposers for group commit (1…1024).")
    var proposers = 64

    @Option(help: "Entries each proposer keeps in flight in the pipelined group-commit run (1…1024).")
    var window = 64

    func validate() throws {
        guard (0.1...600).contains(seconds) else { throw ValidationError("--seconds must be in 0.1…600, got \(seconds)") }
        guard (1...65_536).contains(replayMib) else { throw ValidationError("--replay-mib must be in 1…65536, got \(replayMib)") }
        guard (1...1_024).contains(proposers) else { throw ValidationError("--proposers must be in 1…1024, got \(proposers)") }
        guard (1...1_024).contains(window) else { throw ValidationError("--window must be in 1…1024, got \(window)") }
    }

    func run() throws {
        let created = dir == nil
        let base = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("conclave-bench-wal-\(getpid())").path
        let names = ["raw-growing.dat", "raw-preallocated.dat", "single", "group", "pipelined", "replay"]
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        for name in names where FileManager.default.fileExists(atPath: base + "/" + name) {
            throw ValidationError("--dir: \(base)/\(name) already exists; give a directory without earlier benchmark output")
        }
        defer {
            if !keep {
                for name in names { try? FileManager.default.removeItem(atPath: base + "/" + name) }
                if created { try? FileManager.default.removeItem(atPath: base) }
            }
        }
        let bench = WALBench(base: base, durationNanos: UInt64(seconds * 1e9))
        var results: [BenchResult] = []
        let growing = try bench.rawLoop(file: "raw-growing.dat", preallocate: false)
        let raw = try bench.rawLoop(file: "raw-preallocated.dat", preallocate: true)
        let single = try bench.groupCommit(directory: "single", proposers: 1, window: 1)
        results += [growing, raw, single]
        results.append(BenchResult(name: "WAL ÷ raw preallocated loop (target ≥ 90%; latencies raw ÷ WAL)", unit: "%",
                                   value: 100 * single.value / raw.value, p50: 100 * raw.p50 / single.p50,
                                   p99: 100 * raw.p99 / single.p99, n: single.n, percentileUnit: "%"))
        let group = try bench.groupCommit(directory: "group", proposers: proposers, window: 1)
        results.append(group)
        results.append(BenchResult(name: "  its bound here: \(proposers) proposers × raw syncs/s", unit: "entries/s",
                                   value: Double(proposers) * raw.value, p50: raw.p50, p99: raw.p99, n: raw.n))
        results.append(try bench.groupCommit(directory: "pipelined", proposers: proposers, window: window))
        results += try bench.replay(directory: "replay", mebibytes: replayMib)
        BenchReport.emit(results, json: options.json)
    }
}

/// The measurements, each in its own file or data directory under `base`.
struct WALBench {
    let base: String
    let durationNanos: UInt64
    let fileSystem = PosixFileSystem()
    static let identity = StorageIdentity(clusterID: 1, nodeID: 1)
    static let payload = [UInt8](repeating: 0xAB, count: 128)

    /// pwrite 128 B at the end of one file, fdatasync, repeat: the physical limit of a sync.
    func rawLoop(file name: String, preallocate: Bool) throws -> BenchResult {
        let file = try fileSystem.open(base + "/" + name, mode: .createNew)
        defer { fileSystem.close(file) }
        if preallocate {
            try fileSystem.preallocate(file, length: 64 << 20)
            try fileSystem.fsync(file)
        }
        var histogram = BenchClock.latencyHistogram()
        var offset = 0
        let start = BenchClock.nanoseconds()
        while BenchClock.nanoseconds() - start < durationNanos {
            let before = BenchClock.nanoseconds()
            try fileSystem.writeAll(file, Self.payload, at: offset)
            try fileSystem.fdatasync(file)
            _ = histogram.record(BenchClock.nanoseconds() - before)
            offset = (offset + Self.payload.count) % (64 << 20)
        }
        let elapsed = BenchClock.nanoseconds() - start
        let kind = preallocate ? "preallocated file" : "growing file"
        return BenchResult(name: "raw pwrite+fdatasync loop, 128 B, \(kind)", unit: "syncs/s",
                           value: Double(histogram.totalCount) * 1e9 / Double(elapsed), histogram: histogram)
    }

    /// `proposers` threads, each keeping `window` appends of one 128 B entry in flight through one
    /// `WALWriter`; a latency runs from submitting to durable. With one proposer and a window of
    /// one, every append is its own sync: the single-writer figure.
    func groupCommit(directory name: String, proposers: Int, window: Int) throws -> BenchResult {
        let log = try openLog(name)
        let writer = WALWriter(log: log)
        defer { writer.close() }
        let histograms = Mutex([Histogram<UInt64>]())
        let group = DispatchGroup()
        let deadline = BenchClock.nanoseconds() + durationNanos
        let start = BenchClock.nanoseconds()
        let syncsBefore = writer.syncCount
        for _ in 0..<proposers {
            group.enter()
            let thread = Thread {
                let histogram = Self.propose(to: writer, window: window, until: deadline, sequential: proposers == 1 && window == 1)
                histograms.withLock { $0.append(histogram) }
                group.leave()
            }
            thread.stackSize = 256 << 10
            thread.start()
        }
        group.wait()
        let elapsed = BenchClock.nanoseconds() - start
        var merged = BenchClock.latencyHistogram()
        histograms.withLock { for histogram in $0 { merged.add(histogram) } }
        let entries = Double(merged.totalCount)
        let perSync = entries / Double(max(1, writer.syncCount - syncsBefore))
        let name = proposers == 1 && window == 1 ? "WAL, 1 writer, one 128 B entry per sync"
            : "group commit, \(proposers) proposers × \(window) in flight, 128 B (\(String(format: "%.0f", perSync)) per sync)"
        return BenchResult(name: name, unit: proposers == 1 && window == 1 ? "syncs/s" : "entries/s",
                           value: entries * 1e9 / Double(elapsed), histogram: merged)
    }

    /// One proposer: submits while fewer than `window` of its appends are in flight. A lone
    /// proposer writes consecutive indexes; concurrent ones all write index 1 (each record then
    /// replaces the last), since their submissions interleave in no fixed order.
    private static func propose(to writer: WALWriter, window: Int, until deadline: UInt64, sequential: Bool) -> Histogram<UInt64> {
        var index: LogIndex = 1
        let slots = DispatchSemaphore(value: window)
        let latencies = Mutex(BenchClock.latencyHistogram())
        let failure = Mutex<DurableStorageError?>(nil)
        while BenchClock.nanoseconds() < deadline, failure.withLock({ $0 }) == nil {
            slots.wait()
            let submitted = BenchClock.nanoseconds()
            writer.append([.entries([Entry(term: 1, index: index, data: payload)])]) { error in
                let done = BenchClock.nanoseconds()
                if let error { failure.withLock { $0 = error } }
                latencies.withLock { _ = $0.record(done - submitted) }
                slots.signal()
            }
            if sequential { index += 1 }
        }
        // Wait for every append in flight, then hand the slots back (libdispatch traps when a
        // semaphore is released below its initial value).
        for _ in 0..<window { slots.wait() }
        for _ in 0..<window { slots.signal() }
        if let error = failure.withLock({ $0 }) { preconditionFailure("WAL append failed: \(error)") }
        return latencies.withLock { $0 }
    }

    /// Writes a WAL of `mebibytes` (records of 64 entries of 128 B), then opens it as a node would
    /// — replay, every CRC checked, the log rebuilt in memory — first with its pages evicted from
    /// the page cache, then warm.
    func replay(directory name: String, mebibytes: Int) throws -> [BenchResult] {
        let log = try openLog(name)
        var index: LogIndex = 0
        var written = 0
        while written < mebibytes << 20 {
            let batch = (0..<64).map { offset in Entry(term: 1, index: index + LogIndex(offset) + 1, data: Self.payload) }
            index += 64
            try log.append(.entries(batch))
            written += WALRecord.entries(batch).payloadBytes
            if index % (64 * 512) == 0 { try log.sync() }
        }
        try log.sync()
        let segments = log.segmentPaths
        log.close()
        for segment in segments { try fileSystem.evictFromCache(segment) }
        var results: [BenchResult] = []
        for cache in ["cold", "warm"] {
            let start = BenchClock.nanoseconds()
            let storage = try DurableLogStorage.open(directory: base + "/" + name, identity: Self.identity,
                                                     membership: ConfState(voters: [1]), fileSystem: fileSystem)
            let elapsed = BenchClock.nanoseconds() - start
            let bytes = storage.recovery.bytesReplayed
            precondition(storage.lastIndex == index, "replay lost entries: \(storage.lastIndex) of \(index)")
            storage.close()
            let megabytes = Double(bytes) / 1e6
            results.append(BenchResult(
                name: "replay \(mebibytes) MiB WAL, \(segments.count) segments, CRC + log rebuilt (\(cache) cache)", unit: "MB/s",
                value: megabytes / (Double(elapsed) / 1e9), p50: Double(elapsed), p99: Double(elapsed), n: UInt64(index)))
        }
        return results
    }

    private func openLog(_ name: String) throws -> WriteAheadLog {
        let directory = base + "/" + name
        try FileManager.default.createDirectory(atPath: directory + "/wal", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/snap", withIntermediateDirectories: true)
        return try WriteAheadLog.open(directory: directory + "/wal", identity: Self.identity, membership: ConfState(voters: [1]),
                                      fileSystem: fileSystem)
    }
}
