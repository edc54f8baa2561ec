/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4, LevelDB and
/// etcd's WAL, computed slicing-by-8: eight 256-entry tables let one step fold eight input bytes with
/// eight table lookups instead of eight dependent shifts, about 1–2 GB/s in plain Swift with no
/// hardware instruction and no dependency.
///
/// `checksum(_:continuing:)` continues a CRC: `checksum(b, continuing: checksum(a))` equals the
/// CRC of `a` followed by `b`, so a record's CRC can cover fields in several buffers.
public enum CRC32C {
    /// `tables[k * 256 + byte]`: the CRC contribution of `byte` followed by `k` zero bytes.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The CRC-32C of `bytes`, continuing `crc` (0 starts a new one).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard var cursor = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var remaining = bytes.count
        var state = ~crc
        tables.withUnsafeBufferPointer { table in
            while remaining >= 8 {
                let word = cursor.loadUnaligned(as: UInt64.self).littleEndian ^ UInt64(state)
                state = table[7 * 256 + Int(word & 0xFF)] ^ table[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((word >> 16) & 0xFF)] ^ table[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((word >> 32) & 0xFF)] ^ table[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ table[1 * 256 + Int((word >> 48) & 0xFF)] ^ table[Int(word >> 56)]
                cursor += 8
                remaining -= 8
            }
            while remaining > 0 {
                state = table[Int((state ^ UInt32(cursor.load(as: UInt8.self))) & 0xFF)] ^ (state >> 8)
                cursor += 1
                remaining -= 1
            }
        }
        return ~state
    }

    /// The CRC-32C of `bytes`, continuing `crc`.
    public static func checksum(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
    }
}
