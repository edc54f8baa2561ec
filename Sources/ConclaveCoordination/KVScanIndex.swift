import ConclaveCore

/// The keys of `KVStateMachine.values` in a fixed order — by `position(of:)`, a stable 63-bit hash
/// of the key's bytes, then by key — so that `SCAN`'s cursor (a position) means the same on every
/// node and in every process, and survives any writes between steps: a key there for the whole
/// scan is returned exactly once, whichever node serves each step (Redis promises at least once).
///
/// A sorted list cut into chunks of at most `chunkMax` entries (Python's `sortedcontainers`
/// layout): insert and remove O(log n + chunkMax) (a binary search, then moving at most one
/// chunk's entries, and at most the chunk list when a chunk splits or empties); a page O(log n +
/// the entries it examines). 24 bytes per key beside the key's own storage (shared with `values`).
///
/// Derived state: rebuilt from `values` on restore, left out of `==` and snapshots.
struct KVScanIndex: Sendable {
    struct Entry: Comparable, Sendable {
        var position: UInt64
        var key: String

        static func < (left: Entry, right: Entry) -> Bool {
            left.position != right.position ? left.position < right.position : left.key < right.key
        }
    }

    static let chunkMax = 512
    private var chunks: [[Entry]] = []
    private(set) var count = 0

    /// Where a key sits in the scan order: FNV-1a 64 of its UTF-8 bytes, mixed, top bit clear (so a
    /// cursor also fits a signed 64-bit integer, for clients that parse it as one).
    static func position(of key: String) -> UInt64 {
        StableHash.mix(StableHash.fnv1a64(key.utf8)) >> 1
    }

    /// Adds a key the store did not hold (the caller knows it is new).
    mutating func insert(_ key: String) {
        let entry = Entry(position: Self.position(of: key), key: key)
        count += 1
        guard !chunks.isEmpty else {
            chunks = [[entry]]
            return
        }
        let chunk = min(firstChunk(notBefore: entry), chunks.count - 1)
        let slot = Self.firstIndex(in: chunks[chunk], notBefore: entry)
        chunks[chunk].insert(entry, at: slot)
        if chunks[chunk].count > Self.chunkMax {
            let upper = Array(chunks[chunk][(Self.chunkMax / 2)...])
            chunks[chunk].removeSubrange((Self.chunkMax / 2)...)
            chunks.insert(upper, at: chunk + 1)
        }
    }

    /// Removes a key the store held, as the store holds it (the same bytes).
    mutating func remove(_ key: String) {
        let entry = Entry(position: Self.position(of: key), key: key)
        let chunk = firstChunk(notBefore: entry)
        guard chunk < chunks.count else { return }
        let slot = Self.firstIndex(in: chunks[chunk], notBefore: entry)
        guard slot < chunks[chunk].count, chunks[chunk][slot] == entry else { return }
        chunks[chunk].remove(at: slot)
        count -= 1
        if chunks[chunk].isEmpty { chunks.remove(at: chunk) }
    }

    /// The entries from position `cursor` on: at least `examine` of them (fewer at the end), and
    /// then every further entry at the same position as the last one taken (so a cursor never
    /// splits a position); `shouldStop` may end the page early, after any entry whose successor
    /// sits at a new position. Returns the keys taken and the next cursor (0 at the end).
    func page(from cursor: UInt64, examine: Int, shouldStop: (String) -> Bool = { _ in false }) -> (keys: [String], next: UInt64) {
        var keys: [String] = []
        var chunk = firstChunk(notBefore: Entry(position: cursor, key: ""))
        guard chunk < chunks.count else { return ([], 0) }
        var slot = Self.firstIndex(in: chunks[chunk], notBefore: Entry(position: cursor, key: ""))
        var lastPosition: UInt64?
        var stop = false
        while chunk < chunks.count {
            while slot < chunks[chunk].count {
                let entry = chunks[chunk][slot]
                if let lastPosition, entry.position != lastPosition, keys.count >= examine || stop { return (keys, entry.position) }
                keys.append(entry.key)
                lastPosition = entry.position
                if shouldStop(entry.key) { stop = true }
                slot += 1
            }
            chunk += 1
            slot = 0
        }
        return (keys, 0)
    }

    /// Every key, in scan order.
    func forEach(_ body: (String) -> Void) {
        for chunk in chunks {
            for entry in chunk { body(entry.key) }
        }
    }

    /// The first chunk whose last entry is not before `entry` (`chunks.count` if none).
    private func firstChunk(notBefore entry: Entry) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle][chunks[middle].count - 1] < entry { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func firstIndex(in chunk: [Entry], notBefore entry: Entry) -> Int {
        var low = 0
        var high = chunk.count
        while low < high {
            let middle = (low + high) / 2
            if chunk[middle] < entry { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension KVScanIndex: Equatable {
    /// Derived from `values`, which `==` compares: two indexes of equal values are equal.
    static func == (_: Self, _: Self) -> Bool { true }
}
