/// SHA-1 (FIPS 180-4), because Redis names a script by the SHA-1 of its body: `SCRIPT LOAD` answers
/// it and `EVALSHA` takes it, and clients compute it themselves (redis-py's `Script` does). It
/// identifies; it does not authenticate (SHA-1 collisions can be made), so nothing here trusts a
/// digest to stand for a body without the body itself (see `ScriptEngine`).
public enum SHA1 {
    /// The 20-byte digest. O(n).
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var state = State()
        let message = Array(bytes)
        var offset = 0
        while message.count - offset >= 64 {
            state.compress(message[offset..<offset + 64])
            offset += 64
        }
        // The tail, a 1 bit, zeros, then the message length in bits (big-endian), to a block boundary.
        var tail = Array(message[offset...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        for start in stride(from: 0, to: tail.count, by: 64) { state.compress(tail[start..<start + 64]) }
        return state.words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * $0)) } }
    }

    /// The digest as 40 lowercase hex digits, the form Redis uses.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for byte in digest(bytes) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private struct State {
        var words: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]

        mutating func compress(_ block: ArraySlice<UInt8>) {
            var schedule = [UInt32](repeating: 0, count: 80)
            var index = block.startIndex
            for t in 0..<16 {
                schedule[t] = UInt32(block[index]) << 24 | UInt32(block[index + 1]) << 16
                    | UInt32(block[index + 2]) << 8 | UInt32(block[index + 3])
                index += 4
            }
            for t in 16..<80 {
                schedule[t] = (schedule[t - 3] ^ schedule[t - 8] ^ schedule[t - 14] ^ schedule[t - 16]).rotatedLeft(1)
            }
            var (a, b, c, d, e) = (words[0], words[1], words[2], words[3], words[4])
            for t in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch t {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let next = a.rotatedLeft(5) &+ f &+ e &+ k &+ schedule[t]
                (e, d, c, b, a) = (d, c, b.rotatedLeft(30), a, next)
            }
            words[0] &+= a
            words[1] &+= b
            words[2] &+= c
            words[3] &+= d
            words[4] &+= e
        }
    }
}

extension UInt32 {
    fileprivate func rotatedLeft(_ count: UInt32) -> UInt32 { self << count | self >> (32 - count) }
}
