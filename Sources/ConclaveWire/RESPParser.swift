/// Why bytes are not a valid RESP frame. The text is what Redis would reply, so a client sees the
/// same error it would from Redis (`-ERR Protocol error: …`), and then the connection is closed.
public struct RESPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "Protocol error: \(reason)" }
}

/// Every bound the parser enforces, checked before anything is allocated (Redis's order: a length
/// is refused as soon as its header is read, not after its bytes arrived).
public struct RESPLimits: Sendable, Equatable {
    /// A bulk string's length (Redis's `proto-max-bulk-len`, 512 MiB there; 16 MiB here).
    public var bulkBytesMax = 16 << 20
    /// Elements of one array (a command's arguments).
    public var arrayElementsMax = 1 << 20
    /// An inline command (a line without `*`): Redis's 64 KiB.
    public var inlineBytesMax = 64 << 10
    /// Nesting of arrays, maps and sets in a reply.
    public var depthMax = 32
    /// The bytes of one frame (a command, or a reply) while it arrives (Redis's
    /// `client-query-buffer-limit`, 1 GiB there): a frame still incomplete past this is refused,
    /// so a peer cannot make its reader buffer without bound by announcing many large elements.
    public var frameBytesMax = 32 << 20
    /// Before a connection authenticates: at most this many arguments and bytes per argument
    /// (Redis: 10 and 16 KiB), so an unauthenticated peer cannot make the server allocate much.
    public var unauthenticatedArrayMax = 10
    public var unauthenticatedBulkMax = 16 << 10

    public init() {}
}

/// Parses RESP from a byte buffer without copying until a frame is complete. Each call parses one
/// frame from the start of `bytes`: nil means "need more bytes"; otherwise the frame and how many
/// bytes it took. A malformed frame throws `RESPProtocolError`. Total: never traps on any input.
///
/// Complexity: a frame is scanned once per call; a caller that calls again after more bytes arrive
/// rescans the incomplete frame's headers (bulk payloads are skipped by length, not scanned).
public struct RESPParser: Sendable {
    public var limits: RESPLimits
    /// Whether the connection has authenticated (lifts the unauthenticated limits).
    public var authenticated: Bool

    public init(limits: RESPLimits = RESPLimits(), authenticated: Bool = true) {
        self.limits = limits
        self.authenticated = authenticated
    }

    // MARK: - Requests (server side)

