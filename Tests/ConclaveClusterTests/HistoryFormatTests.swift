import ConclaveCluster
import Testing

@Suite struct HistoryFormatTests {
    /// The example block of `../shared/HISTORY.md`, verbatim.
    static let historyDocumentExample = """
        {"client": 3, "op": "put", "key": "k1", "value": "v7", "output": null, "ok": true, "call": 1200340, "return": 1203551}
        {"client": 4, "op": "get", "key": "k1", "output": "v7", "ok": true, "call": 1201000, "return": 1204000}
        {"client": 5, "op": "cas", "key": "k1", "expected": "v7", "value": "v8", "ok": true, "call": 1300000, "return": 1309000}
        {"client": 6, "op": "acquire", "key": "lock/a", "ok": true, "token": 41, "call": 1400000, "return": 1402000}
        {"client": 6, "op": "release", "key": "lock/a", "ok": true, "call": 1500000, "return": 1503000}
        {"client": 7, "op": "put", "key": "k2", "value": "v9", "ok": true, "call": 1600000, "return": null}
        """

    @Test("the example block of HISTORY.md parses into the operations it describes")
    func documentExampleParses() throws {
        let operations = try HistoryFormat.read(contents: Self.historyDocumentExample)
        #expect(operations == [
            .put(client: 3, key: "k1", "v7", from: 1_200_340, to: 1_203_551),
            .get(client: 4, key: "k1", "v7", from: 1_201_000, to: 1_204_000),
            .cas(client: 5, key: "k1", expected: "v7", "v8", ok: true, from: 1_300_000, to: 1_309_000),
            .acquire(client: 6, lock: "lock/a", token: 41, from: 1_400_000, to: 1_402_000),
            .release(client: 6, lock: "lock/a", from: 1_500_000, to: 1_503_000),
            .put(client: 7, key: "k2", "v9", from: 1_600_000, to: nil),
        ])
    }

    @Test("encode writes the fields in the order of HISTORY.md's examples")
    func encodeMatchesDocumentExamples() throws {
        let lines = Self.historyDocumentExample.split(separator: "\n").map(String.init)
        // The first example also carries `"output": null` on a put, a field a put does not need.
        for line in lines.dropFirst() {
            let operation = try HistoryFormat.decode(line: line, lineNumber: 1)
            #expect(HistoryFormat.encode(operation) == line)
        }
        #expect(
            HistoryFormat.encode(.expire(client: 9, lock: "lock/a", holder: 6, from: 1_700_000))
                == #"{"client": 9, "op": "expire", "key": "lock/a", "holder": 6, "ok": true, "call": 1700000, "return": null}"#
        )
    }

    static let roundTripOperations: [HistoryOperation] = [
        .put(client: 1, key: "plain", "value", from: 0, to: 0),
        .put(client: 2, key: "quote\"and\\backslash", "a \"quoted\" \\ value /", from: 5, to: 9),
        .put(client: 3, key: "controls\n\r\t\u{08}\u{0C}", "nul\u{00} unit\u{1F} del\u{7F}", from: 1, to: nil),
        .put(client: 4, key: "unicode é 鍵 😀", "zero width \u{200B} rtl \u{202E} line sep \u{2028}", from: 7, to: 8),
        .get(client: 5, key: "k", nil, from: 10, to: 20),
        .get(client: 5, key: "k", "", from: 10, to: nil),
        .cas(client: 6, key: "k", expected: nil, "first", ok: true, from: 30, to: 31),
        .cas(client: 6, key: "k", expected: "first", "second", ok: false, from: 32, to: nil),
        .delete(client: 7, key: "k", from: 40, to: 41),
        .acquire(client: 8, lock: "l", token: UInt64.max, from: 50, to: UInt64.max),
        .acquire(client: 8, lock: "l", ok: false, from: 52, to: 53),
        .acquire(client: 8, lock: "l", from: 54, to: nil),
        .release(client: Int.max, lock: "l", ok: false, from: 60, to: 61),
        .expire(client: 9, lock: "l", holder: 8, from: 70),
    ]

    @Test("decode(encode(operation)) gives the operation back", arguments: roundTripOperations)
    func roundTrip(operation: HistoryOperation) throws {
        let line = HistoryFormat.encode(operation)
        #expect(!line.contains("\n"))
        #expect(try HistoryFormat.decode(line: line, lineNumber: 1) == operation)
    }

    @Test("read skips blank lines, accepts CRLF and a byte-order mark, and keeps file order")
    func readSkipsBlankLines() throws {
        let first = HistoryOperation.put(client: 1, "a", from: 10, to: 11)
        let second = HistoryOperation.get(client: 2, "a", from: 1, to: 2)
        let contents = "\u{FEFF}\n  \t\n" + HistoryFormat.encode(first) + "\r\n\r\n" + HistoryFormat.encode(second) + "\n\n"
        #expect(try HistoryFormat.read(contents: contents) == [first, second])
        #expect(try HistoryFormat.read(contents: "").isEmpty)
    }

    @Test("escapes decode to the characters they stand for")
    func escapesDecode() throws {
        let line = #"{"client": 1, "op": "put", "key": "\u00e9\ud83d\ude00\/\"\\\b\f\n\r\t", "value": "\u0041", "ok": true, "call": 1, "return": 2}"#
        let operation = try HistoryFormat.decode(line: line, lineNumber: 1)
        #expect(operation.key == "é😀/\"\\\u{08}\u{0C}\n\r\t")
        #expect(operation.value == "A")
    }

    @Test("unknown fields are ignored, nested values included, and irrelevant fields too")
    func unknownFieldsIgnored() throws {
        let line = #"{"extra": {"a": [1, 2.5e3, {"b": null}], "c": "d"}, "client": 1, "op": "delete", "key": "k", "#
            + #""value": 17, "ok": true, "call": 1, "return": 2, "trace": [true, false]}"#
        #expect(try HistoryFormat.decode(line: line, lineNumber: 1) == .delete(client: 1, key: "k", from: 1, to: 2))
    }

    @Test("an answerless line may leave out ok; an acquire with unknown outcome needs no token")
    func optionalFieldsOfUnknownOutcomes() throws {
        let line = #"{"client": 1, "op": "acquire", "key": "l", "call": 5, "return": null}"#
        #expect(try HistoryFormat.decode(line: line, lineNumber: 1) == .acquire(client: 1, lock: "l", from: 5, to: nil))
    }
}
