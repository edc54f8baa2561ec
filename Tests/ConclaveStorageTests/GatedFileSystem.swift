import Dispatch
import Synchronization
@testable import ConclaveStorage

/// A `SimulatedFileSystem` whose fdatasync can be held at a gate: the test sees a sync begin
/// (`syncEntered`) and decides when it ends (`open`), so it can queue work while one is in flight.
final class GatedFileSystem: FileSystem {
    let disk: SimulatedFileSystem
    let syncEntered = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let closed = Mutex(false)

    init(_ disk: SimulatedFileSystem) { self.disk = disk }

    /// Later fdatasyncs wait until `open()`.
    func close() { closed.withLock { $0 = true } }

    func open() {
        let wasClosed = closed.withLock { state in
            defer { state = false }
            return state
        }
        if wasClosed { gate.signal() }
    }

    func fdatasync(_ file: OpenFile) throws(FileSystemError) {
        if closed.withLock({ $0 }) {
            syncEntered.signal()
            gate.wait()
        }
        try disk.fdatasync(file)
    }

    func open(_ path: String, mode: FileOpenMode) throws(FileSystemError) -> OpenFile { try disk.open(path, mode: mode) }
    func close(_ file: OpenFile) { disk.close(file) }
    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try disk.read(file, into: buffer, at: offset)
    }
    func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        try disk.write(file, bytes, at: offset)
    }
    func size(of file: OpenFile) throws(FileSystemError) -> Int { try disk.size(of: file) }
    func fsync(_ file: OpenFile) throws(FileSystemError) { try disk.fsync(file) }
    func truncate(_ file: OpenFile, to length: Int) throws(FileSystemError) { try disk.truncate(file, to: length) }
    func preallocate(_ file: OpenFile, length: Int) throws(FileSystemError) { try disk.preallocate(file, length: length) }
    func rename(_ source: String, to target: String) throws(FileSystemError) { try disk.rename(source, to: target) }
    func fsyncDirectory(_ directory: String) throws(FileSystemError) { try disk.fsyncDirectory(directory) }
    func remove(_ path: String) throws(FileSystemError) { try disk.remove(path) }
    func list(_ directory: String) throws(FileSystemError) -> [String] { try disk.list(directory) }
    func makeDirectory(_ directory: String) throws(FileSystemError) { try disk.makeDirectory(directory) }
    func kind(of path: String) -> FileKind? { disk.kind(of: path) }
}