    /// One command: a multibulk of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or an inline line
    /// (`GET k\r\n`, as telnet and `redis-cli` in some modes send). An empty inline line is skipped
    /// and returns an empty argument list.
    public func parseCommand(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (arguments: [[UInt8]], consumed: Int)? {
        guard let first = bytes.first else { return nil }
        if first != UInt8(ascii: "*") { return try parseInline(bytes) }
        guard let parsed = try parseMultibulk(bytes) else {
            try checkIncomplete(bytes.count)
            return nil
        }
        return parsed
    }

    /// An incomplete frame may not outgrow `frameBytesMax`.
    private func checkIncomplete(_ count: Int) throws(RESPProtocolError) {
        guard count <= limits.frameBytesMax else {
            throw RESPProtocolError("incomplete frame of more than \(limits.frameBytesMax) bytes (frame-bytes-max, "
                + "Redis's client-query-buffer-limit)")
        }
    }

    private func parseMultibulk(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (arguments: [[UInt8]], consumed: Int)? {
        var cursor = Cursor(bytes: bytes, position: 1)
        guard let count = try cursor.readLineInteger(else: "invalid multibulk length") else { return nil }
        if count <= 0 { return ([], cursor.position) }
        try checkArguments(count)
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(min(count, 1_024))  // the header alone allocates little
        for _ in 0..<count {
            guard let marker = cursor.peek() else { return nil }
            guard marker == UInt8(ascii: "$") else {
                throw RESPProtocolError("expected '$', got '\(Self.printable(marker))'")
            }
            cursor.position += 1
            guard let argument = try readBulk(&cursor, command: true) else { return nil }
            arguments.append(argument ?? [])
        }
        return (arguments, cursor.position)
    }

    /// A command's argument count within the limit (before AUTH: the lower one).
    private func checkArguments(_ count: Int) throws(RESPProtocolError) {
        if authenticated {
            guard count <= limits.arrayElementsMax else {
                throw RESPProtocolError("invalid multibulk length \(count) (more than \(limits.arrayElementsMax) arguments, array-elements-max)")
            }
        } else {
            guard count <= limits.unauthenticatedArrayMax else {
                throw RESPProtocolError("unauthenticated multibulk length \(count) (at most \(limits.unauthenticatedArrayMax) arguments before AUTH)")
            }
        }
    }

    private func parseInline(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (arguments: [[UInt8]], consumed: Int)? {
        let tooBig = RESPProtocolError("too big inline request (a line of more than \(limits.inlineBytesMax) bytes, inline-bytes-max)")
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            if bytes.count > limits.inlineBytesMax { throw tooBig }
            return nil
        }
        guard newline <= limits.inlineBytesMax else { throw tooBig }
        var end = newline
        if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let arguments = try InlineSplitter.split(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        try checkArguments(arguments.count)
        return (arguments, newline + 1)
    }

    // MARK: - Any value (client side: replies)

    /// One value of any RESP2 or RESP3 type.
    public func parseValue(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
        var cursor = Cursor(bytes: bytes, position: 0)
        guard let value = try readValue(&cursor, depth: 0) else {
            try checkIncomplete(bytes.count)
            return nil
        }
        return (value, cursor.position)
    }

    private func readValue(_ cursor: inout Cursor, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard depth <= limits.depthMax else { throw RESPProtocolError("nesting deeper than \(limits.depthMax) (depth-max)") }
        guard let marker = cursor.peek() else { return nil }
        cursor.position += 1
        switch marker {
        case UInt8(ascii: "+"): return cursor.readLine().map { .simpleString(String(decoding: $0, as: UTF8.self)) }
        case UInt8(ascii: "-"): return cursor.readLine().map { .error(String(decoding: $0, as: UTF8.self)) }
        case UInt8(ascii: ":"):
            guard let line = cursor.readLine() else { return nil }
            guard let value = Int64(String(decoding: line, as: UTF8.self)) else { throw RESPProtocolError("invalid integer") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let bulk = try readBulk(&cursor, command: false) else { return nil }
            return bulk.map(RESPValue.bulkString) ?? .null
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try cursor.readLineInteger(else: "invalid multibulk length") else { return nil }
            if count < 0 { return .null }
            guard count <= limits.arrayElementsMax else {
                throw RESPProtocolError("invalid multibulk length \(count) (more than \(limits.arrayElementsMax) elements, array-elements-max)")
            }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try readValue(&cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return marker == UInt8(ascii: "*") ? .array(elements) : marker == UInt8(ascii: "~") ? .set(elements) : .push(elements)
        case UInt8(ascii: "%"):
            guard let count = try cursor.readLineInteger(else: "invalid map length") else { return nil }
            guard count >= 0, count <= limits.arrayElementsMax / 2 else { throw RESPProtocolError("invalid map length") }
            var pairs: [(RESPValue, RESPValue)] = []
            for _ in 0..<count {
                guard let key = try readValue(&cursor, depth: depth + 1), let value = try readValue(&cursor, depth: depth + 1) else { return nil }
                pairs.append((key, value))
            }
            return .map(pairs)
        case UInt8(ascii: "_"):
            guard cursor.readLine() != nil else { return nil }
            return .null
        case UInt8(ascii: "#"):
            guard let line = cursor.readLine() else { return nil }
            switch line.first { case UInt8(ascii: "t"): return .boolean(true); case UInt8(ascii: "f"): return .boolean(false)
            default: throw RESPProtocolError("invalid boolean") }
        case UInt8(ascii: ","):
            guard let line = cursor.readLine() else { return nil }
            let text = String(decoding: line, as: UTF8.self)
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let value = Double(text) else { throw RESPProtocolError("invalid double") }
                return .double(value)
            }
        case UInt8(ascii: "="):
            guard let bulk = try readBulk(&cursor, command: false) else { return nil }
            guard let bytes = bulk, bytes.count >= 4, bytes[3] == UInt8(ascii: ":") else { throw RESPProtocolError("invalid verbatim string") }
            return .verbatim(format: String(decoding: bytes[0..<3], as: UTF8.self), text: String(decoding: bytes[4...], as: UTF8.self))
        default:
            throw RESPProtocolError("unknown type byte '\(Self.printable(marker))'")
        }
    }

    /// A bulk payload after its `$`: nil if incomplete, `.some(nil)` for the null bulk (`$-1`).
    private func readBulk(_ cursor: inout Cursor, command: Bool) throws(RESPProtocolError) -> [UInt8]?? {
        guard let length = try cursor.readLineInteger(else: "invalid bulk length") else { return nil }
        if length < 0 {
            guard !command, length == -1 else { throw RESPProtocolError("invalid bulk length") }
            return .some(nil)
        }
        guard authenticated || length <= limits.unauthenticatedBulkMax else {
            throw RESPProtocolError("unauthenticated bulk length \(length) (at most \(limits.unauthenticatedBulkMax) bytes before AUTH)")
        }
        guard length <= limits.bulkBytesMax else {
            throw RESPProtocolError("invalid bulk length \(length) (more than \(limits.bulkBytesMax) bytes, proto-max-bulk-len)")
        }
        guard cursor.remaining >= length + 2 else { return nil }
        let start = cursor.position
        cursor.position += length
        guard cursor.bytes[cursor.position] == UInt8(ascii: "\r"), cursor.bytes[cursor.position + 1] == UInt8(ascii: "\n") else {
            throw RESPProtocolError("bulk of \(length) bytes not followed by CRLF")
        }
        cursor.position += 2
        return .some(Array(UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<start + length])))
    }

    static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    /// A read position in the buffer.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position: Int

        var remaining: Int { bytes.count - position }

        func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

        /// The bytes up to CRLF (consumed), or nil when no CRLF has arrived yet.
        mutating func readLine() -> UnsafeRawBufferPointer.SubSequence? {
            var index = position
            while index + 1 < bytes.count {
                if bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n") {
                    let line = bytes[position..<index]
                    position = index + 2
                    return line
                }
                index += 1
            }
            return nil
        }

        /// A decimal integer line (a length header); lines longer than 20 digits are refused before
        /// their end arrives, so a header cannot grow without bound.
        mutating func readLineInteger(else reason: String) throws(RESPProtocolError) -> Int? {
            let start = position
            guard let line = readLine() else {
                if remaining > 22 { throw RESPProtocolError(reason) }
                return nil
            }
            guard let value = Self.decimal(line) else {
                position = start
                throw RESPProtocolError(reason)
            }
            return value
        }

        /// A length header's number as Redis's `string2ll` reads it: an optional '-', then 1…19
        /// decimal digits within `Int`; nil otherwise (no '+', no spaces, nothing after).
        static func decimal(_ line: UnsafeRawBufferPointer.SubSequence) -> Int? {
            var index = line.startIndex
            let negative = index < line.endIndex && line[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            let digits = line.endIndex - index
            guard digits >= 1, digits <= 19 else { return nil }
            var magnitude = 0
            while index < line.endIndex {
                let digit = Int(line[index]) - Int(UInt8(ascii: "0"))
                guard digit >= 0, digit <= 9 else { return nil }
                let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, carry) = shifted.addingReportingOverflow(digit)
                guard !overflow, !carry else { return nil }
                magnitude = sum
                index += 1
            }
            return negative ? -magnitude : magnitude
        }
    }
}

