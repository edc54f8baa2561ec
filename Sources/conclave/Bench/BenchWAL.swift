import ArgumentParser
import ConclaveCore
import ConclaveRaft
import ConclaveStorage
import Foundation
import Histogram
import Synchronization

/// `conclave bench wal`: durability on one file system, side by side with its physical limit — a
/// raw pwrite+fdatasync loop on one file — in the same run: a single writer syncing one 128 B entry
/// at a time (target ≥ 90% of the raw loop), group commit under 64 concurrent proposers of 128 B
/// entries (target ≥ 200,000 entries/s durable; driven by one loop as a node drives its clients,
/// and, for comparison, by a thread per proposer), and recovery replay of a WAL, CRCs included
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
        let names = ["raw-growing.dat", "raw-preallocated.dat", "single", "group-loop", "group", "pipelined", "replay"]
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
        var results = try bench.syncRates()
        results.append(try bench.loopGroupCommit(directory: "group-loop", proposers: proposers))
        results.append(try bench.groupCommit(directory: "group", proposers: proposers, window: 1))
        results.append(try bench.groupCommit(directory: "pipelined", proposers: proposers, window: window))
        results += try bench.replay(directory: "replay", mebibytes: replayMib)
        BenchReport.emit(results, json: options.json)
    }
}

/// The measurements, each in its own file or data directory under `base`.
struct WALBench {
    /// Rounds the raw loops and the single writer alternate in, so that a disk whose speed drifts
    /// (a shared machine, a cloud volume) slows all three alike.
    static let rounds = 6

    let base: String
    let durationNanos: UInt64
    let fileSystem = PosixFileSystem()
    static let identity = StorageIdentity(clusterID: 1, nodeID: 1)
    static let payload = [UInt8](repeating: 0xAB, count: 128)

    /// The raw loops (growing and preallocated file) and the WAL's single writer, in alternating
    /// rounds, and the WAL's rate as a share of the preallocated raw loop's.
    func syncRates() throws -> [BenchResult] {
        let growing = try RawSyncLoop(path: base + "/raw-growing.dat", preallocate: false, fileSystem: fileSystem)
        let preallocated = try RawSyncLoop(path: base + "/raw-preallocated.dat", preallocate: true, fileSystem: fileSystem)
        defer {
            fileSystem.close(growing.file)
            fileSystem.close(preallocated.file)
        }
        let writer = WALWriter(log: try openLog("single"))
        defer { writer.close() }
        var histograms = (BenchClock.latencyHistogram(), BenchClock.latencyHistogram(), BenchClock.latencyHistogram())
        var elapsed: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var index: LogIndex = 0
        let roundNanos = durationNanos / UInt64(Self.rounds)
        for _ in 0..<Self.rounds {
            elapsed.0 += try growing.run(for: roundNanos, into: &histograms.0)
            elapsed.1 += try preallocated.run(for: roundNanos, into: &histograms.1)
            elapsed.2 += try timed(for: roundNanos, into: &histograms.2) { () throws(DurableStorageError) in
                index += 1
                try writer.append([.entries([Entry(term: 1, index: index, data: Self.payload)])])
            }
        }
        func rate(_ histogram: Histogram<UInt64>, _ nanos: UInt64) -> Double { Double(histogram.totalCount) * 1e9 / Double(nanos) }
        let raw = rate(histograms.1, elapsed.1)
        let wal = rate(histograms.2, elapsed.2)
        return [
            BenchResult(name: "raw pwrite+fdatasync loop, 128 B, growing file", unit: "syncs/s", value: rate(histograms.0, elapsed.0),
                        histogram: histograms.0),
            BenchResult(name: "raw pwrite+fdatasync loop, 128 B, preallocated file", unit: "syncs/s", value: raw, histogram: histograms.1),
            BenchResult(name: "WAL, 1 writer, one 128 B entry per sync", unit: "syncs/s", value: wal, histogram: histograms.2),
            BenchResult(name: "WAL ÷ raw preallocated loop (target ≥ 90%; p50/p99: raw ÷ WAL latency)", unit: "%",
                        value: 100 * wal / raw,
                        p50: 100 * Double(histograms.1.valueAtPercentile(50)) / Double(histograms.2.valueAtPercentile(50)),
                        p99: 100 * Double(histograms.1.valueAtPercentile(99)) / Double(histograms.2.valueAtPercentile(99)),
                        n: histograms.2.totalCount, percentileUnit: "%"),
        ]
    }

