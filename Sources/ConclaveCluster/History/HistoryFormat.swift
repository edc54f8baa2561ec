/// Reads and writes operation histories in the JSON Lines format of `../shared/HISTORY.md`.
///
/// The writer emits only the fields that mean something for an operation's kind, in the order of
/// HISTORY.md's examples; the reader is strict about those fields (presence, type, range, and the rules
/// between them) and ignores any other field, so other tools may add their own.
public enum HistoryFormat {
    /// The longest line accepted, in bytes: generated values are short, so a longer line is a broken file.
    public static let lineBytesMax = 65_536

    /// One JSON line for `operation`, without a trailing newline.
    ///
    /// `decode(line: encode(operation), …) == operation` for every operation that `decode` accepts
    /// with its kind's irrelevant fields left `nil`. A `put` or `cas` without `value` is written with
    /// `"value": null` (a `fenced-put` without `token`, `"token": null`), which the reader rejects: the
    /// line says what the recorder got wrong.
    public static func encode(_ operation: HistoryOperation) -> String {
        var line = "{\"client\": \(operation.client), \"op\": \"\(operation.kind.rawValue)\", \"key\": "
        line.reserveCapacity(128)
        appendQuoted(operation.key, to: &line)
        switch operation.kind {
        case .put:
            appendField("value", operation.value, to: &line)
        case .get:
            appendField("output", operation.output, to: &line)
        case .cas:
            appendField("expected", operation.expected, to: &line)
            appendField("value", operation.value, to: &line)
        case .expire:
            line += ", \"holder\": \(operation.holder.map(String.init) ?? "null")"
        case .acquire:
            appendAcquireRequest(operation, to: &line)
        case .fencedPut:
            line += ", \"lock\": "
            appendQuoted(operation.lock ?? "", to: &line)
            line += ", \"token\": \(operation.token.map(String.init) ?? "null")"
            appendField("value", operation.value, to: &line)
        case .revoke:
            if let grace = operation.graceMillis { line += ", \"grace\": \(grace)" }
        case .delete, .release, .cancel:
            break
        }
        line += operation.ok ? ", \"ok\": true" : ", \"ok\": false"
        if operation.kind == .acquire, let token = operation.token {
            line += ", \"token\": \(token)"
        }
        if operation.kind == .acquire, let holds = operation.holds {
            line += ", \"holds\": \(holds)"
        }
        line += ", \"call\": \(operation.call), \"return\": \(operation.returnTime.map(String.init) ?? "null")}"
        return line
    }

    /// The fields beyond HISTORY.md that say how an acquire asks: mode, permits, capacity, wait, delay.
    private static func appendAcquireRequest(_ operation: HistoryOperation, to line: inout String) {
        if let mode = operation.mode { line += ", \"mode\": \"\(mode.rawValue)\"" }
        if let permits = operation.permits { line += ", \"permits\": \(permits)" }
        if let capacity = operation.capacity { line += ", \"capacity\": \(capacity)" }
        if let wait = operation.waitMillis { line += ", \"wait\": \(wait)" }
        if let delay = operation.delayMillis { line += ", \"delay\": \(delay)" }
    }

    /// Decodes one line; `lineNumber` (1-based) goes into any error.
    public static func decode(line: String, lineNumber: Int) throws(HistoryError) -> HistoryOperation {
        var line = line
        let result = line.withUTF8 { bytes in
            Result { () throws(HistoryError) in try decode(bytes: bytes, lineNumber: lineNumber) }
        }
        return try result.get()
    }

    /// Decodes a whole file: one operation per non-blank line, in file order (the checker sorts by
    /// `call`). Lines may end in `\n` or `\r\n`; a leading byte-order mark is skipped.
    /// Throws the error of the first malformed line. Complexity: O(size of `contents`).
    public static func read(contents: String) throws(HistoryError) -> [HistoryOperation] {
        var contents = contents
        let result = contents.withUTF8 { bytes in
            Result { () throws(HistoryError) in try readLines(of: bytes) }
        }
        return try result.get()
    }

    private static func readLines(of bytes: UnsafeBufferPointer<UInt8>) throws(HistoryError) -> [HistoryOperation] {
        var operations: [HistoryOperation] = []
        let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        var lineStart = bytes.starts(with: byteOrderMark) ? byteOrderMark.count : 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
                continue
            }
            operations.append(try decode(bytes: line, lineNumber: lineNumber))
        }
        return operations
    }

    static func decode(bytes: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(HistoryError) -> HistoryOperation {
        guard bytes.count <= lineBytesMax else {
            throw HistoryError(
                lineNumber: lineNumber,
                message: "the line is \(bytes.count) bytes long; at most \(lineBytesMax) bytes are accepted"
            )
        }
        let fields: [FlatJSONField]
        do {
            fields = try FlatJSONParser.parseObject(bytes)
        } catch {
            throw HistoryError(lineNumber: lineNumber, message: "not JSON at column \(error.column): \(error.message)")
        }
        return try HistoryLineFields(fields: fields, lineNumber: lineNumber).operation()
    }
}

// MARK: - Writing strings

extension HistoryFormat {
    private static func appendField(_ name: String, _ value: String?, to line: inout String) {
        line += ", \"\(name)\": "
        if let value { appendQuoted(value, to: &line) } else { line += "null" }
    }

    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped, everything
    /// else (including non-ASCII) as UTF-8.
    public static func appendQuoted(_ text: String, to line: inout String) {
        line += "\""
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            line += text
            line += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case "\u{08}": line += "\\b"
            case "\u{0C}": line += "\\f"
            case "\u{00}"..."\u{1F}":
                let digits = String(scalar.value, radix: 16, uppercase: true)
                line += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
