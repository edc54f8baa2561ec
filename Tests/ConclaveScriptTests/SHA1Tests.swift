import ConclaveScript
import Testing

struct SHA1Tests {
    @Test("FIPS 180 vectors and the block-boundary lengths", arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
        (String(repeating: "a", count: 55), "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
        (String(repeating: "a", count: 56), "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
        (String(repeating: "a", count: 64), "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
    ])
    func vectors(message: String, digest: String) {
        #expect(SHA1.hex(Array(message.utf8)) == digest)
    }

    @Test("a million 'a's (FIPS 180's long message)")
    func millionA() {
        #expect(SHA1.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("a script is named as Redis names it")
    func scriptName() {
        #expect(Script("return 1").sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(SHA1.digest(Array("abc".utf8)).count == 20)
    }
}