    /// `proposers` proposers with one 128 B entry each in flight, driven the way a node drives its
    /// clients' commands: one loop thread numbers the entries of every proposer ready in a turn and
    /// hands them to the WAL as one write (a node's Ready), and the write's completion hands those
    /// proposers back to the loop — one thread wake-up per group sync, not one per proposer. Writes
    /// submitted while a sync runs share the next one. A latency runs from submitting to the loop
    /// seeing the entry durable.
    func loopGroupCommit(directory name: String, proposers: Int) throws -> BenchResult {
        let writer = WALWriter(log: try openLog(name))
        defer { writer.close() }
        let loop = ProposerLoop(proposers: proposers)
        let syncsBefore = writer.syncCount
        let start = BenchClock.nanoseconds()
        let deadline = start + durationNanos
        var submitted = [UInt64](repeating: 0, count: proposers)
        var latencies = BenchClock.latencyHistogram()
        var ready = Array(0..<proposers)
        var inFlight = 0
        var index: LogIndex = 0
        var failure: DurableStorageError?
        while true {
            let now = BenchClock.nanoseconds()
            if now < deadline, failure == nil, !ready.isEmpty {
                let entries = ready.map { proposer in
                    submitted[proposer] = now
                    index += 1
                    return Entry(term: 1, index: index, data: Self.payload)
                }
                let turn = ready
                writer.append([.entries(entries)]) { error in loop.completed(turn, error) }
                inFlight += turn.count
            }
            guard inFlight > 0 else { break }
            let (done, error) = loop.takeCompleted()
            let seen = BenchClock.nanoseconds()
            for proposer in done { _ = latencies.record(seen - submitted[proposer]) }
            inFlight -= done.count
            failure = failure ?? error
            ready = done
        }
        if let failure { throw failure }
        let elapsed = BenchClock.nanoseconds() - start
        let entries = Double(latencies.totalCount)
        let perSync = entries / Double(max(1, writer.syncCount - syncsBefore))
        let label = "group commit, \(proposers) proposers × 1 in flight on one loop as a node, 128 B (\(String(format: "%.0f", perSync)) per sync)"
        return BenchResult(name: label, unit: "entries/s", value: entries * 1e9 / Double(elapsed), histogram: latencies)
    }

