import ConclaveCore
import Testing
@testable import ConclaveWire

@Suite struct RESPTests {
    static func parseCommand(_ text: String, parser: RESPParser = RESPParser()) throws -> (arguments: [String], consumed: Int)? {
        let bytes = Array(text.utf8)
        let parsed = try bytes.withUnsafeBytes { buffer throws(RESPProtocolError) in try parser.parseCommand(buffer) }
        return parsed.map { ($0.arguments.map { String(decoding: $0, as: UTF8.self) }, $0.consumed) }
    }

    static func parseValue(_ bytes: [UInt8], parser: RESPParser = RESPParser()) throws -> (value: RESPValue, consumed: Int)? {
        try bytes.withUnsafeBytes { buffer throws(RESPProtocolError) in try parser.parseValue(buffer) }
    }

    @Test("a multibulk command parses; a pipeline parses one command at a time")
    func multibulk() throws {
        let text = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv a l\r\n*1\r\n$4\r\nPING\r\n"
        let first = try #require(try Self.parseCommand(text))
        #expect(first.arguments == ["SET", "k", "v a l"])
        let rest = String(text.utf8.dropFirst(first.consumed))!
        #expect(try Self.parseCommand(rest)?.arguments == ["PING"])
    }

    @Test("a frame cut at any byte asks for more, never errs, and parses once whole")
    func incompleteAtEverySplit() throws {
        let text = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n"
        for cut in 0..<text.utf8.count {
            #expect(try Self.parseCommand(String(text.utf8.prefix(cut))!) == nil, "cut at \(cut)")
        }
        #expect(try Self.parseCommand(text)?.consumed == text.utf8.count)
    }

    @Test("inline commands: spaces, quotes, escapes; unbalanced quotes refused as Redis does")
    func inline() throws {
        #expect(try Self.parseCommand("PING\r\n")?.arguments == ["PING"])
        #expect(try Self.parseCommand("  set  k   v\n")?.arguments == ["set", "k", "v"])
        #expect(try Self.parseCommand("SET k \"a b\\n\\x41\"\r\n")?.arguments == ["SET", "k", "a b\nA"])
        #expect(try Self.parseCommand("SET k 'it\\'s'\r\n")?.arguments == ["SET", "k", "it's"])
        #expect(try Self.parseCommand("\r\n")?.arguments == [])
        #expect(try Self.parseCommand("SET k v") == nil)
        #expect(throws: RESPProtocolError("unbalanced quotes in request")) { try Self.parseCommand("SET \"k\r\n") }
        #expect(throws: RESPProtocolError("unbalanced quotes in request")) { try Self.parseCommand("SET \"k\"v\r\n") }
    }

    @Test("every limit is refused from its header, with Redis's words", arguments: [
        ("*9999999\r\n", "invalid multibulk length 9999999 (more than 1000 arguments, array-elements-max)"),
        ("*abc\r\n", "invalid multibulk length"),
        ("*1\r\n$999999999\r\n", "invalid bulk length 999999999 (more than 16777216 bytes, proto-max-bulk-len)"),
        ("*1\r\n$-5\r\n", "invalid bulk length"),
        ("*1\r\n:5\r\n", "expected '$', got ':'"),
        ("*1\r\n$1\r\nab\r\n", "bulk of 1 bytes not followed by CRLF"),
    ])
    func limits(text: String, reason: String) throws {
        var limits = RESPLimits()
        limits.arrayElementsMax = 1_000
        #expect(throws: RESPProtocolError(reason)) { try Self.parseCommand(text, parser: RESPParser(limits: limits)) }
    }

    @Test("an inline line past 64 KiB is refused before its end arrives")
    func inlineLimit() throws {
        let long = String(repeating: "a", count: 64 << 10 + 1)
        #expect(throws: RESPProtocolError("too big inline request (a line of more than 65536 bytes, inline-bytes-max)")) {
            try Self.parseCommand(long)
        }
        #expect(try Self.parseCommand(String(repeating: "a", count: 100)) == nil)
    }

    @Test("before AUTH: more than 10 arguments or a bulk past 16 KiB is refused")
    func unauthenticated() throws {
        let parser = RESPParser(authenticated: false)
        let many = "*11\r\n" + String(repeating: "$1\r\na\r\n", count: 11)
        #expect(throws: RESPProtocolError("unauthenticated multibulk length 11 (at most 10 arguments before AUTH)")) {
            try Self.parseCommand(many, parser: parser)
        }
        #expect(throws: RESPProtocolError("unauthenticated bulk length 16385 (at most 16384 bytes before AUTH)")) {
            try Self.parseCommand("*1\r\n$16385\r\n", parser: parser)
        }
        #expect(try Self.parseCommand("*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n", parser: parser)?.arguments == ["AUTH", "pwd"])
    }

    @Test("a length header that never ends is refused, not buffered forever")
    func endlessHeader() throws {
        #expect(throws: RESPProtocolError("invalid multibulk length")) { try Self.parseCommand("*" + String(repeating: "1", count: 40)) }
    }

    @Test("every value type round-trips through RESP3; RESP2 gets Redis's downgraded shapes")
    func values() throws {
        let value = RESPValue.array([
            .simpleString("OK"), .error("ERR no"), .integer(-42), .bulk("bytes\r\n"), .null, .double(1.5), .boolean(true),
            .map([(.bulk("role"), .bulk("leader"))]), .set([.integer(1)]), .push([.bulk("message")]),
            .verbatim(format: "txt", text: "hello"), .array([]),
        ])
        let encoded = RESPEncoder.encode(value, version: .resp3)
        #expect(try Self.parseValue(encoded)?.value == value)
        #expect(try Self.parseValue(encoded)?.consumed == encoded.count)
        #expect(RESPEncoder.encode(.null) == Array("$-1\r\n".utf8))
        #expect(RESPEncoder.encode(.boolean(false)) == Array(":0\r\n".utf8))
        #expect(RESPEncoder.encode(.map([(.bulk("a"), .integer(1))])) == Array("*2\r\n$1\r\na\r\n:1\r\n".utf8))
        #expect(RESPEncoder.encode(.error("ERR two\nlines")) == Array("-ERR two lines\r\n".utf8))
    }

    @Test("nesting past the depth limit is refused")
    func depth() throws {
        var limits = RESPLimits()
        limits.depthMax = 3
        let nested = Array(String(repeating: "*1\r\n", count: 5).utf8) + Array(":1\r\n".utf8)
        #expect(throws: RESPProtocolError("nesting deeper than 3 (depth-max)")) { try Self.parseValue(nested, parser: RESPParser(limits: limits)) }
    }

    @Test("random bytes never trap the parser (200,000 inputs, seeded)")
    func fuzz() {
        var random = SeededGenerator(seed: 0xF022, stream: 1)
        let alphabet = Array("*$:+-_#,%~>=\r\n0123456789-abcAB \"'\\x".utf8)
        var parsed = 0
        for _ in 0..<200_000 {
            let count = Int(random.next() % 40)
            let bytes = (0..<count).map { _ in random.next() % 4 == 0 ? UInt8(truncatingIfNeeded: random.next()) : alphabet[Int(random.next() % UInt64(alphabet.count))] }
            if (try? Self.parseValue(bytes)) != nil { parsed += 1 }
            _ = try? bytes.withUnsafeBytes { buffer throws(RESPProtocolError) in try RESPParser().parseCommand(buffer) }
        }
        #expect(parsed > 0)
    }
}
