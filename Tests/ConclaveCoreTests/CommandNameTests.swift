import ConclaveCore
import Testing

struct CommandNameTests {
    @Test("ASCII names upper-case as String.uppercased() does, within the limit; other bytes pass through")
    func uppercasing() {
        for name in ["get", "Set", "lock.acquire", "CLIENT", "x-1_é", "", "eval"] {
            let bytes = Array(name.utf8)
            #expect(CommandName.uppercased(bytes) == String(decoding: bytes.prefix(32), as: UTF8.self).uppercased(), "\(name)")
        }
        #expect(CommandName.uppercased(Array("abcdef".utf8), limit: 3) == "ABC")
        #expect(CommandName.uppercased([0x66, 0xFF]) == String(decoding: [0x66, 0xFF], as: UTF8.self).uppercased())
    }
}
