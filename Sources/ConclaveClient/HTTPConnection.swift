import ConclaveWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking HTTP/1.1 client on one keep-alive connection, for etcd's JSON gateway (`/v3/...`):
/// one request at a time. Reads bodies framed by Content-Length or chunked transfer encoding; a
/// streaming answer (a watch, a lease keep-alive) is read one chunk at a time with `nextChunk`.
/// Every read waits at most `timeoutMillis`, then fails rather than hang.
public final class HTTPConnection {
    public let address: PeerAddress
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 16_384)
    /// Set while a chunked answer is being streamed: the connection then carries nothing else.
    private var streaming = false
    /// Sent as the `Authorization` header of every request when set (etcd's auth token).
    public var authorization: String?

    public init(_ address: PeerAddress, timeoutMillis: Int = 10_000) throws(RESPClient.Failure) {
        self.address = address
        descriptor = try connectTCP(address, timeoutMillis: timeoutMillis).get()
    }

    deinit { close(descriptor) }

    /// Ends the connection from any thread; a blocked read returns with an error.
    public func shutdownConnection() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// POSTs `body` (JSON) to `path` and reads the whole answer: status and body.
    public func post(_ path: String, _ body: String) throws(RESPClient.Failure) -> (status: Int, body: String) {
        let head = try request(path, body)
        if head.chunked {
            var body: [UInt8] = []
            while let piece = try readChunk() { body += piece }
            streaming = false
            return (head.status, String(decoding: body, as: UTF8.self))
        }
        return (head.status, String(decoding: try readBytes(head.length ?? 0), as: UTF8.self))
    }

    /// POSTs `body` to `path` for a streaming answer: returns the status, then the caller reads
    /// `nextChunk()` until it is nil (the server ended the stream). The connection carries
    /// nothing else afterwards: close it when done.
    public func openStream(_ path: String, _ body: String) throws(RESPClient.Failure) -> Int {
        let head = try request(path, body)
        guard head.chunked else {
            let answer = String(decoding: try readBytes(head.length ?? 0), as: UTF8.self)
            throw RESPClient.Failure(description: "\(address)\(path): HTTP \(head.status), not a stream: \(answer.prefix(160))")
        }
        streaming = true
        return head.status
    }

    /// The next chunk of a streaming answer (etcd's gateway sends one JSON message per chunk), or
    /// nil when the stream ended.
    public func nextChunk() throws(RESPClient.Failure) -> String? {
        try readChunk().map { String(decoding: $0, as: UTF8.self) }
    }

    public enum StreamRead { case chunk(String), ended, timedOut }

    /// `nextChunk`, telling a read timeout apart (the stream stays usable).
    public func nextChunkOrTimeout() throws(RESPClient.Failure) -> StreamRead {
        do throws(RESPClient.Failure) {
            return try nextChunk().map { .chunk($0) } ?? .ended
        } catch {
            if error.timedOut { return .timedOut }
            throw error
        }
    }

    private func request(_ path: String, _ body: String) throws(RESPClient.Failure) -> (status: Int, length: Int?, chunked: Bool) {
        guard !streaming else { throw RESPClient.Failure(description: "\(address): this connection carries a stream") }
        let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
        let text = "POST \(path) HTTP/1.1\r\nHost: \(address)\r\n\(header)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        if let failure = sendAll(descriptor, Array(text.utf8), to: address) { throw failure }
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                let lines = head.split(separator: "\r\n")
                guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
                    throw RESPClient.Failure(description: "\(address): not an HTTP answer: \(head.prefix(80))")
                }
                var length: Int?
                var chunked = false
                for line in lines.dropFirst() {
                    let lowered = line.lowercased()
                    if lowered.hasPrefix("content-length:") { length = Int(lowered.dropFirst(15).trimmingCharacters(in: " ")) }
                    if lowered.hasPrefix("transfer-encoding:") && lowered.contains("chunked") { chunked = true }
                }
                guard chunked || length != nil else {
                    throw RESPClient.Failure(description: "\(address): an answer with neither Content-Length nor chunked encoding")
                }
                return (status, length, chunked)
            }
            try fill()
        }
    }

    /// One chunk's bytes, or nil at the last (zero-length) chunk.
    private func readChunk() throws(RESPClient.Failure) -> [UInt8]? {
        while true {
            if let end = find([13, 10]) {
                let sizeText = String(decoding: buffer[..<end], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16), size >= 0 else {
                    throw RESPClient.Failure(description: "\(address): a bad chunk size '\(sizeText.prefix(20))'")
                }
                while buffer.count < end + 2 + size + 2 { try fill() }
                let bytes = Array(buffer[(end + 2)..<(end + 2 + size)])
                buffer.removeFirst(end + 2 + size + 2)
                if size == 0 { streaming = false; return nil }
                return bytes
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws(RESPClient.Failure) -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        outer: for index in 0...(buffer.count - pattern.count) {
            for offset in 0..<pattern.count where buffer[index + offset] != pattern[offset] { continue outer }
            return index
        }
        return nil
    }

    private func fill() throws(RESPClient.Failure) {
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw RESPClient.Failure.received(count, from: address) }
        buffer += chunk[..<count]
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var text = self
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return text
    }
}
