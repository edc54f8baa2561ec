import ConclaveCoordination
import ConclaveCore
import ConclaveWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import ConclaveServer

/// A seeded fuzzer over the codec and the command layer (issue 13): valid commands, mutated,
/// truncated, giant-length and random frames, fed in random cuts to simulated connections that
/// buffer as the client port does, parse with `RESPParser`, answer with the connection commands
/// and `KVCommands`, and apply to a replicated KV store. After every frame: nothing trapped; each
/// command got exactly one reply, which round-trips through RESP2 and RESP3; a protocol error got
/// `-ERR Protocol error: …` and closed the connection; an incomplete frame never held more than
/// the parser's limits; no error reply changed the data. Each seed must reach every kind of
/// outcome and every protocol error kind.
///
/// Replay: `CONCLAVE_RESP_FUZZ_SEED=7 swift test --filter RESPFuzzTests`; another length:
/// `CONCLAVE_RESP_FUZZ_FRAMES=N` (per seed).
@Suite struct RESPFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seeds: [UInt64] = environment["CONCLAVE_RESP_FUZZ_SEED"].flatMap(UInt64.init).map { [$0] } ?? [1, 2, 3, 4]
    static let defaultFrames = 250_000
    static let frames = environment["CONCLAVE_RESP_FUZZ_FRAMES"].flatMap(Int.init).map { max(1, $0) } ?? defaultFrames

    @Test("random, mutated, truncated and giant frames: no trap, one reply per command, errors close, limits hold", arguments: seeds)
    func fuzz(seed: UInt64) {
        var run = RESPFuzzRun(seed: seed)
        let started = Date()
        for number in 0..<Self.frames {
            if let problem = run.next() {
                Issue.record("""
                    seed \(seed), frame \(number): \(problem)
                    frame bytes: \(RESPFuzzRun.show(run.lastFrame))
                    replay: CONCLAVE_RESP_FUZZ_SEED=\(seed) CONCLAVE_RESP_FUZZ_FRAMES=\(number + 1) swift test --filter RESPFuzzTests
                    """)
                return
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("RESP fuzz seed \(seed): \(Self.frames) frames, \(run.commands) commands, \(run.protocolErrors) protocol errors, "
            + "\(run.closedIncomplete) closed incomplete, in \(String(format: "%.1f", seconds)) s")
        guard Self.frames >= Self.defaultFrames else { return }
        let missing = Set(RESPFuzzRun.Outcome.allCases).subtracting(run.reached)
        #expect(missing.isEmpty, "seed \(seed) never reached \(missing.sorted().map(\.rawValue)); replay: CONCLAVE_RESP_FUZZ_SEED=\(seed)")
    }
}

/// One seeded run: the frame maker, the simulated connection and the store behind it.
struct RESPFuzzRun {
    /// Small limits on some connections, so that every limit is crossed with little data.
    static let smallLimits: RESPLimits = {
        var limits = RESPLimits()
        limits.bulkBytesMax = 512
        limits.arrayElementsMax = 16
        limits.inlineBytesMax = 256
        limits.frameBytesMax = 2_048
        limits.depthMax = 4
        limits.unauthenticatedArrayMax = 4
        limits.unauthenticatedBulkMax = 64
        return limits
    }()

    /// What a frame can come to; each seed of the full length must reach every one.
    enum Outcome: String, CaseIterable, Comparable {
        case reply, replyError = "reply error", replyValue = "reply value", emptyCommand = "empty command"
        case closedIncomplete = "closed incomplete", applyWritten = "apply written", applyRead = "apply read", noAuth = "NOAUTH"
        case multibulkLength = "protocol: invalid multibulk length", bulkLength = "protocol: invalid bulk length"
        case expectedBulk = "protocol: expected '$'", missingCRLF = "protocol: not followed by CRLF"
        case inlineTooBig = "protocol: too big inline request", unbalancedQuotes = "protocol: unbalanced quotes"
        case frameTooBig = "protocol: incomplete frame", unauthenticated = "protocol: unauthenticated"

        static func < (left: Outcome, right: Outcome) -> Bool { left.rawValue < right.rawValue }

        /// The protocol error kinds, by the first words of their reasons.
        static let protocolKinds: [(words: String, outcome: Outcome)] = [
            ("invalid multibulk length", .multibulkLength), ("invalid bulk length", .bulkLength), ("expected '$'", .expectedBulk),
            ("bulk of", .missingCRLF), ("too big inline request", .inlineTooBig), ("unbalanced quotes", .unbalancedQuotes),
            ("incomplete frame", .frameTooBig), ("unauthenticated", .unauthenticated),
        ]
    }

    var random: SeededGenerator
    var store = KVStateMachine()
    var index: LogIndex = 0
    var nowMillis: UInt64 = 0
    var connection = Connection(limits: RESPLimits(), password: nil)
    var lastFrame: [UInt8] = []
    var reached: Set<Outcome> = []
    var commands = 0
    var protocolErrors = 0
    var closedIncomplete = 0
    var connectionNumber: UInt64 = 0

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed, stream: 13)
    }

    /// A client connection as the port keeps it: its bytes not yet parsed and its parser.
    struct Connection {
        var parser: RESPParser
        var client: ClientConnection
        var buffer: [UInt8] = []
        var password: String?

        init(limits: RESPLimits, password: String?, id: UInt64 = 1) {
            parser = RESPParser(limits: limits, authenticated: password == nil)
            client = ClientConnection(id: id, authenticated: password == nil, remote: "fuzz")
            self.password = password
        }
    }

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    // MARK: - One frame

    /// Makes a frame, feeds it in random cuts, checks what came back; the problem, if any.
    mutating func next() -> String? {
        if below(100) < 2 { advanceTime() }
        let frame = makeFrame()
        lastFrame = frame
        var offset = 0
        while offset < frame.count {
            let cut = below(10) == 0 ? 1 + below(max(1, frame.count - offset)) : frame.count - offset
            connection.buffer += frame[offset..<offset + cut]
            offset += cut
            if let problem = drain() { return problem }
            if connection.buffer.isEmpty && offset < frame.count && connectionClosedByServer { break }
        }
        connectionClosedByServer = false
        if below(100) < 30 { reopen() }
        return nil
    }

    var connectionClosedByServer = false

    /// The client goes away (a frame left incomplete is simply dropped: a clean close) and a new
    /// connection comes, sometimes with small limits, sometimes to a node with a token.
    mutating func reopen() {
        if !connection.buffer.isEmpty {
            closedIncomplete += 1
            reached.insert(.closedIncomplete)
        }
        connectionNumber += 1
        let limits = below(100) < 25 ? Self.smallLimits : RESPLimits()
        connection = Connection(limits: limits, password: below(100) < 8 ? "t0ken" : nil, id: connectionNumber)
    }

    /// Parses and answers every whole command buffered; a protocol error answers and closes.
    mutating func drain() -> String? {
        while !connection.buffer.isEmpty {
            let parsed: (arguments: [[UInt8]], consumed: Int)?
            let parser = connection.parser
            do {
                parsed = try connection.buffer.withUnsafeBytes { bytes throws(RESPProtocolError) in try parser.parseCommand(bytes) }
            } catch let error as RESPProtocolError {
                return protocolError(error)
            } catch {
                return "the parser threw \(error)"
            }
            guard let (arguments, consumed) = parsed else {
                let limits = connection.parser.limits
                let most = connection.buffer.first == UInt8(ascii: "*") ? limits.frameBytesMax : limits.inlineBytesMax
                guard connection.buffer.count <= most else {
                    return "an incomplete frame of \(connection.buffer.count) bytes is buffered past the limits (\(most))"
                }
                return nil
            }
            guard consumed > 0, consumed <= connection.buffer.count else { return "the parser consumed \(consumed) bytes" }
            connection.buffer.removeFirst(consumed)
            if arguments.isEmpty {
                reached.insert(.emptyCommand)
                continue
            }
            if let problem = answer(arguments) { return problem }
        }
        return nil
    }

    mutating func protocolError(_ error: RESPProtocolError) -> String? {
        protocolErrors += 1
        let reply = RESPValue.error("ERR \(error.description)")
        if let problem = roundTrip(reply) { return problem }
        guard let kind = Outcome.protocolKinds.first(where: { error.reason.hasPrefix($0.words) }) else {
            return "a protocol error of no known kind: \(error.reason)"
        }
        reached.insert(kind.outcome)
        // The port answers and closes: whatever else the client sent is never read.
        connection.buffer.removeAll()
        connectionClosedByServer = true
        reopen()
        return nil
    }

    /// One command through the connection commands and the KV layer, as the port and the node
    /// run it; its single reply must round-trip, and an error reply must leave the data as it was.
    mutating func answer(_ arguments: [[UInt8]]) -> String? {
        commands += 1
        reached.insert(.reply)
        let revision = store.revision
        let reply: RESPValue
        if let local = ConnectionCommands.handle(arguments, connection: connection.client, password: connection.password) {
            if local.authenticated { connection.parser.authenticated = true }
            reply = local.reply
            if case .error(let text) = reply, text.hasPrefix("NOAUTH") { reached.insert(.noAuth) }
            if local.quit {
                // Answered, then closed: nothing after QUIT is read.
                connection.buffer.removeAll()
                connectionClosedByServer = true
                reopen()
            }
        } else {
            switch KVCommands.parse(arguments) {
            case .failure(let error): reply = error.reply
            case .success(.info): reply = .bulk("# Server\r\n")
            case .success(.configGet): reply = .map([])
            case .success(.evalSHA(let sha, let keys, let arguments)):
                guard let script = store.scripts.script(sha: sha) else {
                    reply = KVCommands.noScript.reply
                    break
                }
                let command = KVCommand.eval(ScriptCall(body: script.body, keys: keys, arguments: arguments))
                guard let result = apply(command) else { return "\(command) answered nobody" }
                reply = KVCommands.reply(to: result)
            case .success(.kv(let command, let form)):
                guard let result = apply(command) else { return "\(command) answered nobody" }
                reply = KVCommands.reply(to: result, form: form)
            }
        }
        if case .error = reply {
            reached.insert(.replyError)
            guard store.revision == revision else { return "an error reply (\(reply)) changed the data" }
        } else {
            reached.insert(.replyValue)
        }
        return roundTrip(reply)
    }

    /// Applies one command as the next log entry; nil when it answered nobody.
    private mutating func apply(_ command: KVCommand) -> KVResult? {
        index += 1
        let request = KVRequest(client: connection.client.id, sequence: index, command: command)
        guard let applied = store.apply(index: index, data: request.encoded(), nowMillis: nowMillis) else { return nil }
        reached.insert(command.isRead ? .applyRead : .applyWritten)
        return applied.result
    }

    /// One reply in 4 is encoded in the protocol its connection speaks and parsed back (one in 32
    /// in both): every shape still comes by thousands of times, at a quarter of the cost.
    mutating func roundTrip(_ reply: RESPValue) -> String? {
        switch below(32) {
        case 0: return Self.roundTrip(reply, versions: [.resp2, .resp3])
        case 1..<8: return Self.roundTrip(reply, versions: [connection.client.version])
        default: return nil
        }
    }

    /// A reply encodes to RESP2 and RESP3 that parse back whole; in RESP3 to the same value, or
    /// one that encodes to the same bytes again (line breaks in errors and simple strings become
    /// spaces, as Redis writes them). RESP2 gets RESP3's downgraded shapes, so only parses.
    static func roundTrip(_ reply: RESPValue, versions: [RESPVersion]) -> String? {
        for version in versions {
            let bytes = RESPEncoder.encode(reply, version: version)
            let parsed = try? bytes.withUnsafeBytes { buffer throws(RESPProtocolError) in try RESPParser().parseValue(buffer) }
            guard let parsed, parsed.consumed == bytes.count else { return "the reply \(reply) does not parse back in \(version)" }
            // RESP3 keeps every shape: the same value, or (when a line break became a space) the same bytes.
            guard version == .resp2 || parsed.value == reply || RESPEncoder.encode(parsed.value, version: version) == bytes else {
                return "the reply \(reply) came back as \(parsed.value) in \(version)"
            }
        }
        return nil
    }

    mutating func advanceTime() {
        nowMillis += UInt64(below(5_000))
        store.expire(nowMillis: nowMillis)
    }

    // MARK: - Frames

    static let names = ["GET", "SET", "GETSET", "GETDEL", "MGET", "MSET", "INCR", "DECR", "INCRBY", "DECRBY", "DEL", "EXISTS",
                        "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "PERSIST", "SCAN", "KEYS", "DBSIZE", "FLUSHDB",
                        "INFO", "CONFIG", "COMMAND", "PING", "ECHO", "HELLO", "AUTH", "CLIENT", "SELECT", "QUIT", "NOPE", "set", "Get"]
    static let words = ["a", "b", "c", "n", "t", "", "1", "0", "-1", "100", "abc", "9223372036854775807", "-9223372036854775808",
                        "99999999999999999999", "NX", "XX", "EX", "PX", "EXAT", "PXAT", "GET", "KEEPTTL", "GT", "LT", "MATCH", "COUNT",
                        "TYPE", "*", "a*", "[a-c]", "\\", "GET", "DOCS", "INFO", "ID", "SETNAME", "3", "2", "t0ken", "AUTH", "default"]

    mutating func makeFrame() -> [UInt8] {
        switch below(100) {
        case 0..<40: return validCommand()
        case 40..<60: return mutated(validCommand())
        case 60..<72: let frame = validCommand(); return Array(frame.prefix(below(max(1, frame.count))))
        case 72..<84: return giant()
        case 84..<92: return randomBytes()
        default: return inline()
        }
    }

    static let nameBytes = names.map { Array($0.utf8) }
    static let wordBytes = words.map { Array($0.utf8) }

    mutating func arguments() -> [[UInt8]] {
        var arguments = [pick(Self.nameBytes)]
        for _ in 0..<below(6) {
            arguments.append(below(20) == 0 ? Array(repeating: UInt8(ascii: "v"), count: below(1_200)) : pick(Self.wordBytes))
        }
        return arguments
    }

    /// `*N\r\n` and `$N\r\n` for the lengths frames use (building them from text each time
    /// cost a fifth of a debug run).
    static let headers: (array: [[UInt8]], bulk: [[UInt8]]) = (
        (0..<16).map { Array("*\($0)\r\n".utf8) }, (0..<1_300).map { Array("$\($0)\r\n".utf8) }
    )

    mutating func validCommand() -> [UInt8] {
        let arguments = arguments()
        var frame = Self.headers.array[arguments.count]
        for argument in arguments {
            frame.append(contentsOf: Self.headers.bulk[argument.count])
            frame.append(contentsOf: argument)
            frame.append(0x0D)
            frame.append(0x0A)
        }
        return frame
    }

    /// Inline commands, with quotes and escapes, sometimes unbalanced or too long.
    mutating func inline() -> [UInt8] {
        var line = arguments().map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        switch below(10) {
        case 0: line += " \"unbalanced"
        case 1: line += " 'it\\'s' \"a\\x41\\n\""
        case 2 where below(10) == 0: line = String(repeating: "x", count: 200 + below(70_000))
        default: break
        }
        return Array(line.utf8) + (below(2) == 0 ? [0x0D, 0x0A] : [0x0A])
    }

    /// Lengths at and past every limit, negative, and longer than any number.
    mutating func giant() -> [UInt8] {
        let lengths = ["-1", "-2", "0", "16", "17", "512", "513", "16777216", "16777217", "1048576", "1048577", "2147483648",
                       "9223372036854775807", "99999999999999999999999", "abc", ""]
        switch below(5) {
        case 0: return Array("*\(pick(lengths))\r\n".utf8) + validCommand()
        case 1: return Array("*1\r\n$\(pick(lengths))\r\n".utf8) + Array(repeating: 0x61, count: below(3_000))
        case 2: return Array("*2\r\n$3\r\nGET\r\n$\(pick(lengths))\r\nabc\r\n".utf8)
        case 3: return Array(repeating: UInt8(ascii: "*"), count: 1) + Array(repeating: UInt8(ascii: "9"), count: 1 + below(40))
        default:
            // Many arguments each within the bulk limit, announced but never finished: only the
            // frame limit stops them.
            var frame = Array("*16\r\n".utf8)
            for _ in 0..<(2 + below(6)) { frame += Self.bulkOf500 }
            return frame
        }
    }

    static let bulkOf500 = Array("$500\r\n".utf8) + Array(repeating: 0x62, count: 500) + [0x0D, 0x0A]

    mutating func mutated(_ frame: [UInt8]) -> [UInt8] {
        var bytes = frame
        for _ in 0..<(1 + below(3)) where !bytes.isEmpty {
            let position = below(bytes.count)
            switch below(4) {
            case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.remove(at: position)
            case 2: bytes.insert(pick(Array("*$:\r\n-0123456789".utf8)), at: position)
            default: bytes[position] ^= 1 << UInt8(below(8))
            }
        }
        return bytes
    }

    mutating func randomBytes() -> [UInt8] {
        let alphabet = Array("*$:+-_#,%~>=\r\n0123456789 \"'\\xGETSET".utf8)
        return (0..<below(64)).map { _ in below(4) == 0 ? UInt8(truncatingIfNeeded: random.next()) : pick(alphabet) }
    }

    static func show(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(160).map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
        return bytes.count > 160 ? shown + "… (\(bytes.count) bytes)" : shown
    }
}

