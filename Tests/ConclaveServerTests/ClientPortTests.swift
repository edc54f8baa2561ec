import ConclaveWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import ConclaveServer
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for tests: send bytes, read replies with a deadline.
final class TestSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw ServerInputError("connect failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Reads until `count` replies parsed, the peer closes, or 10 s pass.
    func replies(_ count: Int, closedToo: Bool = false) -> (values: [RESPValue], closed: Bool) {
        var bytes: [UInt8] = []
        var values: [RESPValue] = []
        let deadline = Date().addingTimeInterval(10)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            while let parsed = try? bytes.withUnsafeBytes({ buffer throws(RESPProtocolError) in try RESPParser().parseValue(buffer) }) {
                values.append(parsed.value)
                bytes.removeFirst(parsed.consumed)
            }
            if values.count >= count && !closedToo { return (values, false) }
            let received = recv(fd, &chunk, chunk.count, 0)
            if received == 0 { return (values, true) }
            if received > 0 { bytes += chunk[0..<received] }
        }
        return (values, false)
    }
}

/// A stand-in node for testing the connection layer: SET/GET on a dictionary, and SLOW, answered
/// 50 ms later (to check that pipelined replies come back in order).
final class DictionaryExecutor: ClientCommandExecutor {
    var values: [String: [UInt8]] = [:]
    let eventLoop: EventLoop
    init(eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func execute(_ arguments: [[UInt8]], on connection: ClientConnection, reply: @escaping (RESPValue) -> Void) {
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        switch (name, arguments.count) {
        case ("SET", 3): values[String(decoding: arguments[1], as: UTF8.self)] = arguments[2]; reply(.simpleString("OK"))
        case ("GET", 2): reply(values[String(decoding: arguments[1], as: UTF8.self)].map(RESPValue.bulkString) ?? .null)
        case ("SLOW", _):
            nonisolated(unsafe) let reply = reply
            eventLoop.scheduleTask(in: .milliseconds(50)) { reply(.simpleString("SLOW")) }
        case ("BIG", _): reply(.bulkString([UInt8](repeating: 0x61, count: 1 << 20)))
        default: reply(.error("ERR unknown command '\(name)'"))
        }
    }
}

@Suite(.serialized) struct ClientPortTests {
    struct Running {
        let port: ClientPort
        let group: MultiThreadedEventLoopGroup
        var number: Int { port.boundPort! }
    }

    static func start(password: String? = nil, configure: (inout ClientPortConfiguration) -> Void = { _ in }) throws -> Running {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = ClientPortConfiguration(listen: PeerAddress(host: "127.0.0.1", port: 0), password: password)
        configure(&configuration)
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        let loop = group.next()
        let port = ClientPort(configuration: configuration, eventLoop: loop, logger: logger, executor: DictionaryExecutor(eventLoop: loop))
        try port.start().wait()
        return Running(port: port, group: group)
    }

    static func stop(_ running: Running) {
        try? running.port.stop().wait()
        try? running.group.syncShutdownGracefully()
    }

    @Test("PING, ECHO, SET, GET, inline and multibulk; pipelined replies come back in command order")
    func basicsAndOrder() throws {
        let running = try Self.start()
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nSLOW\r\nSET k v\r\nGET k\r\nGET missing\r\n")
        let replies = client.replies(6).values
        #expect(replies == [.simpleString("PONG"), .bulk("hi"), .simpleString("SLOW"), .simpleString("OK"), .bulk("v"), .null])
    }

