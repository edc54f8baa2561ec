import ConclaveCluster
import Foundation
import Testing

/// The history operations and fields beyond HISTORY.md (README, "History operations beyond
/// ../shared/HISTORY.md"): README's example, round trips, and the errors of each rule.
@Suite struct HistoryAdditionsFormatTests {
    /// The JSON block of README's section, read from README itself so the two cannot drift apart.
    static func readmeExample() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## History operations beyond ../shared/HISTORY.md"))
        let block = try #require(readme.range(of: "```json\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```", range: block.upperBound..<readme.endIndex))
        return readme[block.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
    }

    @Test("README's example of the additions parses, re-encodes line for line, and is linearizable")
    func readmeExampleParses() throws {
        let lines = try Self.readmeExample()
        #expect(lines.count == 10)
        let operations = try lines.enumerated().map { try HistoryFormat.decode(line: $0.element, lineNumber: $0.offset + 1) }
        for (line, operation) in zip(lines, operations) {
            #expect(HistoryFormat.encode(operation) == line)
        }
        #expect(operations[2].waitMillis == 200 && operations[2].mode == .exclusive && operations[2].holds == 1)
        #expect(operations[5].permits == 2 && operations[5].capacity == 3)
        #expect(operations[9].lock == "rw-0" && operations[9].token == 57 && operations[9].value == "c5-12")
        let report = LinearizabilityChecker().check(operations)
        #expect(report.verdict == .linearizable, "\(report)")
    }

    static let roundTripOperations: [HistoryOperation] = [
        .acquire(client: 1, mode: .shared, token: 3, holds: 2, from: 0, to: 1),
        .acquire(client: 1, mode: .exclusive, wait: 0, delay: 150, ok: false, from: 2, to: 3),
        .acquire(client: 2, mode: .permits, permits: 1, capacity: 1_000_000, wait: UInt64.max, from: 4, to: nil),
        HistoryOperation(client: 3, kind: .acquire, key: "lock", delayMillis: 20, call: 5, returnTime: nil),
        .revoke(client: 4, grace: nil, from: 6, to: 7),
        .revoke(client: 4, grace: 0, ok: false, from: 8, to: nil),
        .cancel(client: 5, ok: false, from: 9, to: 10),
        .cancel(client: 5, from: 11, to: nil),
        .fencedPut(client: 6, key: "fence/\"q\"", "v\n", lock: "ключ", token: UInt64.max, ok: false, from: 12, to: 13),
        .fencedPut(client: 6, "v", token: 0, from: 14, to: nil),
    ]

    @Test("decode(encode(operation)) gives an operation with the additions back", arguments: roundTripOperations)
    func roundTrip(operation: HistoryOperation) throws {
        #expect(try HistoryFormat.decode(line: HistoryFormat.encode(operation), lineNumber: 1) == operation)
    }

    /// Lines that break a rule of the additions (checked by `HistoryFormatErrorTests.kindRuleError`).
    static let ruleErrors: [MalformedLine] = [
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "upgradable", "ok": false, "call": 1, "return": 2}"#,
            message: #"field "mode" must be one of "exclusive", "shared", "permits", got "upgradable""#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": 2, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "mode" must be a string, got 2"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "permits", "capacity": 3, "ok": false, "call": 1, "return": 2}"#,
            message: #"missing field "permits" for an acquire with "mode": "permits": an integer, the permits the acquire takes"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "permits", "permits": 1, "ok": false, "call": 1, "return": 2}"#,
            message: #"missing field "capacity" for an acquire with "mode": "permits": an integer, the permits the semaphore has"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "permits", "permits": 0, "capacity": 3, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "permits" must be at least 1, got 0"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "permits", "permits": 4, "capacity": 3, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "permits" (4) is more than field "capacity" (3); a semaphore never grants more permits than it has"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "permits", "permits": 1, "capacity": 2147483648, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "capacity" is too large: 2147483648 (at most 2147483647)"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "mode": "shared", "permits": 1, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "permits" is only for "mode": "permits", and this acquire's mode is "shared""#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "capacity": 3, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "capacity" is only for "mode": "permits", and this acquire's mode is "exclusive""#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "wait": -5, "ok": false, "call": 1, "return": 2}"#,
            message: #"field "wait" must not be negative, got -5"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "delay": "150ms", "ok": false, "call": 1, "return": 2}"#,
            message: #"field "delay" must be an integer, got "150ms""#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "ok": false, "holds": 1, "call": 1, "return": 2}"#,
            message: #"field "holds" is only for a granted acquire ("ok": true and a non-null "return")"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "acquire", "key": "l", "ok": true, "token": 4, "holds": 0, "call": 1, "return": 2}"#,
            message: #"field "holds" must be at least 1, got 0"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "fenced-put", "key": "k", "token": 4, "value": "v", "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "lock" for fenced-put: a string, the lock whose token guards the write"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "fenced-put", "key": "k", "lock": "l", "token": null, "value": "v", "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "token" for fenced-put: an integer, the fencing token granted"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "fenced-put", "key": "k", "lock": "l", "token": 4, "ok": true, "call": 1, "return": 2}"#,
            message: #"missing field "value" for fenced-put: a string, the value written"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "revoke", "key": "l", "grace": 1.5, "ok": true, "call": 1, "return": 2}"#,
            message: #"field "grace" must be an integer, got 1.5 (no fraction or exponent)"#
        ),
        MalformedLine(
            line: #"{"client": 1, "op": "cancel", "key": "l", "call": 1, "return": 2}"#,
            message: #"missing field "ok": true or false; it may only be left out when "return" is null"#
        ),
    ]

    @Test("the additions' fields on other ops are ignored, as unknown fields are")
    func additionsElsewhereIgnored() throws {
        let line = #"{"client": 1, "op": "release", "key": "l", "mode": "bogus", "permits": -1, "holds": "x", "lock": 3, "ok": true, "call": 1, "return": 2}"#
        #expect(try HistoryFormat.decode(line: line, lineNumber: 1) == .release(client: 1, lock: "l", from: 1, to: 2))
    }
}