/// The same frames through the real connection handler on an `EmbeddedChannel` (no sockets, no
/// waiting): whatever arrives, what leaves parses as RESP, a protocol error is the last reply
/// before the channel closes, and the handler never traps.
@Suite struct ClientHandlerFuzzTests {
    @Test("fuzz frames through the real client handler: replies parse, a protocol error closes the channel")
    func handler() throws {
        let seed = RESPFuzzTests.seeds[0]
        var run = RESPFuzzRun(seed: seed ^ 0x4E494F)
        let loop = EmbeddedEventLoop()
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        var configuration = ClientPortConfiguration(listen: PeerAddress(host: "127.0.0.1", port: 0))
        configuration.limits = RESPFuzzRun.smallLimits
        let port = ClientPort(configuration: configuration, eventLoop: loop, logger: logger, executor: DictionaryExecutor(eventLoop: loop))
        var channel = try Self.open(port)
        var closes = 0
        let frames = max(1, RESPFuzzTests.frames / 10)
        for number in 0..<frames {
            let frame = run.makeFrame()
            try channel.writeInbound(channel.allocator.buffer(bytes: frame))
            var output: [UInt8] = []
            while let chunk = try channel.readOutbound(as: ByteBuffer.self) { output += chunk.readableBytesView }
            var values: [RESPValue] = []
            var offset = 0
            while offset < output.count {
                let parsed = try? output[offset...].withUnsafeBytes { buffer throws(RESPProtocolError) in try RESPParser().parseValue(buffer) }
                guard let parsed else {
                    Issue.record("seed \(seed), frame \(number): the handler wrote bytes that do not parse: \(RESPFuzzRun.show(Array(output[offset...])))")
                    return
                }
                values.append(parsed.value)
                offset += parsed.consumed
            }
            let protocolError = values.firstIndex { if case .error(let text) = $0 { text.hasPrefix("ERR Protocol error") } else { false } }
            if let protocolError {
                #expect(protocolError == values.count - 1, "seed \(seed), frame \(number): a reply after a protocol error")
                #expect(!channel.isActive, "seed \(seed), frame \(number): the channel stayed open after a protocol error")
            }
            if !channel.isActive || run.below(100) < 20 {
                closes += 1
                _ = try? channel.finish()
                channel = try Self.open(port)
            }
        }
        #expect(closes > frames / 10)
        _ = try? channel.finish()
    }

    static func open(_ port: ClientPort) throws -> EmbeddedChannel {
        let connection = ClientConnection(id: 1, authenticated: true, remote: "embedded")
        let channel = EmbeddedChannel(handler: ClientConnectionHandler(port: port, connection: connection), loop: port.eventLoop as! EmbeddedEventLoop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }
}
