/// The search's memo: the configurations (placed operations, model state) already explored.
///
/// A set of placed operations is stored in the compact form `LinearizationSearch` hands over, its
/// *frontier* (the unplaced operations called before the earliest pending return, which determines
/// the whole set), so an entry costs a few words however long the history is. Open addressing with
/// linear probing over a power-of-two table kept at most half full; keys compare in full, the hash
/// only narrows the search. Insertion: O(frontier length) expected.
struct VisitedSet {
    private struct Entry {
        var hash: UInt64
        var frontierStart: Int
        var frontierCount: Int32
        var state: ModelState
    }

    /// Entry index + 1 for each slot; 0 is empty.
    private var slots = [Int32](repeating: 0, count: 1024)
    private var entries: [Entry] = []
    /// All stored frontiers, back to back.
    private var frontiers: [Int32] = []

    /// How many configurations are stored.
    var count: Int { entries.count }

    /// Adds (`frontier`, `state`); returns `false` when it was already present.
    mutating func insert(frontier: [Int32], state: ModelState) -> Bool {
        let hash = Self.hash(frontier: frontier, state: state)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            let entry = entries[Int(slots[slot]) - 1]
            if entry.hash == hash, entry.state == state,
               frontiers[entry.frontierStart..<(entry.frontierStart + Int(entry.frontierCount))].elementsEqual(frontier) {
                return false
            }
            slot = (slot + 1) & mask
        }
        entries.append(Entry(hash: hash, frontierStart: frontiers.count, frontierCount: Int32(frontier.count), state: state))
        frontiers.append(contentsOf: frontier)
        slots[slot] = Int32(entries.count)
        if entries.count * 2 > slots.count { grow() }
        return true
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, entry) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }

    /// A fixed (not per-process) 64-bit hash, so that runs are reproducible to the probe.
    private static func hash(frontier: [Int32], state: ModelState) -> UInt64 {
        var hash = mix(UInt64(UInt32(bitPattern: state.value)) ^ (state.highestToken &* 0x9E37_79B9_7F4A_7C15))
        for operation in frontier {
            hash = mix(hash ^ UInt64(UInt32(bitPattern: operation)))
        }
        return hash
    }

    /// SplitMix64's finalizer: every input bit moves every output bit.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
