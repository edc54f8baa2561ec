/// One lab run: which lock, how many threads, how long each holds it and thinks between holds,
/// and for how long the run goes on. Every field has a range; `validated()` refuses the rest.
public struct LabConfiguration: Equatable, Sendable {
    public static let threadsRange = 1...64
    public static let criticalNanosRange: ClosedRange<UInt64> = 0...1_000_000
    public static let thinkNanosRange: ClosedRange<UInt64> = 0...10_000_000
    public static let durationNanosRange: ClosedRange<UInt64> = 10_000_000...60_000_000_000

    public var strategy: LabStrategy
    public var threads: Int
    public var criticalNanos: UInt64
    public var thinkNanos: UInt64
    public var durationNanos: UInt64

    public init(strategy: LabStrategy, threads: Int, criticalNanos: UInt64 = 100, thinkNanos: UInt64 = 100,
                durationNanos: UInt64 = 1_000_000_000) {
        self.strategy = strategy
        self.threads = threads
        self.criticalNanos = criticalNanos
        self.thinkNanos = thinkNanos
        self.durationNanos = durationNanos
    }

    /// The configuration if every field is in range, else the first field that is not.
    public func validated() throws(LabConfigurationError) -> LabConfiguration {
        guard Self.threadsRange.contains(threads) else { throw .threads(threads) }
        guard Self.criticalNanosRange.contains(criticalNanos) else { throw .criticalNanos(criticalNanos) }
        guard Self.thinkNanosRange.contains(thinkNanos) else { throw .thinkNanos(thinkNanos) }
        guard Self.durationNanosRange.contains(durationNanos) else { throw .durationNanos(durationNanos) }
        return self
    }
}

/// A field out of range, named by its command-line flag, with the range it must be in.
public struct LabConfigurationError: Error, Equatable, CustomStringConvertible {
    public let flag: String
    public let accepted: String
    public let got: String

    static func threads(_ value: Int) -> Self {
        Self(flag: "--threads", accepted: range(LabConfiguration.threadsRange), got: "\(value)")
    }
    static func criticalNanos(_ value: UInt64) -> Self {
        Self(flag: "--critical-ns", accepted: range(LabConfiguration.criticalNanosRange), got: "\(value)")
    }
    static func thinkNanos(_ value: UInt64) -> Self {
        Self(flag: "--think-ns", accepted: range(LabConfiguration.thinkNanosRange), got: "\(value)")
    }
    static func durationNanos(_ value: UInt64) -> Self {
        let range = LabConfiguration.durationNanosRange
        return Self(flag: "--duration", accepted: "\(milliseconds(range.lowerBound))…\(milliseconds(range.upperBound))",
                    got: milliseconds(value))
    }

    public var description: String { "\(flag) must be in \(accepted), got \(got)" }

    private static func range<Bound>(_ range: ClosedRange<Bound>) -> String { "\(range.lowerBound)…\(range.upperBound)" }
    private static func milliseconds(_ nanoseconds: UInt64) -> String {
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(Double(nanoseconds) / 1e6)ms"
    }
}
