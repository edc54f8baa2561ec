import ConclaveCluster
import Testing

/// A line the reader must refuse, and the exact message it must give.
struct MalformedLine: Sendable, CustomTestStringConvertible {
    var line: String
    var message: String
    var testDescription: String { line }
}

@Suite struct HistoryFormatErrorTests {
    static let syntaxErrors: [MalformedLine] = [
        MalformedLine(line: "not json", message: "not JSON at column 1: a line must be one JSON object: expected '{', found 'n'"),
        MalformedLine(line: "[1, 2]", message: "not JSON at column 1: a line must be one JSON object: expected '{', found '['"),
        MalformedLine(
            line: #"{"client": 1, "op": "put""#,
            message: #"not JSON at column 26: expected ',' or '}' after field "op", found the end of the line"#
        ),
        MalformedLine(line: #"{"client": 1,}"#, message: "not JSON at column 14: expected a field name in double quotes, found '}'"),
        MalformedLine(line: #"{"client": 01}"#, message: "not JSON at column 13: a number must not have a leading zero"),
        MalformedLine(line: #"{"client": 1.}"#, message: "not JSON at column 14: expected a digit after '.', found '}'"),
        MalformedLine(line: #"{"client": tru}"#, message: "not JSON at column 12: expected true, found 't'"),
        MalformedLine(
            line: #"{"key": "a\qb"}"#,
            message: #"not JSON at column 12: unknown escape: expected one of \" \\ \/ \b \f \n \r \t \uXXXX, found 'q'"#
        ),
        MalformedLine(
            line: #"{"key": "\udc00"}"#,
            message: #"not JSON at column 16: \uDC00 is a low surrogate without a high surrogate before it"#
        ),
        MalformedLine(
            line: #"{"key": "\ud83dx"}"#,
            message: #"not JSON at column 16: \uD83D is a high surrogate and must be followed by a \u escape of a low surrogate"#
        ),
        MalformedLine(
            line: #"{"key": "\u12G4"}"#,
            message: #"not JSON at column 14: expected four hexadecimal digits after \u, found 'G'"#
        ),
        MalformedLine(
            line: "{\"key\": \"a\tb\"}",
            message: "not JSON at column 11: a control character (byte 0x09) must be escaped inside a string"
        ),
        MalformedLine(line: #"{"key": "abc"#, message: #"not JSON at column 13: unterminated string: the line ends before the closing '"'"#),
        MalformedLine(line: "{} x", message: "not JSON at column 4: unexpected 'x' after the object's closing '}'"),
        MalformedLine(
            line: "{\"x\": " + String(repeating: "[", count: 33) + String(repeating: "]", count: 33) + "}",
            message: #"not JSON at column 39: field "x" nests objects and arrays deeper than 32 levels"#
        ),
    ]

    @Test("a line that is not one JSON object is refused with the column and what was expected", arguments: syntaxErrors)
    func syntaxError(malformed: MalformedLine) {
        #expect(throws: HistoryError(lineNumber: 3, message: malformed.message)) {
            try HistoryFormat.decode(line: malformed.line, lineNumber: 3)
        }
    }

    /// A valid put with one field replaced (`name: nil` removes it).
    static func put(replacing name: String, with value: String?) -> String {
        let fields = [
            ("client", "1"), ("op", #""put""#), ("key", #""k""#), ("value", #""v""#),
            ("ok", "true"), ("call", "10"), ("return", "20"),
        ]
        let kept = fields.compactMap { field -> String? in
            guard field.0 == name else { return "\"\(field.0)\": \(field.1)" }
            return value.map { "\"\(name)\": \($0)" }
        }
        return "{" + kept.joined(separator: ", ") + "}"
    }

    static let fieldErrors: [MalformedLine] = [
        MalformedLine(line: put(replacing: "call", with: nil), message: #"missing field "call": an integer, nanoseconds when the request was sent"#),
        MalformedLine(line: put(replacing: "call", with: #""abc""#), message: #"field "call" must be an integer, got "abc""#),
        MalformedLine(line: put(replacing: "call", with: "1.5"), message: #"field "call" must be an integer, got 1.5 (no fraction or exponent)"#),
        MalformedLine(line: put(replacing: "call", with: "1e3"), message: #"field "call" must be an integer, got 1e3 (no fraction or exponent)"#),
        MalformedLine(line: put(replacing: "call", with: "-5"), message: #"field "call" must not be negative, got -5"#),
        MalformedLine(
            line: put(replacing: "return", with: "18446744073709551616"),
            message: #"field "return" is too large: 18446744073709551616 (at most 18446744073709551615)"#
        ),
        MalformedLine(
            line: put(replacing: "client", with: "9223372036854775808"),
            message: #"field "client" is too large: 9223372036854775808 (at most 9223372036854775807)"#
        ),
        MalformedLine(
            line: put(replacing: "op", with: #""push""#),
            message: #"unknown op "push"; expected one of put, get, cas, delete, acquire, release, expire, revoke, cancel, fenced-put"#
        ),
        MalformedLine(line: put(replacing: "op", with: "3"), message: #"field "op" must be a string, got 3"#),
        MalformedLine(line: put(replacing: "key", with: #"{"a": 1}"#), message: #"field "key" must be a string, got an object"#),
        MalformedLine(
            line: put(replacing: "return", with: "5"),
            message: #"field "return" (5) is before field "call" (10); an answer comes after its request"#
        ),
        MalformedLine(
            line: put(replacing: "return", with: nil),
            message: #"missing field "return": an integer or null, nanoseconds when the answer came (null: the outcome is unknown)"#
        ),
        MalformedLine(line: put(replacing: "return", with: "[]"), message: #"field "return" must be an integer or null, got an array"#),
        MalformedLine(line: put(replacing: "ok", with: #""yes""#), message: #"field "ok" must be true or false, got "yes""#),
        MalformedLine(
            line: put(replacing: "ok", with: nil),
            message: #"missing field "ok": true or false; it may only be left out when "return" is null"#
        ),
        MalformedLine(line: put(replacing: "value", with: "null"), message: #"field "value" must be a string, got null"#),
        MalformedLine(line: put(replacing: "value", with: nil), message: #"missing field "value" for put: a string, the value written"#),
        MalformedLine(line: put(replacing: "call", with: #"10, "call": 11"#), message: #"field "call" appears twice; give it once"#),
    ]

    @Test("a field that is missing, mistyped or out of range is refused with what is accepted", arguments: fieldErrors)
    func fieldError(malformed: MalformedLine) {
        #expect(throws: HistoryError(lineNumber: 1, message: malformed.message)) {
            try HistoryFormat.decode(line: malformed.line, lineNumber: 1)
        }
    }

    static let kindRuleErrors: [MalformedLine] = [
        MalformedLine(
            line: #"{"client": 1, "op": "cas", "key": "k", "value": "v", "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "expected" for cas: a string or null, the value that must be current (null: the key must be absent)"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "get", "key": "k", "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "output" for a get with a non-null "return": a string or null, the value read (null: the key was absent)"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "token" for an acquire with "ok": true and a non-null "return": an integer, the fencing token granted"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "ok": true, "token": 2.0, "call": 1, "return": 2}"#,
            message: #"field "token" must be an integer, got 2.0 (no fraction or exponent)"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "expire", "key": "l", "call": 1, "return": null}"#,
            message: #"missing field "holder" for expire: an integer, the client whose lock lease expiry may free"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "expire", "key": "l", "holder": 2, "ok": true, "call": 1, "return": 20}"#,
            message: #"expire must have "return": null (a lease expiry has no answer), got 20"#
        ),
    ]

    @Test("the rules of each op, and of README's additions, are enforced", arguments: kindRuleErrors + HistoryAdditionsFormatTests.ruleErrors)
    func kindRuleError(malformed: MalformedLine) {
        #expect(throws: HistoryError(lineNumber: 1, message: malformed.message)) {
            try HistoryFormat.decode(line: malformed.line, lineNumber: 1)
        }
    }

    @Test("read names the 1-based line of the first bad line, counting blank lines")
    func readReportsLineNumber() throws {
        let good = HistoryFormat.encode(.put(client: 1, "a", from: 1, to: 2))
        let contents = [good, "", good, #"{"client": 1, "op": "get", "key": "k", "ok": true, "call": "abc", "return": 2}"#, "oops"]
            .joined(separator: "\n")
        let error = try #require(throws: HistoryError.self) { try HistoryFormat.read(contents: contents) }
        #expect(error.lineNumber == 4)
        #expect(error.description == #"line 4: field "call" must be an integer, got "abc""#)
    }

    @Test("a line longer than lineBytesMax is refused before parsing")
    func overlongLineRefused() {
        let value = String(repeating: "v", count: HistoryFormat.lineBytesMax)
        let line = HistoryFormat.encode(.put(client: 1, value, from: 1, to: 2))
        #expect(throws: HistoryError(
            lineNumber: 9,
            message: "the line is \(line.utf8.count) bytes long; at most \(HistoryFormat.lineBytesMax) bytes are accepted"
        )) {
            try HistoryFormat.read(contents: String(repeating: "\n", count: 8) + line)
        }
        let longest = HistoryFormat.encode(.put(client: 1, String(value.dropFirst(line.utf8.count - HistoryFormat.lineBytesMax)), from: 1, to: 2))
        #expect(longest.utf8.count == HistoryFormat.lineBytesMax)
        #expect((try? HistoryFormat.decode(line: longest, lineNumber: 1)) != nil)
    }
}