    /// `proposers` threads, each keeping `window` appends of one 128 B entry in flight through one
    /// `WALWriter`; a latency runs from submitting to durable. With a window of one, a proposer
    /// waits for each append (closed loop), so throughput is at most proposers × syncs/s.
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
                let histogram = Self.propose(to: writer, window: window, until: deadline)
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
        let name = "group commit, \(proposers) proposer threads × \(window) in flight, 128 B (\(String(format: "%.0f", perSync)) per sync)"
        return BenchResult(name: name, unit: "entries/s", value: entries * 1e9 / Double(elapsed), histogram: merged)
    }

    /// One proposer: submits while fewer than `window` of its appends are in flight. Every entry
    /// is at index 1 (each record replaces the last), since concurrent proposers' submissions
    /// interleave in no fixed order; a node's single Raft loop numbers its batches instead.
    private static func propose(to writer: WALWriter, window: Int, until deadline: UInt64) -> Histogram<UInt64> {
        let slots = DispatchSemaphore(value: window)
        let latencies = Mutex(BenchClock.latencyHistogram())
        let failure = Mutex<DurableStorageError?>(nil)
        while BenchClock.nanoseconds() < deadline, failure.withLock({ $0 }) == nil {
            slots.wait()
            let submitted = BenchClock.nanoseconds()
            writer.append([.entries([Entry(term: 1, index: 1, data: payload)])]) { error in
                let done = BenchClock.nanoseconds()
                if let error { failure.withLock { $0 = error } }
                latencies.withLock { _ = $0.record(done - submitted) }
                slots.signal()
            }
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
    /// the page cache, then three times warm (p50 and p99 columns hold the median and worst warm
    /// time). On a machine busier than its cores, wall time also counts waiting for a CPU; the CPU
    /// time of both recovery threads (reading and checking, decoding and replaying) says what the
    /// code does on one core of its own — a lower bound for two.
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
        var durations: [UInt64] = []
        var cpu: [UInt64] = []
        var bytes = 0
        for _ in 0..<4 {
            let start = BenchClock.nanoseconds()
            let startCPU = BenchClock.processCPUNanoseconds()
            let storage = try DurableLogStorage.open(directory: base + "/" + name, identity: Self.identity,
                                                     membership: ConfState(voters: [1]), fileSystem: fileSystem)
            cpu.append(BenchClock.processCPUNanoseconds() - startCPU)
            durations.append(BenchClock.nanoseconds() - start)
            bytes = storage.recovery.bytesReplayed
            precondition(storage.lastIndex == index, "replay lost entries: \(storage.lastIndex) of \(index)")
            storage.close()
        }
        let megabytes = Double(bytes) / 1e6
        let warm = durations.dropFirst().sorted()
        let warmCPU = cpu.dropFirst().sorted()
        let label = "replay \(mebibytes) MiB WAL, \(segments.count) segments, CRC + log rebuilt"
        return [
            BenchResult(name: "\(label) (cold cache)", unit: "MB/s", value: megabytes / (Double(durations[0]) / 1e9),
                        p50: Double(durations[0]), p99: Double(durations[0]), n: UInt64(index)),
            BenchResult(name: "\(label) (warm, best of 3)", unit: "MB/s", value: megabytes / (Double(warm[0]) / 1e9),
                        p50: Double(warm[1]), p99: Double(warm[2]), n: UInt64(index)),
            BenchResult(name: "  the same per CPU-second, both recovery threads (one quiet core's worth)", unit: "MB/s",
                        value: megabytes / (Double(warmCPU[0]) / 1e9), p50: Double(warmCPU[1]), p99: Double(warmCPU[2]),
                        n: UInt64(index)),
        ]
    }

    private func openLog(_ name: String) throws -> WriteAheadLog {
        let directory = base + "/" + name
        try FileManager.default.createDirectory(atPath: directory + "/wal", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/snap", withIntermediateDirectories: true)
        return try WriteAheadLog.open(directory: directory + "/wal", identity: Self.identity, membership: ConfState(voters: [1]),
                                      fileSystem: fileSystem)
    }
}

/// The loop thread's inbox: the proposers whose writes completed, handed over by the writer thread
/// and taken by the loop all at once.
final class ProposerLoop: @unchecked Sendable {
    private let condition = NSCondition()
    private var done: [Int] = []
    private var failure: DurableStorageError?

    init(proposers: Int) { done.reserveCapacity(proposers) }

    func completed(_ proposers: [Int], _ error: DurableStorageError?) {
        condition.lock()
        done.append(contentsOf: proposers)
        if let error, failure == nil { failure = error }
        condition.signal()
        condition.unlock()
    }

    /// Waits until at least one write completed; returns every proposer whose write has.
    func takeCompleted() -> ([Int], DurableStorageError?) {
        condition.lock()
        defer { condition.unlock() }
        while done.isEmpty { condition.wait() }
        let taken = done
        done.removeAll(keepingCapacity: true)
        return (taken, failure)
    }
}

/// A raw pwrite+fdatasync loop on one file: 128 B at the end, sync, repeat — the physical limit of a
/// sync on this file system, with the same calls the WAL makes.
/// Sendable so that loops can run side by side; each loop is run by one thread at a time.
struct RawSyncLoop: @unchecked Sendable {
    let file: OpenFile
    let fileSystem: PosixFileSystem
    private let offset = Offset()

    private final class Offset { var value = 0 }
    static let fileBytes = 64 << 20

    init(path: String, preallocate: Bool, fileSystem: PosixFileSystem) throws {
        self.fileSystem = fileSystem
        file = try fileSystem.open(path, mode: .createNew)
        if preallocate {
            try fileSystem.preallocate(file, length: Self.fileBytes)
            try fileSystem.fsync(file)
        }
    }

    func run(for nanos: UInt64, into histogram: inout Histogram<UInt64>) throws -> UInt64 {
        try timed(for: nanos, into: &histogram) { () throws(FileSystemError) in
            try fileSystem.writeAll(file, WALBench.payload, at: offset.value)
            try fileSystem.fdatasync(file)
            offset.value = (offset.value + WALBench.payload.count) % Self.fileBytes
        }
    }
}

/// Runs `body` repeatedly for about `nanos`, recording each call's latency; returns the time taken.
func timed<Failure: Error>(for nanos: UInt64, into histogram: inout Histogram<UInt64>,
                           _ body: () throws(Failure) -> Void) throws(Failure) -> UInt64 {
    let start = BenchClock.nanoseconds()
    var now = start
    while now - start < nanos {
        try body()
        let after = BenchClock.nanoseconds()
        _ = histogram.record(after - now)
        now = after
    }
    return now - start
}
