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

    /// Reads until `count` replies parsed, the peer closes, or `seconds` pass.
    func replies(_ count: Int, closedToo: Bool = false, seconds: Double = 10) -> (values: [RESPValue], closed: Bool) {
        var bytes: [UInt8] = []
        var values: [RESPValue] = []
        let deadline = Date().addingTimeInterval(seconds)
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
        case ("HANG", _): break  // never answered
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
        client.send("GET k\r\nPING\r\nECHO x\r\nCLIENT ID\r\nCOMMAND COUNT\r\nSELECT 0\r\nAUTH nope\r\nAUTH s3cret\r\nSET k v\r\nGET k\r\n")
        let noauth = RESPValue.error("NOAUTH Authentication required.")
        #expect(client.replies(10).values == [
            noauth, .simpleString("PONG"), noauth, noauth, noauth, noauth,
            .error("WRONGPASS invalid username-password pair or user is disabled."), .simpleString("OK"), .simpleString("OK"), .bulk("v"),
        ])
        let hello = try TestSocket(port: running.number)
        hello.send("HELLO 3\r\nHELLO 3 AUTH default wrong\r\nHELLO 3 AUTH default s3cret\r\nGET k\r\n")
        let greeted = hello.replies(4).values
        #expect(greeted[0] == .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
        #expect(greeted[1] == .error("WRONGPASS invalid username-password pair or user is disabled."))
        if case .map = greeted[2] {} else { Issue.record("HELLO 3 AUTH answered \(greeted[2])") }
        #expect(greeted[3] == .bulk("v"))
        let stranger = try TestSocket(port: running.number)
        stranger.send("*11\r\n" + String(repeating: "$1\r\na\r\n", count: 11))
        let answer = stranger.replies(1, closedToo: true)
        #expect(answer.values == [.error("ERR Protocol error: unauthenticated multibulk length 11 (at most 10 arguments before AUTH)")])
        #expect(answer.closed)
        let quitter = try TestSocket(port: running.number)
        quitter.send("QUIT\r\n")
        let quit = quitter.replies(1, closedToo: true)
        #expect(quit.values == [.simpleString("OK")])
        #expect(quit.closed, "QUIT closes, before AUTH too")
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
        second.send("PING\r\n")
        let answer = second.replies(1, closedToo: true)
        #expect(answer.values == [.error("ERR max number of clients reached (maxclients 1)")])
        #expect(answer.closed)
        #expect(try running.port.eventLoop.submit { running.port.statistics.connectionsRefused }.wait() == 1)
    }

    @Test("tokens compare equal only when equal, whatever the lengths")
    func tokenComparison() {
        #expect(ConnectionCommands.tokensMatch("s3cret", "s3cret"))
        #expect(!ConnectionCommands.tokensMatch("s3cre", "s3cret"))
        #expect(!ConnectionCommands.tokensMatch("s3crett", "s3cret"))
        #expect(!ConnectionCommands.tokensMatch("", "s3cret"))
        #expect(!ConnectionCommands.tokensMatch("s3cres", "s3cret"))
        #expect(!ConnectionCommands.tokensMatch("s3cret\u{0}", "s3cret"))
    }

    @Test("with an idle timeout a silent client is closed without a reply; a client waiting for an answer is not")
    func idleTimeout() throws {
        let running = try Self.start { $0.idleTimeoutSeconds = 1 }
        defer { Self.stop(running) }
        let silent = try TestSocket(port: running.number)
        silent.send("PING\r\n")
        #expect(silent.replies(1).values == [.simpleString("PONG")])
        let waiting = try TestSocket(port: running.number)
        waiting.send("HANG\r\n")  // never answered by the test executor
        let started = Date()
        let closed = silent.replies(1, closedToo: true, seconds: 10)
        #expect(closed.values.isEmpty && closed.closed, "the idle client is closed without a reply")
        #expect(Date().timeIntervalSince(started) >= 0.5)
        #expect(try running.port.eventLoop.submit { running.port.connectedClients }.wait() == 1, "the waiting client stays")
        #expect(try running.port.eventLoop.submit { running.port.statistics.idleDisconnects }.wait() == 1)
    }

    @Test("a frame still incomplete past its byte limit is refused, not buffered")
    func frameLimit() throws {
        let running = try Self.start { $0.limits.frameBytesMax = 1 << 16 }
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + String(repeating: "x", count: 70_000))
        let answer = client.replies(1, closedToo: true)
        #expect(answer.values == [.error("ERR Protocol error: incomplete frame of more than 65536 bytes (frame-bytes-max, Redis's client-query-buffer-limit)")])
        #expect(answer.closed)
    }

    @Test("replies waiting behind a slow one count against the output limit")
    func pendingCountsAgainstOutput() throws {
        let running = try Self.start { $0.outputBytesMax = 4 << 20 }
        defer { Self.stop(running) }
        let client = try TestSocket(port: running.number)
        client.send("HANG\r\n" + String(repeating: "BIG\r\n", count: 8))  // 8 MiB held behind a command never answered
        let answer = client.replies(1, closedToo: true)
        #expect(answer.values.isEmpty && answer.closed)
        #expect(try running.port.eventLoop.submit { running.port.statistics.outputLimitDisconnects }.wait() == 1)
    }
}
