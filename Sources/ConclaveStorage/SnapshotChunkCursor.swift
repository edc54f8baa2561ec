import ConclaveCore
import ConclaveRaft

/// A position in one snapshot file's data, for serving a leader's chunk reads in order without
/// reading the file from the start each time. Holds at most one file chunk (`snapshotChunkBytes`)
/// besides the chunk it returns. Moving backwards is not possible: open a new cursor.
final class SnapshotChunkCursor {
    let index: LogIndex
    private let reader: SnapshotFileReader
    /// The data offset of `buffered`'s first byte.
    private(set) var position = 0
    /// The unread rest of the file chunk last read.
    private var buffered: ArraySlice<UInt8> = []

    init(index: LogIndex, reader: SnapshotFileReader) {
        self.index = index
        self.reader = reader
    }

    /// Up to `maxBytes` of data from `offset` (≥ `position`), every frame CRC-checked as read (and
    /// the whole data's length and CRC once the end record is reached). Nil when `offset` is past
    /// the end of the data.
    func read(offset: Int, maxBytes: Int) throws(DurableStorageError) -> [UInt8]? {
        precondition(offset >= position && maxBytes > 0, "cursor at \(position) asked for \(maxBytes) bytes at \(offset)")
        while position + buffered.count < offset || buffered.isEmpty {
            position += buffered.count
            guard let next = try reader.nextChunk() else {
                buffered = []
                return offset == position ? [] : nil
            }
            buffered = next[...]
        }
        buffered = buffered.dropFirst(offset - position)
        position = offset
        var chunk: [UInt8] = []
        chunk.reserveCapacity(maxBytes)
        while chunk.count < maxBytes {
            if buffered.isEmpty {
                guard let next = try reader.nextChunk() else { break }
                buffered = next[...]
            }
            let take = min(maxBytes - chunk.count, buffered.count)
            chunk.append(contentsOf: buffered.prefix(take))
            buffered = buffered.dropFirst(take)
            position += take
        }
        return chunk
    }
}
