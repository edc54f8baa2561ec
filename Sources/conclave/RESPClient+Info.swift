import ArgumentParser
import ConclaveWire

extension RESPClient {
    /// `INFO section` as field → value (Redis's `field:value` lines; headers and blank lines
    /// skipped). A refusal or an answer that is not text throws, naming it.
    func info(_ section: String) throws -> [String: String] {
        let reply = try call(["INFO", section])
        if case .error(let text) = reply { throw ValidationError(text) }
        guard case .bulkString(let bytes) = reply else { throw ValidationError("INFO \(section) answered \(reply)") }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }
}
