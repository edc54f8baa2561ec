import ArgumentParser
import ConclaveConsole
import ConclaveWire

extension RESPClient {
    /// `INFO section` as field → value (`RedisReport.info`, as the console reads it). A refusal or
    /// an answer that is not text throws, naming it.
    func info(_ section: String) throws -> [String: String] {
        let reply = try call(["INFO", section])
        if case .error(let text) = reply { throw ValidationError(text) }
        guard case .bulkString(let bytes) = reply else { throw ValidationError("INFO \(section) answered \(reply)") }
        return RedisReport.info(String(decoding: bytes, as: UTF8.self))
    }
}
