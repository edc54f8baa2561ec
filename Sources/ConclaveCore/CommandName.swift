/// A command's name as the dispatchers compare it: its first `limit` bytes with ASCII letters
/// upper-cased (Redis matches command names case-insensitively, and every name is ASCII), built
/// in one pass — `String.uppercased()` is Unicode-aware and several times the cost on the path
/// every command takes. Other bytes pass through (invalid UTF-8 is repaired), so an unknown
/// non-ASCII name still reads as it was sent.
public enum CommandName {
    public static func uppercased(_ bytes: [UInt8], limit: Int = 32) -> String {
        let count = min(bytes.count, limit)
        if bytes.prefix(count).allSatisfy({ $0 < 0x80 }) {
            return String(unsafeUninitializedCapacity: count) { buffer in
                for index in 0..<count {
                    let byte = bytes[index]
                    buffer[index] = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
                }
                return count
            }
        }
        return String(decoding: bytes.prefix(count), as: UTF8.self).uppercased()
    }
}
