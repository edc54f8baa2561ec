import ConclaveCore

/// Hashes one element of replicated state (a lock, a session, a counter, …) for the replica digest
/// (`CoordinationStateMachine.stateDigest`).
///
/// Each table keeps the wrapping sum of its elements' hashes, updated where an element is written
/// (subtract the old element's hash, add the new one's): a sum needs no order (dictionaries have
/// none) and costs O(1) per write on top of hashing the element, so the digest follows the whole
/// state at the price of what an entry touches — never a rehash of everything. The element hash is
/// word-wise FNV over its fields, finished with a full-avalanche mix so that sums of similar
/// elements do not cancel by accident. Not a cryptographic hash: it finds divergence, it does not
/// resist forgery.
struct StateHasher {
    private var value: UInt64

    /// `kind` keeps elements of different tables with equal fields apart.
    init(_ kind: UInt64) { value = StableHash.fold(StableHash.fnvOffsetBasis, kind) }

    mutating func combine(_ word: UInt64) { value = StableHash.fold(value, word) }

    mutating func combine(_ number: Int) { combine(UInt64(bitPattern: Int64(number))) }

    mutating func combine(_ flag: Bool) { combine(flag ? 1 as UInt64 : 0) }

    /// Whether an optional is there, then its value if it is.
    mutating func combine(_ word: UInt64?) {
        combine(word != nil)
        if let word { combine(word) }
    }

    /// The text's bytes, then its length (so that "ab","c" and "a","bc" differ).
    mutating func combine(_ text: String) {
        let seed = value
        value = text.utf8.withContiguousStorageIfAvailable { StableHash.fnv1a64($0, seed: seed) }
            ?? StableHash.fnv1a64(text.utf8, seed: seed)
        combine(text.utf8.count)
    }

    mutating func combine(_ text: String?) {
        combine(text != nil)
        if let text { combine(text) }
    }

    var finalized: UInt64 { StableHash.mix(value) }

    /// A text's hash on its own (to keep beside a value whose text never changes).
    static func hash(_ text: String) -> UInt64 {
        var hasher = StateHasher(19)
        hasher.combine(text)
        return hasher.finalized
    }
}

/// A wrapping sum of element hashes: add an element's hash when it appears, subtract it when it
/// goes, both when it changes.
struct StateHashSum: Equatable, Sendable {
    private(set) var value: UInt64 = 0

    mutating func replace(_ old: UInt64?, with new: UInt64?) {
        value = value &- (old ?? 0) &+ (new ?? 0)
    }
}

/// A hash kept beside a value to save recomputing it, equal to every other: it takes no part in
/// the value's `==`.
struct DerivedHash: Equatable, Sendable {
    var value: UInt64 = 0

    static func == (_: Self, _: Self) -> Bool { true }
}
