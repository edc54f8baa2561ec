/// A value of a top-level field, as `FlatJSONParser` keeps it.
enum FlatJSONValue: Equatable {
    case string(String)
    /// A number that follows JSON's grammar, kept as its literal text so that the caller decides which
    /// numbers it accepts (and can quote the text back in an error).
    case number(String)
    case boolean(Bool)
    case null
    /// A nested object or array: checked for syntax and skipped; only unknown fields may hold one.
    case composite(opening: UInt8)

    /// How an error message shows this value: strings quoted, numbers and literals as written.
    var quotedForMessage: String {
        switch self {
        case .string(let text): "\"\(text)\""
        case .number(let literal): literal
        case .boolean(let flag): flag ? "true" : "false"
        case .null: "null"
        case .composite(let opening): opening == UInt8(ascii: "{") ? "an object" : "an array"
        }
    }
}

/// One `"name": value` pair of the top-level object, in the order of the line.
struct FlatJSONField {
    var name: String
    var value: FlatJSONValue
}

/// Where and why a line is not a JSON object; `column` is the 1-based byte offset.
struct FlatJSONError: Error {
    var column: Int
    var message: String
}

/// A small, strict JSON parser for a line that holds one object: RFC 8259 syntax, escapes including
/// `\uXXXX` and surrogate pairs, numbers kept as text. Nested values are only allowed to be skipped.
///
/// It exists because history files are large (100k lines must parse well under a second) and their
/// errors must point at the byte that is wrong. Complexity: O(line length), one allocation for the
/// field list plus one per string that needs more than the small-string storage.
struct FlatJSONParser {
    /// The deepest nesting of objects and arrays accepted inside an (ignored) field.
    static let nestingDepthMax = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses `bytes` (valid UTF-8) as exactly one JSON object with optional surrounding whitespace.
    static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(FlatJSONError) -> [FlatJSONField] {
        var parser = FlatJSONParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{") else {
            throw parser.error("a line must be one JSON object: expected '{', found \(parser.foundDescription)")
        }
        parser.position += 1
        var fields: [FlatJSONField] = []
        fields.reserveCapacity(12)
        parser.skipWhitespace()
        if parser.peek == UInt8(ascii: "}") {
            parser.position += 1
        } else {
            try parser.parseFields(into: &fields)
        }
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw parser.error("unexpected \(parser.foundDescription) after the object's closing '}'")
        }
        return fields
    }

    private mutating func parseFields(into fields: inout [FlatJSONField]) throws(FlatJSONError) {
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else {
                throw error("expected a field name in double quotes, found \(foundDescription)")
            }
            let name = try parseString()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else {
                throw error("expected ':' after field name \"\(name)\", found \(foundDescription)")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: 1, fieldName: name)
            fields.append(FlatJSONField(name: name, value: value))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return
            default: throw error("expected ',' or '}' after field \"\(name)\", found \(foundDescription)")
            }
        }
    }

    private mutating func parseValue(depth: Int, fieldName: String) throws(FlatJSONError) -> FlatJSONValue {
        switch peek {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .boolean(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .boolean(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let opening = bytes[position]
            try skipComposite(depth: depth, fieldName: fieldName)
            return .composite(opening: opening)
        default:
            throw error(
                "expected a value for field \"\(fieldName)\" (a string, number, true, false or null), found \(foundDescription)"
            )
        }
    }

    /// Checks and skips a nested object or array; its contents are never kept.
    private mutating func skipComposite(depth: Int, fieldName: String) throws(FlatJSONError) {
        guard depth <= Self.nestingDepthMax else {
            throw error("field \"\(fieldName)\" nests objects and arrays deeper than \(Self.nestingDepthMax) levels")
        }
        let isObject = bytes[position] == UInt8(ascii: "{")
        let closing = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        position += 1
        skipWhitespace()
        if peek == closing { position += 1; return }
        while true {
            skipWhitespace()
            if isObject {
                guard peek == UInt8(ascii: "\"") else {
                    throw error("expected a field name in double quotes, found \(foundDescription)")
                }
                _ = try parseString()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw error("expected ':', found \(foundDescription)") }
                position += 1
                skipWhitespace()
            }
            _ = try parseValue(depth: depth + 1, fieldName: fieldName)
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            if peek == closing { position += 1; return }
            throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))' in field \"\(fieldName)\", found \(foundDescription)")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(FlatJSONError) {
        let count = literal.utf8CodeUnitCount
        let literalBytes = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        guard position + count <= bytes.count,
              bytes[position..<(position + count)].elementsEqual(literalBytes)
        else {
            throw error("expected \(literal), found \(foundDescription)")
        }
        position += count
    }
}

