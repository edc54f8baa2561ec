import Foundation

/// Recovery in two stages on two threads: a helper thread reads each segment and checks every frame
/// (the CRCs and the read are about 40% of replay's CPU), one segment ahead of the opening thread,
/// which decodes and replays the frames. Two buffers circulate between them, so memory stays at two
/// segments. Results come in segment order, each segment's valid frames before its error, so the
/// error reported is the first in log order, exactly as a sequential scan would report it.
final class SegmentPrefetcher: @unchecked Sendable {
    /// One segment, read and checked.
    struct Checked {
        var path: String
        var sequence: UInt64
        var buffer: [UInt8]
        /// The valid frames in order, up to where the scan ended or failed.
        var frames: [Frame]
        var header: FileHeader?
        var end: SegmentScanner.End?
        var failure: DurableStorageError?
    }

    struct Frame {
        var offset: Int
        var type: RecordType
        var payload: Range<Int>
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var ready: [Checked] = []
    private var freeBuffers: [[UInt8]] = [[], []]
    private var cancelled = false
    private var finished = false

    /// Starts checking `segments` (in order; the last is the one a torn tail may end).
    init(segments: [(sequence: UInt64, path: String)], identity: StorageIdentity, fileSystem: any FileSystem, options: WALOptions) {
        let thread = Thread { [self] in
            run(segments, identity: identity, fileSystem: fileSystem, options: options)
        }
        thread.name = "conclave-wal-recovery"
        thread.start()
    }

    /// The next segment, checked; nil once the helper stopped (after the last segment or a failure).
    func next() -> Checked? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty, !finished { condition.wait() }
        return ready.isEmpty ? nil : ready.removeFirst()
    }

    /// Hands a segment's buffer back for the one after next.
    func recycle(_ buffer: [UInt8]) {
        condition.lock()
        freeBuffers.append(buffer)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the helper and waits until it has: call before returning, on success or failure.
    func finish() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run(_ segments: [(sequence: UInt64, path: String)], identity: StorageIdentity, fileSystem: any FileSystem,
                     options: WALOptions) {
        if let first = segments.first { fileSystem.willRead(first.path) }
        for (position, segment) in segments.enumerated() {
            if position + 1 < segments.count { fileSystem.willRead(segments[position + 1].path) }
            condition.lock()
            while freeBuffers.isEmpty, !cancelled { condition.wait() }
            guard !cancelled else {
                condition.unlock()
                break
            }
            var buffer = freeBuffers.removeLast()
            condition.unlock()
            var checked = Checked(path: segment.path, sequence: segment.sequence, buffer: [], frames: [])
            do throws(DurableStorageError) {
                (checked.header, checked.end) = try SegmentFile.read(
                    segment.path, sequence: segment.sequence, isLast: position == segments.count - 1, expected: identity,
                    fileSystem: fileSystem, options: options, buffer: &buffer
                ) { (offset, type, payload) throws(DecodeError) in
                    let start = offset + RecordFrame.headerBytes
                    checked.frames.append(Frame(offset: offset, type: type, payload: start..<start + payload.count))
                }
            } catch {
                checked.failure = error
            }
            checked.buffer = buffer
            let failed = checked.failure != nil
            condition.lock()
            ready.append(checked)
            condition.broadcast()
            condition.unlock()
            if failed { break }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
