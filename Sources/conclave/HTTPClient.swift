import ArgumentParser
import ConclaveWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client with keep-alive, for etcd's JSON gateway (`/v3/...`): one request
/// at a time on one connection, as RESPClient is for RESP, so every system in the race costs the
/// load generator the same: a syscall to send, one to receive.
final class HTTPClient {
    private let descriptor: Int32
    private let host: String
    private var buffer: [UInt8] = []

    init(_ address: PeerAddress, timeoutMillis: Int = 10_000) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        host = "\(address)"
        guard descriptor >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutMillis / 1_000, tv_usec: Int(timeoutMillis % 1_000) * 1_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(address.port).bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(address.host)
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("connect \(address): \(reason)")
        }
    }

    deinit { close(descriptor) }

    /// POSTs `body` (JSON) to `path`; returns the status and the body.
    func post(_ path: String, _ body: String) throws -> (status: Int, body: String) {
        let request = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + sent, $0.count - sent) }
            guard count > 0 else { throw ValidationError("write to \(host): \(String(cString: strerror(errno)))") }
            sent += count
        }
        return try readResponse()
    }

    private func readResponse() throws -> (status: Int, body: String) {
        while true {
            if let end = headerEnd() {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
                    throw ValidationError("\(host): not an HTTP response: \(head.prefix(80))")
                }
                let length = lines.first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
                guard let length else { throw ValidationError("\(host): a response without Content-Length") }
                let bodyStart = end + 4
                while buffer.count < bodyStart + length { try fill() }
                let body = String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)
                buffer.removeFirst(bodyStart + length)
                return (status, body)
            }
            try fill()
        }
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { throw ValidationError("\(host): connection closed or timed out") }
        buffer += chunk[..<count]
    }
}
