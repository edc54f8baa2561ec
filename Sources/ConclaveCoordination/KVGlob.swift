/// Redis's glob patterns (`KEYS`, `SCAN … MATCH`), over bytes as Redis's `stringmatchlen`: `*`
/// any run, `?` any one byte, `[abc]`, `[^abc]`, `[a-z]` a class (a reversed range counts both
/// ways; a class left open runs to the pattern's end), `\x` the byte `x` itself.
///
/// Iterative, with one backtracking point (the last `*`): O(pattern × text) at worst, never
/// recursive, so no pattern can blow the stack or run exponentially (Redis's recursive matcher
/// needed a nesting limit for that).
public struct KVGlob: Sendable {
    private let pattern: [UInt8]

    public init(_ pattern: String) { self.pattern = Array(pattern.utf8) }

    /// Whether the pattern matches every text (`*` alone, or only stars), to skip matching.
    public var matchesAll: Bool { !pattern.isEmpty && pattern.allSatisfy { $0 == UInt8(ascii: "*") } }

    public func matches(_ text: String) -> Bool {
        if matchesAll { return true }
        var text = text
        return text.withUTF8 { matches(bytes: $0) }
    }

    private func matches(bytes text: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        var t = 0
        var star: (pattern: Int, text: Int)?
        while t < text.count {
            if p < pattern.count {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
                    if p == pattern.count { return true }
                    star = (p, t)
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    t += 1
                    continue
                case UInt8(ascii: "["):
                    let (matched, next) = matchClass(at: p, text[t])
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                default:
                    let (literal, next) = pattern[p] == UInt8(ascii: "\\") && p + 1 < pattern.count
                        ? (pattern[p + 1], p + 2) : (pattern[p], p + 1)
                    if literal == text[t] {
                        p = next
                        t += 1
                        continue
                    }
                }
            }
            guard let resume = star else { return false }
            star = (resume.pattern, resume.text + 1)
            p = resume.pattern
            t = resume.text + 1
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Matches `byte` against the class opening at `start` (`[`); returns whether it matched and
    /// the pattern index after the class.
    private func matchClass(at start: Int, _ byte: UInt8) -> (Bool, Int) {
        var index = start + 1
        let negated = index < pattern.count && pattern[index] == UInt8(ascii: "^")
        if negated { index += 1 }
        var matched = false
        while index < pattern.count && pattern[index] != UInt8(ascii: "]") {
            if pattern[index] == UInt8(ascii: "\\") && index + 1 < pattern.count {
                if pattern[index + 1] == byte { matched = true }
                index += 2
            } else if index + 2 < pattern.count && pattern[index + 1] == UInt8(ascii: "-") && pattern[index + 2] != UInt8(ascii: "]") {
                let low = min(pattern[index], pattern[index + 2])
                let high = max(pattern[index], pattern[index + 2])
                if (low...high).contains(byte) { matched = true }
                index += 3
            } else {
                if pattern[index] == byte { matched = true }
                index += 1
            }
        }
        if index < pattern.count { index += 1 }  // past the `]`
        return (matched != negated, index)
    }
}
