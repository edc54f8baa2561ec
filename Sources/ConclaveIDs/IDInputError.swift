/// Why an ID layout, generator, allocator or decode refused its input.
///
/// Every type in this target validates what it is given and throws this instead of trapping on a
/// shift past 63 bits or an overflow: a bad flag, a bad config file or a bad range from consensus
/// must reach the operator as a sentence naming the parameter, the value given and what is accepted.
/// A throwing call never changes the state of the value it was called on.
public struct IDInputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter's name as the API spells it, e.g. `workerID` or `layout`.
    public let parameter: String
    /// The rejected value, rendered for a human.
    public let value: String
    /// What the parameter accepts, e.g. "an integer from 0 to 31".
    public let accepted: String

    public init(parameter: String, value: String, accepted: String) {
        self.parameter = parameter
        self.value = value
        self.accepted = accepted
    }

    public var description: String {
        "invalid \(parameter) \(value): expected \(accepted)"
    }

    /// Throws unless `value` is in `range`, naming `parameter` and the range in the error.
    static func require(_ value: UInt64, in range: ClosedRange<UInt64>, _ parameter: String, unit: String = "")
        throws(IDInputError)
    {
        guard range.contains(value) else {
            let suffix = unit.isEmpty ? "" : " " + unit
            throw IDInputError(
                parameter: parameter, value: "\(value)\(suffix)",
                accepted: "a value from \(range.lowerBound) to \(range.upperBound)\(suffix)"
            )
        }
    }
}
