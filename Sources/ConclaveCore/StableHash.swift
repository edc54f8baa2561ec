/// Hashes that are the same in every process, on every machine, forever.
///
/// Why: Swift's `hashValue` is seeded per process, so a ring built from it would put a key on a
/// different node after every restart and on different nodes in different processes. Everything that
/// places keys or backends uses these instead. FNV-1a 64 is simple and stable but mixes short, similar
/// strings ("node-1#17", "node-1#18") poorly, so placement hashes go through `mix` (MurmurHash3's
/// 64-bit finalizer), which spreads every input bit over the whole word.
public enum StableHash {
    public static let fnvOffsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a 64 of `bytes`, continuing from `seed` (the offset basis by default). O(bytes).
    public static func fnv1a64(_ bytes: some Sequence<UInt8>, seed: UInt64 = fnvOffsetBasis) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= fnvPrime
        }
        return hash
    }

    /// MurmurHash3's `fmix64`: a bijection on 64 bits with full avalanche.
    public static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        mixed &*= 0xc4ce_b9fe_1a85_ec53
        mixed ^= mixed >> 33
        return mixed
    }

    /// One FNV-1a step over a whole word: folds `value` into a running `hash` (digests and traces).
    @inlinable public static func fold(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        (hash ^ value) &* fnvPrime
    }

    /// The placement hash of a key or backend name: `mix(fnv1a64(utf8))`.
    public static func key(_ text: String, seed: UInt64 = fnvOffsetBasis) -> UInt64 {
        mix(fnv1a64(text.utf8, seed: seed))
    }
}
