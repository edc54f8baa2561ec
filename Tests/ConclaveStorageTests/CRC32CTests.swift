import ConclaveCore
import Testing
@testable import ConclaveStorage

@Suite struct CRC32CTests {
    /// Known answers: the check value of the CRC catalogue, RFC 3720's iSCSI vectors (B.4), and a
    /// common sentence.
    static let vectors: [(String, [UInt8], UInt32)] = [
        ("empty", [], 0x0000_0000),
        ("123456789", Array("123456789".utf8), 0xE306_9283),
        ("32 zeros", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 x 0xFF", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("0…31", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("31…0", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("quick brown fox", Array("The quick brown fox jumps over the lazy dog".utf8), 0x2262_0404),
    ]

    @Test("known vectors", arguments: 0..<vectors.count)
    func knownVectors(_ position: Int) {
        let (_, bytes, expected) = Self.vectors[position]
        #expect(CRC32C.checksum(bytes) == expected)
    }

    /// Bit at a time: the definition the tables must agree with.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    @Test("slicing-by-16 agrees with the bitwise definition at every length and alignment")
    func agreesWithReference() {
        var random = SeededGenerator(seed: 42)
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        for start in 0..<9 {
            for length in 0..<(data.count - start) where length < 40 || length % 37 == 0 {
                let slice = Array(data[start..<start + length])
                #expect(CRC32C.checksum(slice) == Self.reference(slice), "start \(start) length \(length)")
            }
        }
    }

    @Test("continuing a CRC equals the CRC of the concatenation")
    func continuation() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        for split in 0...bytes.count {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], continuing: first) == 0x2262_0404)
        }
    }
}
