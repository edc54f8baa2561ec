/// Writes RESP. Under RESP2 the RESP3-only types take the shape Redis gives them for RESP2 clients:
/// null → `$-1`, double → bulk string, boolean → integer 1/0, map → flat array of key, value, …,
/// set and push → array, verbatim → bulk string.
public enum RESPEncoder {
    public static func encode(_ value: RESPValue, version: RESPVersion = .resp2) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(value, version: version, into: &bytes)
        return bytes
    }

    public static func encode(_ value: RESPValue, version: RESPVersion, into bytes: inout [UInt8]) {
        switch value {
        case .simpleString(let text):
            line(UInt8(ascii: "+"), clean(text), into: &bytes)
        case .error(let text):
            line(UInt8(ascii: "-"), clean(text), into: &bytes)
        case .integer(let number):
            line(UInt8(ascii: ":"), String(number), into: &bytes)
        case .bulkString(let payload):
            bulk(UInt8(ascii: "$"), payload, into: &bytes)
        case .array(let elements):
            aggregate(UInt8(ascii: "*"), elements, version: version, into: &bytes)
        case .null:
            bytes.append(contentsOf: version == .resp3 ? Array("_\r\n".utf8) : Array("$-1\r\n".utf8))
        case .double(let number):
            let text = number.isNaN ? "nan" : number == .infinity ? "inf" : number == -.infinity ? "-inf" : String(number)
            if version == .resp3 { line(UInt8(ascii: ","), text, into: &bytes) } else { bulk(UInt8(ascii: "$"), Array(text.utf8), into: &bytes) }
        case .boolean(let flag):
            if version == .resp3 { line(UInt8(ascii: "#"), flag ? "t" : "f", into: &bytes) } else { line(UInt8(ascii: ":"), flag ? "1" : "0", into: &bytes) }
        case .map(let pairs):
            if version == .resp3 {
                line(UInt8(ascii: "%"), String(pairs.count), into: &bytes)
                for (key, value) in pairs {
                    encode(key, version: version, into: &bytes)
                    encode(value, version: version, into: &bytes)
                }
            } else {
                aggregate(UInt8(ascii: "*"), pairs.flatMap { [$0.0, $0.1] }, version: version, into: &bytes)
            }
        case .set(let elements):
            aggregate(version == .resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), elements, version: version, into: &bytes)
        case .push(let elements):
            aggregate(version == .resp3 ? UInt8(ascii: ">") : UInt8(ascii: "*"), elements, version: version, into: &bytes)
        case .verbatim(let format, let text):
            if version == .resp3 {
                bulk(UInt8(ascii: "="), Array("\(format.prefix(3)):\(text)".utf8), into: &bytes)
            } else {
                bulk(UInt8(ascii: "$"), Array(text.utf8), into: &bytes)
            }
        }
    }

    /// A command as a client sends it: an array of bulk strings.
    public static func command(_ arguments: [String]) -> [UInt8] {
        encode(.array(arguments.map(RESPValue.bulk)))
    }

    private static func line(_ marker: UInt8, _ text: String, into bytes: inout [UInt8]) {
        bytes.append(marker)
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    private static func bulk(_ marker: UInt8, _ payload: [UInt8], into bytes: inout [UInt8]) {
        line(marker, String(payload.count), into: &bytes)
        bytes.append(contentsOf: payload)
        bytes.append(contentsOf: [0x0D, 0x0A])
    }

    private static func aggregate(_ marker: UInt8, _ elements: [RESPValue], version: RESPVersion, into bytes: inout [UInt8]) {
        line(marker, String(elements.count), into: &bytes)
        for element in elements { encode(element, version: version, into: &bytes) }
    }

    /// Simple strings and errors are one line: CR and LF become spaces (Redis does the same).
    private static func clean(_ text: String) -> String {
        var text = text
        let hasBreak = text.withUTF8 { utf8 in
            for index in 0..<utf8.count where utf8[index] == 0x0D || utf8[index] == 0x0A { return true }
            return false
        }
        guard hasBreak else { return text }
        return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}