/// Splits an inline command line into arguments the way Redis's `sdssplitargs` does: spaces
/// separate, double quotes allow escapes (`\n`, `\r`, `\t`, `\b`, `\a`, `\\`, `\"`, `\xHH`), single
/// quotes are literal but for `\'`; a closing quote must be followed by a space or the end.
enum InlineSplitter {
    static func split(_ line: UnsafeRawBufferPointer) throws(RESPProtocolError) -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        var index = 0
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0x00]
        while true {
            while index < line.count && space.contains(line[index]) { index += 1 }
            guard index < line.count else { return arguments }
            var current: [UInt8] = []
            var quote: UInt8? = nil
            loop: while true {
                guard index < line.count else {
                    if quote != nil { throw RESPProtocolError("unbalanced quotes in request") }
                    break loop
                }
                let byte = line[index]
                if let open = quote {
                    if open == UInt8(ascii: "\"") && byte == UInt8(ascii: "\\") && index + 3 < line.count
                        && line[index + 1] == UInt8(ascii: "x"), let high = hex(line[index + 2]), let low = hex(line[index + 3]) {
                        current.append(high << 4 | low)
                        index += 4
                        continue
                    }
                    if byte == UInt8(ascii: "\\") && index + 1 < line.count && (open == UInt8(ascii: "\"") || line[index + 1] == open) {
                        index += 1
                        current.append(open == UInt8(ascii: "\"") ? unescape(line[index]) : line[index])
                    } else if byte == open {
                        if index + 1 < line.count && !space.contains(line[index + 1]) {
                            throw RESPProtocolError("unbalanced quotes in request")
                        }
                        quote = nil
                        index += 1
                        break loop
                    } else {
                        current.append(byte)
                    }
                } else if space.contains(byte) {
                    break loop
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else {
                    current.append(byte)
                }
                index += 1
            }
            arguments.append(current)
        }
    }

    private static func unescape(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "a"): return 0x07
        default: return byte
        }
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
