import ArgumentParser

/// A duration flag value: a number with a unit (`500ms`, `60s`, `2m`, `1h`, `1.5s`).
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    let nanoseconds: UInt64
    let text: String

    init?(argument: String) {
        let units: [(suffix: String, nanos: Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for unit in units where argument.hasSuffix(unit.suffix) {
            let number = argument.dropLast(unit.suffix.count)
            // "ms" also ends in "s": make sure the number part is a number.
            guard let value = Double(number), value.isFinite, value > 0 else { continue }
            let nanos = value * unit.nanos
            guard nanos < Double(UInt64.max) / 2 else { return nil }
            self.nanoseconds = UInt64(nanos)
            self.text = argument
            return
        }
        return nil
    }

    var description: String { text }

    static var defaultCompletionKind: CompletionKind { .default }
}

extension DurationArgument {
    /// Shown by argument-parser when a value does not parse.
    static let accepted = "a positive number with a unit: ms, s, m or h (e.g. 500ms, 60s, 2m)"
}

/// A seed range flag value: `A..B` (inclusive) or a single seed.
struct SeedRange: ExpressibleByArgument {
    let seeds: ClosedRange<UInt64>
    static let countMax: UInt64 = 1_000_000

    init?(argument: String) {
        let parts = argument.split(separator: ".", omittingEmptySubsequences: true)
        if parts.count == 1, argument.allSatisfy(\.isNumber), let seed = UInt64(argument) {
            seeds = seed...seed
            return
        }
        guard argument.contains(".."), parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]),
              low <= high, high - low < Self.countMax else { return nil }
        seeds = low...high
    }
}
