import ConclavePaxos

/// A KV operation as the Paxos log carries it: the history's put / get / cas, encoded into a
/// command's bytes. Gets go through the log too, so every answer is linearizable without leases.
struct PaxosKVCommand: Equatable {
    enum Kind: UInt8 { case put = 1, get = 2, cas = 3 }

    var kind: Kind
    var key: String
    var value: String?
    var expected: String?

    /// kind, then key, value and expected, each as a presence byte, a 2-byte length and UTF-8.
    var bytes: [UInt8] {
        var out: [UInt8] = [kind.rawValue]
        for field in [key, value, expected] {
            guard let field else {
                out.append(0)
                continue
            }
            let utf8 = Array(field.utf8.prefix(Int(UInt16.max)))
            out += [1, UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
        }
        return out
    }

    init(kind: Kind, key: String, value: String? = nil, expected: String? = nil) {
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
    }

    /// Nil for bytes this encoding never produces.
    init?(bytes: [UInt8]) {
        guard let first = bytes.first, let kind = Kind(rawValue: first) else { return nil }
        var position = 1
        var fields: [String?] = []
        for _ in 0..<3 {
            guard position < bytes.count else { return nil }
            if bytes[position] == 0 {
                fields.append(nil)
                position += 1
                continue
            }
            guard position + 3 <= bytes.count else { return nil }
            let length = Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
            guard position + 3 + length <= bytes.count else { return nil }
            fields.append(String(decoding: bytes[(position + 3)..<(position + 3 + length)], as: UTF8.self))
            position += 3 + length
        }
        guard let key = fields[0] else { return nil }
        self.init(kind: kind, key: key, value: fields[1], expected: fields[2])
    }
}

/// A node's KV state machine, fed the chosen log in slot order. A command chosen twice (a value
/// re-proposed after a leader change can land in two slots) takes effect once.
struct PaxosKVStore {
    var values: [String: String] = [:]
    var appliedCommandIDs: Set<UInt64> = []

    /// The answer to a command: the value read (get) or whether it took effect (cas).
    struct Answer: Equatable {
        var output: String?
        var ok: Bool
    }

    /// Applies one chosen value; nil for a no-op, a repeat, or bytes that are not a KV command.
    mutating func apply(_ value: PaxosValue) -> (id: UInt64, answer: Answer)? {
        guard case .command(let id, let data) = value, appliedCommandIDs.insert(id).inserted,
              let command = PaxosKVCommand(bytes: data) else { return nil }
        switch command.kind {
        case .put:
            values[command.key] = command.value
            return (id, Answer(output: nil, ok: true))
        case .get:
            return (id, Answer(output: values[command.key], ok: true))
        case .cas:
            guard values[command.key] == command.expected else { return (id, Answer(output: nil, ok: false)) }
            values[command.key] = command.value
            return (id, Answer(output: nil, ok: true))
        }
    }
}