// MARK: - Numbers and strings

extension FlatJSONParser {
    /// Parses `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` and returns its text.
    private mutating func parseNumber() throws(FlatJSONError) -> String {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
            if isDigit(peek) { throw error("a number must not have a leading zero") }
        } else {
            guard isDigit(peek) else { throw error("expected a digit, found \(foundDescription)") }
            skipDigits()
        }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard isDigit(peek) else { throw error("expected a digit after '.', found \(foundDescription)") }
            skipDigits()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard isDigit(peek) else { throw error("expected a digit in the exponent, found \(foundDescription)") }
            skipDigits()
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// Parses a string starting at its opening quote. Strings without escapes are copied in one step.
    private mutating func parseString() throws(FlatJSONError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        var decoded = Array(bytes[start..<position])
        try parseEscapedRest(into: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The slow path of `parseString`: the rest of a string that holds escapes.
    private mutating func parseEscapedRest(into decoded: inout [UInt8]) throws(FlatJSONError) {
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return
            case UInt8(ascii: "\\"):
                position += 1
                try parseEscape(into: &decoded)
            case ..<0x20:
                throw error("a control character (byte 0x\(hex(byte))) must be escaped inside a string")
            default:
                decoded.append(byte)
                position += 1
            }
        }
        throw error("unterminated string: the line ends before the closing '\"'")
    }

    /// Parses the escape after a backslash; `\u` escapes may pair into one scalar.
    private mutating func parseEscape(into decoded: inout [UInt8]) throws(FlatJSONError) {
        let escaped = peek
        position += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escaped)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            let scalar = try parseUnicodeEscape()
            UTF8.encode(scalar) { decoded.append($0) }
        default:
            position -= 1
            throw error(#"unknown escape: expected one of \" \\ \/ \b \f \n \r \t \uXXXX, found "#
                + foundDescription)
        }
    }

    /// Parses `XXXX` after `\u`, and the low half that must follow a high surrogate.
    private mutating func parseUnicodeEscape() throws(FlatJSONError) -> Unicode.Scalar {
        let first = try parseHexQuad()
        switch first {
        case 0xD800...0xDBFF:
            guard peek == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                throw error("\\u\(hex(first)) is a high surrogate and must be followed by a \\u escape of a low surrogate")
            }
            position += 2
            let second = try parseHexQuad()
            guard (0xDC00...0xDFFF).contains(second) else {
                throw error("\\u\(hex(first)) is a high surrogate but \\u\(hex(second)) is not a low surrogate (DC00-DFFF)")
            }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        case 0xDC00...0xDFFF:
            throw error("\\u\(hex(first)) is a low surrogate without a high surrogate before it")
        default:
            return Unicode.Scalar(first)!
        }
    }

    private mutating func parseHexQuad() throws(FlatJSONError) -> UInt32 {
        var result: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32
            switch peek {
            case let byte where isDigit(byte): digit = UInt32(byte - UInt8(ascii: "0"))
            case let byte where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20):
                digit = UInt32((byte | 0x20) - UInt8(ascii: "a") + 10)
            default: throw error("expected four hexadecimal digits after \\u, found \(foundDescription)")
            }
            result = result << 4 | digit
            position += 1
        }
        return result
    }
}

// MARK: - Scanning helpers

extension FlatJSONParser {
    /// The byte at the current position, or 0 at the end of the line (a NUL is never valid where the
    /// parser looks, so the end falls into the same error paths).
    private var peek: UInt8 { position < bytes.count ? bytes[position] : 0 }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while isDigit(peek) { position += 1 }
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): position += 1
            default: return
            }
        }
    }

    /// What stands at the current position, for "found …" in messages.
    private var foundDescription: String {
        guard position < bytes.count else { return "the end of the line" }
        let byte = bytes[position]
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(hex(byte))"
    }

    private func error(_ message: String) -> FlatJSONError {
        FlatJSONError(column: position + 1, message: message)
    }

    private func hex<Value: BinaryInteger>(_ value: Value) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        let width = Value.self == UInt8.self ? 2 : 4
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