    @Test("HELLO 3 switches to RESP3 maps; HELLO 4 is NOPROTO; SELECT 1 and CLIENT subcommands answer as Redis")
    func helloAndClient() throws {
        let running = try Self.start()
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("HELLO 4\r\nHELLO 3 SETNAME tester\r\nCLIENT GETNAME\r\nSELECT 1\r\nSELECT 0\r\nCLIENT NOPE\r\n")
        let replies = client.replies(6).values
        #expect(replies[0] == .error("NOPROTO unsupported protocol version"))
        guard case .map(let pairs) = replies[1] else { Issue.record("HELLO 3 answered \(replies[1])"); return }
        #expect(pairs.contains { $0.0 == .bulk("proto") && $0.1 == .integer(3) })
        #expect(replies[2] == .bulk("tester"))
        #expect(replies[3] == .error("ERR DB index is out of range (a Conclave cluster has one database, 0)"))
        #expect(replies[4] == .simpleString("OK"))
        if case .error(let text) = replies[5] { #expect(text.hasPrefix("ERR unknown subcommand")) } else { Issue.record("\(replies[5])") }
    }

    @Test("with a password: NOAUTH until AUTH; a wrong one is WRONGPASS; the pre-AUTH limits apply")
    func auth() throws {
        let running = try Self.start(password: "s3cret")
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("GET k\r\nAUTH nope\r\nAUTH s3cret\r\nSET k v\r\nGET k\r\n")
        #expect(client.replies(5).values == [
            .error("NOAUTH Authentication required."), .error("WRONGPASS invalid username-password pair or user is disabled."),
            .simpleString("OK"), .simpleString("OK"), .bulk("v"),
        ])
        let stranger = try TestSocket(port: running.number)
        stranger.send("*11\r\n" + String(repeating: "$1\r\na\r\n", count: 11))
        let answer = stranger.replies(1, closedToo: true)
        #expect(answer.values == [.error("ERR Protocol error: unauthenticated multibulk length")])
        #expect(answer.closed)
    }

    @Test("a protocol error is answered with Redis's words and the connection closes; the port lives on")
    func protocolError() throws {
        let running = try Self.start()
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("PING\r\n*1\r\n:5\r\n")
        let answer = client.replies(2, closedToo: true)
        #expect(answer.values == [.simpleString("PONG"), .error("ERR Protocol error: expected '$', got ':'")])
        #expect(answer.closed)
        let next = try TestSocket(port: running.number)
        next.send("PING\r\n")
        #expect(next.replies(1).values == [.simpleString("PONG")])
    }

    @Test("a client whose unsent replies pass the output limit is disconnected")
    func outputLimit() throws {
        let running = try Self.start { $0.outputBytesMax = 4 << 20 }
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send(String(repeating: "BIG\r\n", count: 64))  // 64 MiB of replies, never read
        let deadline = Date().addingTimeInterval(10)
        var disconnected: UInt64 = 0
        while Date() < deadline && disconnected == 0 {
            disconnected = try running.port.eventLoop.submit { running.port.statistics.outputLimitDisconnects }.wait()
            usleep(10_000)
        }
        #expect(disconnected == 1)
    }

    /// The real client: Debian's redis-cli (redis-tools, installed by .ci/run).
    static func redisCLI(_ arguments: [String]) throws -> String {
        let path = "/usr/bin/redis-cli"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ServerInputError("redis-cli not found at \(path): install redis-tools (apt-get install redis-tools)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("redis-cli talks to the port: SET, GET, PING, HELLO 3, and a pipelined --pipe load")
    func realRedisCLI() throws {
        let running = try Self.start()
        defer { Self.stop(running) }
        let port = String(running.number)
        #expect(try Self.redisCLI(["-p", port, "SET", "greeting", "hello world"]) == "OK\n")
        #expect(try Self.redisCLI(["-p", port, "GET", "greeting"]) == "hello world\n")
        #expect(try Self.redisCLI(["-p", port, "PING"]) == "PONG\n")
        #expect(try Self.redisCLI(["-3", "-p", port, "HELLO", "3"]).contains("conclave"))
        let pipe = Process()
        pipe.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        pipe.arguments = ["-p", port, "--pipe"]
        let input = Pipe()
        let output = Pipe()
        pipe.standardInput = input
        pipe.standardOutput = output
        try pipe.run()
        input.fileHandleForWriting.write(Data((0..<1_000).map { "SET key\($0) value\($0)\r\n" }.joined().utf8))
        try input.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        pipe.waitUntilExit()
        #expect(summary.contains("errors: 0, replies: 1000"), "\(summary)")
        #expect(try Self.redisCLI(["-p", port, "GET", "key999"]) == "value999\n")
    }

    @Test("past the connection limit a client is told and closed")
    func connectionLimit() throws {
        let running = try Self.start { $0.connectionsMax = 1 }
        defer { Self.stop(running) }
        let first = try TestSocket(port: running.number)
        first.send("PING\r\n")
        #expect(first.replies(1).values == [.simpleString("PONG")])
        let second = try TestSocket(port: running.number)
        let answer = second.replies(1, closedToo: true)
        #expect(answer.values == [.error("ERR max number of clients reached")])
    }
}
